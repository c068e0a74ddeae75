"""Where chunk vectors live, behind one small interface (search, ntotal, reconstruct_n):
FAISS files in the index folder (the default), or a Milvus collection for corpora that outgrow one
machine (milvus-lite in-process, or a Milvus server by URI). Either way one collection or file per
index generation, so the manifest's atomic swap still decides what is current."""
from __future__ import annotations

import contextlib
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

FAISS = "faiss"
MILVUS_PREFIX = "milvus:"
# Below this many chunks exact search is fast enough; above it HNSW keeps search in milliseconds.
# bench/bench.py measures both at 10^5 chunks: a small efSearch loses recall, this one keeps it within a point.
HNSW_MIN_CHUNKS = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 1024
_INSERT_BATCH = 5_000
_QUERY_BATCH = 10_000


def build_faiss(vectors: np.ndarray, dimension: int):
    import faiss

    if len(vectors) >= HNSW_MIN_CHUNKS:
        return build_faiss_hnsw(vectors)
    index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def build_faiss_hnsw(vectors: np.ndarray):
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def milvus_uri(setting: str, directory: Path) -> str:
    """'milvus-lite' keeps a Milvus Lite database inside the index folder; anything else is a server URI."""
    return str(directory / "milvus.db") if setting == "milvus-lite" else setting


@lru_cache(maxsize=8)
def _client(uri: str):
    from pymilvus import MilvusClient

    return MilvusClient(uri)


class MilvusVectors:
    def __init__(self, uri: str, collection: str):
        self.client, self.collection = _client(uri), collection
        self.ntotal = int(self.client.get_collection_stats(collection)["row_count"])

    @classmethod
    def create(cls, uri: str, collection: str, vectors: np.ndarray) -> "MilvusVectors":
        client = _client(uri)
        if client.has_collection(collection):  # left over by a writer that crashed before its commit
            client.drop_collection(collection)
        client.create_collection(collection, dimension=int(vectors.shape[1]), metric_type="IP",
                                 consistency_level="Strong", auto_id=False)
        for start in range(0, len(vectors), _INSERT_BATCH):
            block = vectors[start:start + _INSERT_BATCH]
            client.insert(collection, [{"id": start + i, "vector": v.tolist()} for i, v in enumerate(block)])
        client.flush(collection)
        return cls(uri, collection)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        hits = self.client.search(self.collection, data=np.asarray(queries, dtype=np.float32).tolist(), limit=k,
                                  search_params={"metric_type": "IP"}, output_fields=[])
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        for row, found in enumerate(hits):
            for col, hit in enumerate(found[:k]):
                ids[row, col], scores[row, col] = hit["id"], hit["distance"]
        return scores, ids

    def reconstruct_n(self, start: int, n: int) -> np.ndarray:
        rows = []
        for low in range(start, start + n, _QUERY_BATCH):
            high = min(low + _QUERY_BATCH, start + n)
            rows += self.client.query(self.collection, filter=f"id >= {low} and id < {high}",
                                      output_fields=["id", "vector"], limit=high - low)
        rows.sort(key=lambda r: r["id"])
        return np.asarray([r["vector"] for r in rows], dtype=np.float32).reshape(n, -1)


def save(directory: Path, generation: int, vectors: np.ndarray, dimension: int, store: str, atomic_write) -> str:
    """Write one generation's vectors; returns the reference the manifest keeps."""
    if store == FAISS:
        import faiss

        name = f"vectors-{generation}.faiss"
        atomic_write(directory / name, lambda tmp: faiss.write_index(build_faiss(vectors, dimension), tmp))
        return name
    collection = f"{_prefix(directory)}_{generation}"
    MilvusVectors.create(milvus_uri(store, directory), collection, vectors)
    return f"{MILVUS_PREFIX}{collection}"


def open_vectors(directory: Path, ref: str, store: str):
    if ref.startswith(MILVUS_PREFIX):
        collection = ref[len(MILVUS_PREFIX):]
        uri = milvus_uri(store, directory)
        if not _client(uri).has_collection(collection):
            raise FileNotFoundError(f"{uri}#{collection}")
        return MilvusVectors(uri, collection)
    import faiss

    path = directory / ref
    if not path.exists():
        raise FileNotFoundError(path)
    index = faiss.read_index(str(path))
    if hasattr(index, "hnsw"):  # a search-time setting: apply the current one, not the one saved
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def drop_unreferenced(directory: Path, keep: str, store: str) -> None:
    """Milvus collections of older generations of this index (FAISS files are cleaned with the rest)."""
    if store == FAISS:
        return
    client = _client(milvus_uri(store, directory))
    current = keep[len(MILVUS_PREFIX):]
    for name in client.list_collections():
        if name.startswith(_prefix(directory) + "_") and name != current:
            with contextlib.suppress(Exception):
                client.drop_collection(name)


def _prefix(directory: Path) -> str:
    """Collections are named after the index folder, so several indexes can share one Milvus server."""
    import hashlib

    slug = re.sub(r"[^A-Za-z0-9]", "_", directory.resolve().name)[:20]
    return f"qa_{slug}_{hashlib.sha1(str(directory.resolve()).encode()).hexdigest()[:8]}"
