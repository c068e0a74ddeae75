"""The whole index in Milvus, for more than one machine: a generation is two collections, the chunks (offsets into
their article, title, date, the chunk text, its BM25 terms analysed by the server into a sparse vector, and the
dense vector) and the documents (each article's text in parts, the manifest, the word statistics). One alias names
the live generation's chunks collection, so switching it makes a whole new generation live at once; every process
that reaches the server, whatever its local folder holds, reads the same index. Retrieval is one server-side
hybrid search (dense + BM25, fused by reciprocal rank)."""
from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
from collections.abc import Iterator, Mapping
from functools import cached_property
from urllib.parse import urlsplit

import numpy as np

from ..errors import IndexConflictError, IndexMissingError, IndexStoreError
from ..lexical import content_stems
from ..types import Article, Chunk, Chunking, Passage
from .layout import FORMAT_VERSION, ArticleRecord, Manifest
from .search import RECENT, fuse, recency

log = logging.getLogger(__name__)
PART_CHARS = 15_000  # of an article's text per row: a VARCHAR holds 65,535 bytes, a character up to four
INSERT_BATCH = 2_000
QUERY_BATCH = 5_000
DEFAULT_NAME = "qa_index"
BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults, so both stores rank alike


def parse(setting: str) -> tuple[str, str]:
    """(server URI, index name) from `milvus://HOST:PORT[/NAME]` or `http(s)://HOST:PORT[/NAME]`."""
    parts = urlsplit(setting)
    scheme = "http" if parts.scheme in ("milvus", "tcp") else parts.scheme
    name = parts.path.strip("/") or DEFAULT_NAME
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,100}", name):
        raise IndexStoreError(f"Milvus index name must be letters, digits and _; got {name!r} in {setting!r}")
    return f"{scheme}://{parts.netloc}", name


