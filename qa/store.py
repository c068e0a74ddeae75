"""The on-disk index: FAISS vectors, the chunk table, each article's stored text and a manifest.

Every write makes new generation-numbered files, then swaps manifest.json in with one atomic
rename; files of older generations are removed only after that. A crash at any point leaves
the previous manifest and everything it names in place."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import vectors as vectors_io
from .chunking import chunk_article
from .embedding import Embedder
from .progress import Progress, quiet
from .errors import IndexLockedError, IndexMismatchError, IndexMissingError, QAError
from .types import Article, Chunk

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LOCK = ".lock"
LOCK_TIMEOUT_S = 30.0



@dataclass(frozen=True)
class ArticleRecord:
    id: str
    title: str
    hash: str
    chunks: int
    text_file: str
    date: str | None = None
    source: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Manifest:
    format_version: int
    embedder: str
    dimension: int
    generation: int
    vectors: str
    chunks: str
    articles: tuple[ArticleRecord, ...]
    removed: tuple[str, ...] = ()  # bundled ids a user removed: never re-added automatically
    vector_store: str = vectors_io.FAISS  # or a Milvus URI ("milvus-lite": a database in this folder)

    def to_json(self) -> str:
        data = asdict(self)
        data["articles"] = [asdict(a) for a in self.articles]
        data["removed"] = list(self.removed)
        return json.dumps(data, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data = json.loads(text)
        data["articles"] = tuple(ArticleRecord(**a) for a in data["articles"])
        data["removed"] = tuple(data.get("removed", ()))
        return cls(**data)


def read_manifest(directory: Path) -> Manifest | None:
    path = directory / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return Manifest.from_json(text)
    except (ValueError, TypeError, KeyError) as exc:
        raise IndexMismatchError(f"{path} is unreadable ({exc}); run `qa index rebuild`") from exc


def check_compatible(manifest: Manifest, embedder_id: str, directory: Path) -> None:
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {directory} has format {manifest.format_version}, this version reads {FORMAT_VERSION}; "
            f"run `qa index rebuild --index {directory}`")
    if manifest.embedder != embedder_id:
        raise IndexMismatchError(
            f"index at {directory} was built with embedder '{manifest.embedder}', settings ask for "
            f"'{embedder_id}'; run `qa index rebuild --index {directory}`")


class LoadedIndex:
    """One generation of the index, read fully into memory; immutable once built."""

    def __init__(self, directory: Path, manifest: Manifest, chunks: list[Chunk], vectors, texts: dict[str, str]):
        self.directory = directory
        self.manifest = manifest
        self.chunks = chunks
        self.vectors = vectors  # a faiss index whose ids are positions in `chunks`
        self.texts = texts
        self.records = {a.id: a for a in manifest.articles}
        self._bm25 = None

    def all_vectors(self) -> np.ndarray:
        n = self.vectors.ntotal
        if n == 0:
            return np.zeros((0, self.manifest.dimension), dtype=np.float32)
        return self.vectors.reconstruct_n(0, n)

    def bm25(self):
        if self._bm25 is None:
            from .retrieval import build_bm25

            self._bm25 = build_bm25([c.text for c in self.chunks])
        return self._bm25


def load(directory: Path, embedder_id: str, dimension: int | None = None) -> LoadedIndex:
    for attempt in range(3):  # a writer may clean up old files between our manifest read and file reads
        manifest = read_manifest(directory)
        if manifest is None:
            raise IndexMissingError(f"no index at {directory}; run `qa index add PATH --index {directory}`")
        check_compatible(manifest, embedder_id, directory)
        if dimension is not None and manifest.dimension != dimension:
            raise IndexMismatchError(f"index at {directory} holds {manifest.dimension}-d vectors, the embedder "
                                     f"makes {dimension}-d; run `qa index rebuild --index {directory}`")
        try:
            return _load_files(directory, manifest)
        except FileNotFoundError:
            if attempt == 2:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def _load_files(directory: Path, manifest: Manifest) -> LoadedIndex:
    texts = {a.id: (directory / a.text_file).read_text(encoding="utf-8") for a in manifest.articles}
    table = json.loads((directory / manifest.chunks).read_text(encoding="utf-8"))
    chunks = [Chunk(aid, s, e, texts[aid][s:e]) for aid, s, e in table]
    vectors = vectors_io.open_vectors(directory, manifest.vectors, manifest.vector_store)
    if vectors.ntotal != len(chunks):
        raise IndexMismatchError(f"index at {directory} is inconsistent ({vectors.ntotal} vectors, "
                                 f"{len(chunks)} chunks); run `qa index rebuild --index {directory}`")
    return LoadedIndex(directory, manifest, chunks, vectors, texts)


@contextlib.contextmanager
def write_lock(directory: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexLockedError(f"another process is changing the index at {directory}; "
                                           "try again when it has finished") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_text(path: Path, text: str) -> None:
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Change:
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


class Contents:
    """The mutable working copy a writer edits before committing it as a new generation."""

    def __init__(self, articles: dict[str, Article], chunks: dict[str, list[Chunk]], vectors: dict[str, np.ndarray],
                 removed: set[str]):
        self.articles, self.chunks, self.vectors, self.removed = articles, chunks, vectors, removed

    @classmethod
    def from_index(cls, loaded: LoadedIndex | None) -> "Contents":
        if loaded is None:
            return cls({}, {}, {}, set())
        all_vectors = loaded.all_vectors()
        chunks: dict[str, list[Chunk]] = {a.id: [] for a in loaded.manifest.articles}
        rows: dict[str, list[int]] = {a.id: [] for a in loaded.manifest.articles}
        for row, chunk in enumerate(loaded.chunks):
            chunks[chunk.article_id].append(chunk)
            rows[chunk.article_id].append(row)
        articles = {r.id: Article(id=r.id, title=r.title, text=loaded.texts[r.id], hash=r.hash, date=r.date,
                                  source=r.source, url=r.url) for r in loaded.manifest.articles}
        vectors = {aid: all_vectors[idx] for aid, idx in rows.items()}
        return cls(articles, chunks, vectors, set(loaded.manifest.removed))


class IndexWriter:
    """Add, remove or rebuild under an exclusive lock; `commit` makes the result current atomically."""

    def __init__(self, directory: Path, embedder: Embedder, chunk_chars: int, overlap_chars: int,
                 progress: Progress = quiet, fresh: bool = False, vector_store: str = vectors_io.FAISS):
        self.directory = Path(directory)
        self.vector_store = vector_store
        self.embedder = embedder
        self.chunk_chars = chunk_chars
        self.overlap_chars = overlap_chars
        self.progress = progress
        self.fresh = fresh  # rebuild: read only the stored texts, whatever built the old vectors

    def __enter__(self) -> "IndexWriter":
        self._lock = write_lock(self.directory)
        self._lock.__enter__()
        manifest = read_manifest(self.directory)
        self.previous = manifest
        if manifest is not None and not self.fresh:
            check_compatible(manifest, self.embedder.id, self.directory)
        loaded = _load_files(self.directory, manifest) if manifest is not None else None
        self.contents = Contents.from_index(loaded)
        if self.fresh:
            self.contents.vectors.clear()
            self.contents.chunks.clear()
        self.change = Change()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.__exit__(*exc)

    def add(self, articles: list[Article], explicit: bool = True) -> Change:
        added, updated, unchanged = [], [], []
        todo = []
        for article in articles:
            old = self.contents.articles.get(article.id)
            if old is not None and old.hash == article.hash:
                unchanged.append(article.id)
                continue
            (updated if old is not None else added).append(article.id)
            todo.append(article)
            if explicit:
                self.contents.removed.discard(article.id)
        self._embed(todo)
        self.change = replace(self.change, added=self.change.added + tuple(added),
                              updated=self.change.updated + tuple(updated),
                              unchanged=self.change.unchanged + tuple(unchanged))
        return self.change

    def remove(self, article_id: str) -> None:
        if article_id not in self.contents.articles:
            raise QAError(f"no article '{article_id}' in the index at {self.directory} (see `qa index list`)")
        for table in (self.contents.articles, self.contents.chunks, self.contents.vectors):
            table.pop(article_id, None)
        self.contents.removed.add(article_id)
        self.change = replace(self.change, removed=self.change.removed + (article_id,))

    def rebuild(self) -> None:
        self._embed(list(self.contents.articles.values()))
        self.change = replace(self.change, updated=tuple(self.contents.articles))

    def _embed(self, articles: list[Article]) -> None:
        chunked = [(a, chunk_article(a, self.chunk_chars, self.overlap_chars)) for a in articles]
        texts = [c.text for _, chunks in chunked for c in chunks]
        vectors = _encode_with_progress(self.embedder, texts, self.progress)
        row = 0
        for article, chunks in chunked:
            self.contents.articles[article.id] = article
            self.contents.chunks[article.id] = chunks
            self.contents.vectors[article.id] = vectors[row:row + len(chunks)]
            row += len(chunks)

    def commit(self) -> Manifest | None:
        if not self.change.changed and self.previous is not None and not self.fresh:
            return self.previous
        return _write_generation(self.directory, self.contents, self.embedder, self.previous, self.vector_store)


def _encode_with_progress(embedder: Embedder, texts: list[str], progress: Progress) -> np.ndarray:
    batch = 256
    parts = []
    progress("embedding", 0, len(texts))
    for start in range(0, len(texts), batch):
        parts.append(embedder.encode(texts[start:start + batch]))
        progress("embedding", min(start + batch, len(texts)), len(texts))
    if not parts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.concatenate(parts)


def _write_generation(directory: Path, contents: Contents, embedder: Embedder, previous: Manifest | None,
                      vector_store: str) -> Manifest:
    generation = (previous.generation + 1) if previous else 1
    texts_dir = directory / "texts"
    texts_dir.mkdir(parents=True, exist_ok=True)
    records, table, blocks = [], [], []
    for aid in sorted(contents.articles):
        article = contents.articles[aid]
        text_file = f"texts/{aid}-{article.hash[:16]}.txt"
        if not (directory / text_file).exists():
            _write_text(directory / text_file, article.text)
        chunks = contents.chunks[aid]
        records.append(ArticleRecord(id=aid, title=article.title, hash=article.hash, chunks=len(chunks),
                                     text_file=text_file, date=article.date, source=article.source, url=article.url))
        table.extend([aid, c.start, c.end] for c in chunks)
        blocks.append(contents.vectors[aid])
    dimension = embedder.dimension
    vectors = np.concatenate(blocks) if blocks else np.zeros((0, dimension), dtype=np.float32)
    ref = vectors_io.save(directory, generation, vectors, dimension, vector_store, _atomic_write)
    manifest = Manifest(format_version=FORMAT_VERSION, embedder=embedder.id, dimension=dimension,
                        generation=generation, vectors=ref, chunks=f"chunks-{generation}.json",
                        articles=tuple(records), removed=tuple(sorted(contents.removed)), vector_store=vector_store)
    _write_text(directory / manifest.chunks, json.dumps(table))
    _fsync_dir(texts_dir)
    _write_text(directory / MANIFEST, manifest.to_json())
    _fsync_dir(directory)
    _remove_unreferenced(directory, manifest)
    vectors_io.drop_unreferenced(directory, manifest.vectors, vector_store)
    return manifest


def _remove_unreferenced(directory: Path, manifest: Manifest) -> None:
    keep = {manifest.vectors, manifest.chunks, *(a.text_file for a in manifest.articles)}
    candidates = [*directory.glob("vectors-*.faiss"), *directory.glob("chunks-*.json"),
                  *(directory / "texts").glob("*.txt"), *directory.glob(".*.tmp"), *(directory / "texts").glob(".*.tmp")]
    for path in candidates:
        if str(path.relative_to(directory)) not in keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