class MilvusStore:
    """One named index on a Milvus server (or a Milvus Lite file): its generations and the alias that picks one."""

    def __init__(self, uri: str, name: str, token: str = ""):
        self.uri, self.name, self.token = uri, name, token

    @property
    def where(self) -> str:
        return f"Milvus at {self.uri}, index '{self.name}'"

    @cached_property
    def client(self):
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        logging.getLogger("pymilvus").setLevel(logging.ERROR)  # its notices are not the user's concern
        try:
            client = MilvusClient(self.uri, token=self.token, timeout=10)
            client.list_collections()
        except (MilvusException, OSError, ValueError) as exc:
            raise IndexStoreError(f"cannot reach Milvus at {self.uri}: {str(exc).splitlines()[0]}") from None
        return client

    def live(self) -> str | None:
        """The live generation's chunks collection; None before the first commit."""
        if self.name not in self.client.list_aliases().get("aliases", []):
            return None
        return self.client.describe_alias(self.name)["collection_name"]

    def current(self) -> Manifest | None:
        chunks = self.live()
        return None if chunks is None else _manifest(self.client, _docs(chunks))

    def generation(self, manifest: Manifest) -> "MilvusGeneration":
        return MilvusGeneration(self, manifest)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Writers do not lock: each builds its own generation and commits only if the live one is still the one
        it started from (commit), else IndexConflictError and the caller writes again on the newer one."""
        yield

    def commit(self, contents, embedder_id: str, dimension: int, chunking: Chunking,
               previous: Manifest | None, progress=None) -> Manifest:
        generation = (previous.generation + 1) if previous else 1
        chunks = f"{self.name}_g{generation}_{secrets.token_hex(4)}_chunks"
        manifest = _write(self.client, chunks, contents, embedder_id, dimension, chunking, generation, self.uri,
                          progress)
        if self.live() != (previous.chunks if previous else None):
            _drop(self.client, chunks)
            raise IndexConflictError(f"another writer changed the index ({self.where}) meanwhile; write again")
        if previous is None:
            self.client.create_alias(collection_name=chunks, alias=self.name)
        else:
            self.client.alter_alias(collection_name=chunks, alias=self.name)
        self._drop_older(generation)
        return manifest

    def _drop_older(self, generation: int) -> None:
        """Generations before the one just replaced: a question that started on that one may still be reading it."""
        pattern = re.compile(rf"^{re.escape(self.name)}_g(\d+)_[0-9a-f]+_chunks$")
        for name in self.client.list_collections():
            found = pattern.match(name)
            if found and int(found.group(1)) < generation - 1:
                _drop(self.client, name)


def _docs(chunks_collection: str) -> str:
    return chunks_collection.removesuffix("_chunks") + "_docs"


def _drop(client, chunks_collection: str) -> None:
    for name in (chunks_collection, _docs(chunks_collection)):
        with contextlib.suppress(Exception):
            client.drop_collection(name)


def _schemas(dimension: int):
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    chunks = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    chunks.add_field("id", DataType.INT64, is_primary=True)
    chunks.add_field("article_id", DataType.VARCHAR, max_length=512)
    chunks.add_field("start", DataType.INT64)
    chunks.add_field("end", DataType.INT64)
    chunks.add_field("title", DataType.VARCHAR, max_length=4096)
    chunks.add_field("date", DataType.VARCHAR, max_length=16)
    chunks.add_field("text", DataType.VARCHAR, max_length=65_535)
    # The chunk's words as the local BM25 reads them (content_stems), analysed by the server's standard analyzer
    # (the one Milvus Lite has too): stems pass through it as they are, but for a decimal point.
    chunks.add_field("terms", DataType.VARCHAR, max_length=65_535, enable_analyzer=True)
    chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    chunks.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
    chunks.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"],
                                 output_field_names=["sparse"]))
    docs = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    docs.add_field("key", DataType.VARCHAR, is_primary=True, max_length=600)
    docs.add_field("kind", DataType.VARCHAR, max_length=16)
    docs.add_field("article_id", DataType.VARCHAR, max_length=512)
    docs.add_field("part", DataType.INT64)
    docs.add_field("body", DataType.VARCHAR, max_length=65_535)
    docs.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    return chunks, docs


def _create(client, chunks_collection: str, dimension: int) -> None:
    chunk_schema, doc_schema = _schemas(dimension)
    chunk_index = client.prepare_index_params()
    chunk_index.add_index("dense", index_type="FLAT", metric_type="IP")
    chunk_index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                          params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
    doc_index = client.prepare_index_params()
    doc_index.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(chunks_collection, schema=chunk_schema, index_params=chunk_index,
                             consistency_level="Strong")
    client.create_collection(_docs(chunks_collection), schema=doc_schema, index_params=doc_index,
                             consistency_level="Strong")


def _write(client, chunks_collection: str, contents, embedder_id: str, dimension: int, chunking: Chunking,
           generation: int, uri: str, progress) -> Manifest:
    """Both collections of a new generation, complete, before anything points at them."""
    _create(client, chunks_collection, dimension)
    docs = _docs(chunks_collection)
    rows, records, df = [], [], {}
    for aid in sorted(contents.articles):
        article = contents.articles[aid]
        chunks = contents.chunks[aid]
        records.append(_record(article, len(chunks)))
        for chunk, vector in zip(chunks, contents.vectors[aid]):
            terms = content_stems(chunk.text)
            for stem in set(terms):
                df[stem] = df.get(stem, 0) + 1
            rows.append({"id": len(rows), "article_id": aid, "start": chunk.start, "end": chunk.end,
                         "title": article.title, "date": article.date or "", "text": chunk.text,
                         "terms": " ".join(terms) or "-", "dense": np.asarray(vector, dtype=np.float32).tolist()})
    for start in range(0, len(rows), INSERT_BATCH):
        client.insert(chunks_collection, rows[start:start + INSERT_BATCH])
        if progress:
            progress("writing to Milvus", min(start + INSERT_BATCH, len(rows)), len(rows))
    manifest = Manifest(format_version=FORMAT_VERSION, embedder=embedder_id, dimension=dimension,
                        generation=generation, vectors=chunks_collection, chunks=chunks_collection,
                        articles=tuple(records), chunking=chunking, removed=tuple(sorted(contents.removed)),
                        vector_store=uri)
    documents = [*_parts("manifest", "", manifest.to_json()), *_parts("df", "", json.dumps(df))]
    for aid in sorted(contents.articles):
        documents += _parts("article", aid, contents.articles[aid].text)
    for start in range(0, len(documents), INSERT_BATCH):
        client.insert(docs, documents[start:start + INSERT_BATCH])
    client.flush(chunks_collection)
    client.flush(docs)
    client.load_collection(chunks_collection)
    client.load_collection(docs)
    return manifest


def _record(article: Article, chunks: int) -> ArticleRecord:
    from ..ingest.text import text_hash

    return ArticleRecord(id=article.id, title=article.title, hash=article.hash, chunks=chunks, text_file="",
                         date=article.date, source=article.source, url=article.url, origin=article.origin,
                         author=article.author, tags=article.tags, text_hash=text_hash(article.text))


def _parts(kind: str, article_id: str, text: str) -> list[dict]:
    pieces = [text[i:i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]
    return [{"key": f"{kind}:{article_id}:{n}", "kind": kind, "article_id": article_id, "part": n, "body": piece,
             "v": [0.0, 0.0]} for n, piece in enumerate(pieces)]


def _joined(client, docs: str, kind: str, article_id: str = "") -> str | None:
    rows = client.query(docs, filter=f'kind == "{kind}" and article_id == {json.dumps(article_id)}',
                        output_fields=["part", "body"], limit=16_384)
    return "".join(r["body"] for r in sorted(rows, key=lambda r: r["part"])) if rows else None


def _manifest(client, docs: str) -> Manifest:
    text = _joined(client, docs, "manifest")
    if text is None:
        raise IndexMissingError(f"the Milvus collection {docs} holds no manifest; run `qa index rebuild`")
    return Manifest.from_json(text)


class _Texts(Mapping):
    """Article texts read from the server on first use, and kept for this generation."""

    def __init__(self, generation: "MilvusGeneration"):
        self.generation, self.cache = generation, {}

    def __getitem__(self, article_id: str) -> str:
        if article_id not in self.cache:
            text = _joined(self.generation.client, self.generation.docs, "article", article_id)
            if text is None:
                raise KeyError(article_id)
            self.cache[article_id] = text
        return self.cache[article_id]

    def __iter__(self):
        return iter(self.generation.records)

    def __len__(self) -> int:
        return len(self.generation.records)


class MilvusGeneration:
    """One generation of an index in Milvus, read on demand: what the answering stages read of a LoadedIndex."""

    def __init__(self, store: MilvusStore, manifest: Manifest):
        self.store, self.manifest = store, manifest
        self.client = store.client
        self.collection = manifest.chunks
        self.docs = _docs(manifest.chunks)
        self.records = {a.id: a for a in manifest.articles}
        self.texts = _Texts(self)

    @cached_property
    def idf(self) -> dict[str, float]:
        from .search import idf_from_counts

        df = json.loads(_joined(self.client, self.docs, "df") or "{}")
        return idf_from_counts(df, sum(a.chunks for a in self.manifest.articles))

    def search(self, embedder, query: str, k: int, candidates: int, as_of: str | None = None) -> list[Passage]:
        """One server-side hybrid search (dense + BM25, RRF); as of a day, later articles are filtered out on the
        server, and a question about "this week" has the nearest dates fused in as a third ranking here."""
        from pymilvus import AnnSearchRequest, RRFRanker

        from .search import RRF_K

        vector = embedder.encode([query])[0]
        terms = " ".join(content_stems(query))
        where = f'date == "" or date <= "{as_of}"' if as_of else ""
        requests = [AnnSearchRequest(data=[vector.tolist()], anns_field="dense", param={"metric_type": "IP"},
                                     limit=candidates, expr=where)]
        if terms:
            requests.append(AnnSearchRequest(data=[terms], anns_field="sparse", param={"metric_type": "BM25"},
                                             limit=candidates, expr=where))
        hits = self.client.hybrid_search(self.collection, requests, ranker=RRFRanker(RRF_K), limit=candidates,
                                         output_fields=["article_id", "start", "end", "title", "date", "text"])[0]
        found = {hit["id"]: hit["entity"] for hit in hits}
        ranked = [(hit["id"], float(hit["distance"])) for hit in hits]
        if as_of and RECENT.search(query):
            dates = {row: entity["date"] or None for row, entity in found.items()}
            ranked = fuse([list(found), recency(dates, as_of)])
        return [_passage(found[row], score) for row, score in ranked[:k]]

    def export(self) -> tuple[dict[str, Article], dict[str, list[Chunk]], dict[str, np.ndarray]]:
        """Every article, chunk and vector of this generation, for a writer building the next."""
        chunks: dict[str, list[Chunk]] = {a.id: [] for a in self.manifest.articles}
        vectors: dict[str, list] = {a.id: [] for a in self.manifest.articles}
        iterator = self.client.query_iterator(self.collection, batch_size=QUERY_BATCH, filter="id >= 0",
                                              output_fields=["id", "article_id", "start", "end", "text", "dense"])
        rows = []
        while batch := iterator.next():
            rows += batch
        iterator.close()
        for row in sorted(rows, key=lambda r: r["id"]):
            chunks[row["article_id"]].append(Chunk(row["article_id"], row["start"], row["end"], row["text"]))
            vectors[row["article_id"]].append(row["dense"])
        articles = {r.id: Article(id=r.id, title=r.title, text=self.texts[r.id], hash=r.hash, date=r.date,
                                  source=r.source, url=r.url, origin=r.origin, author=r.author, tags=r.tags)
                    for r in self.manifest.articles}
        dimension = self.manifest.dimension
        return articles, chunks, {aid: np.asarray(v, dtype=np.float32).reshape(-1, dimension)
                                  for aid, v in vectors.items()}


def _passage(entity: dict, score: float) -> Passage:
    return Passage(article_id=entity["article_id"], title=entity["title"], text=entity["text"],
                   start=int(entity["start"]), end=int(entity["end"]), score=score, date=entity["date"] or None)
