"""The write side: add, update, remove and rebuild under an exclusive lock, committed atomically.

Every write makes new generation-numbered files, then swaps manifest.json in with one atomic
rename; files of older generations are removed only after that. A crash at any point leaves
the previous manifest and everything it names in place.

Identity: an article is known by where it came from (its origin: URL or file path). The same origin
again updates its article (a correction); the same words from another origin are a duplicate and
are not indexed twice; a new origin whose proposed id is taken gets the next free id, so an article
is never replaced by another that happens to share a name."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..chunking import chunk_article
from ..embedding import Embedder
from ..errors import IndexLockedError, QAError
from ..ingest.text import text_hash
from ..progress import Progress, quiet
from ..types import Article, Chunk
from . import vectors as vectors_io
from .layout import LOCK, MANIFEST, FORMAT_VERSION, ArticleRecord, Chunking, Manifest, check_compatible

LOCK_TIMEOUT_S = 30.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Duplicate:
    origin: str
    of: str  # the id of the article that already holds the same text


@dataclass(frozen=True)
class Change:
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        text = (f"added {len(self.added)}, updated {len(self.updated)}, unchanged {len(self.unchanged)}, "
                f"removed {len(self.removed)}")
        return text + "".join(f"; {d.origin} is the same text as '{d.of}', not indexed twice"
                              for d in self.duplicates)


@contextlib.contextmanager
def write_lock(directory: Path, timeout: float = LOCK_TIMEOUT_S):
    from filelock import FileLock, Timeout

    directory.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(directory / LOCK), timeout=timeout):
            yield
    except Timeout:
        raise IndexLockedError(f"another process is changing the index at {directory}; "
                               "try again when it has finished") from None


class Contents:
    """The mutable working copy a writer edits before committing it as a new generation."""

    def __init__(self, articles: dict[str, Article], chunks: dict[str, list[Chunk]], vectors: dict[str, np.ndarray],
                 removed: set[str]):
        self.articles, self.chunks, self.vectors, self.removed = {}, chunks, vectors, removed
        self._by_source: dict[str, str] = {}
        self._by_text: dict[str, str] = {}
        for article in articles.values():
            self.put(article)

    @classmethod
    def from_index(cls, loaded) -> "Contents":
        """The working copy of a generation (a LoadedIndex or a MilvusGeneration), or an empty one."""
        if loaded is None:
            return cls({}, {}, {}, set())
        articles, chunks, vectors = loaded.export()
        return cls(articles, chunks, vectors, set(loaded.manifest.removed))

    def put(self, article: Article) -> None:
        """Set an article's text and metadata; its chunks and vectors are set when it is embedded."""
        self._forget(article.id)
        self.articles[article.id] = article
        self._by_source[source_key(article)] = article.id
        self._by_text.setdefault(text_hash(article.text), article.id)

    def pop(self, article_id: str) -> Article | None:
        old = self._forget(article_id)
        self.chunks.pop(article_id, None)
        self.vectors.pop(article_id, None)
        return old

    def _forget(self, article_id: str) -> Article | None:
        old = self.articles.pop(article_id, None)
        if old is not None:
            self._by_source.pop(source_key(old), None)
            if self._by_text.get(text_hash(old.text)) == article_id:
                del self._by_text[text_hash(old.text)]
        return old

    def id_of_source(self, article: Article) -> str | None:
        return self._by_source.get(source_key(article))

    def id_of_text(self, text: str) -> str | None:
        return self._by_text.get(text_hash(text))

    def free_id(self, proposed: str) -> str:
        n, candidate = 1, proposed
        while candidate in self.articles:
            n += 1
            candidate = f"{proposed}-{n}"
        return candidate


def source_key(article: Article) -> str:
    """An article's identity: its origin; text given without one (pasted, SQuAD) is known by its id."""
    return article.origin or f"id:{article.id}"


class IndexWriter:
    """Add, remove or rebuild under the store's lock; `commit` makes the result current atomically."""

    def __init__(self, store, embedder: Embedder, chunking: Chunking, progress: Progress = quiet,
                 fresh: bool = False):
        self.store = store  # index.store.FolderStore or Milvus
        self.embedder = embedder
        self.chunking = chunking
        self.progress = progress
        self.fresh = fresh  # rebuild: read only the stored texts, whatever built the old vectors or chunks

    def __enter__(self) -> "IndexWriter":
        self._lock = self.store.lock()
        self._lock.__enter__()
        try:
            manifest = self.store.current()
            self.previous = manifest
            if manifest is not None and not self.fresh:
                check_compatible(manifest, self.embedder.id, self.chunking, self.store.where)
            loaded = self.store.open_any(manifest) if manifest is not None else None
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        self.contents = Contents.from_index(loaded)
        if self.fresh:
            self.contents.vectors.clear()
            self.contents.chunks.clear()
        self.change = Change()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.__exit__(*exc)

    def add(self, articles: list[Article], explicit: bool = True) -> Change:
        added, updated, unchanged, duplicates, todo = [], [], [], [], []
        for article in articles:
            kind, placed = self._place(article)
            if kind == "duplicate":
                duplicates.append(Duplicate(source_key(article), placed.id))
                continue
            {"added": added, "updated": updated, "unchanged": unchanged}[kind].append(placed.id)
            if kind != "unchanged":
                self.contents.put(placed)  # reserves the id and the text for the rest of this batch
                todo.append(placed)
            if explicit:
                self.contents.removed.discard(source_key(placed))
        self._embed(todo)
        self.change = replace(self.change, added=self.change.added + tuple(added),
                              updated=self.change.updated + tuple(updated),
                              unchanged=self.change.unchanged + tuple(unchanged),
                              duplicates=self.change.duplicates + tuple(duplicates))
        return self.change

    def _place(self, article: Article) -> tuple[str, Article]:
        """What adding this article means, and the article under the id it will have. For a duplicate,
        the article returned carries the id of the one that already holds its text."""
        same_source = self.contents.id_of_source(article)
        if same_source is not None:
            old = self.contents.articles[same_source]
            return ("unchanged" if old.hash == article.hash else "updated"), replace(article, id=same_source)
        same_text = self.contents.id_of_text(article.text)
        if same_text is not None:
            if _moved(self.contents.articles[same_text].origin):
                return "updated", replace(article, id=same_text)
            return "duplicate", replace(article, id=same_text)
        return "added", replace(article, id=self.contents.free_id(article.id))

    def remove(self, article_id: str, remember: bool = True) -> None:
        """`remember`: a bundled article removed by hand is not brought back by the next sync."""
        article = self.contents.pop(article_id)
        if article is None:
            raise QAError(f"no article '{article_id}' in the index ({self.store.where}; see `qa index list`)")
        if remember:
            self.contents.removed.add(source_key(article))
        self.change = replace(self.change, removed=self.change.removed + (article_id,))

    def rebuild(self) -> None:
        self._embed(list(self.contents.articles.values()))
        self.change = replace(self.change, updated=tuple(self.contents.articles))

    def _embed(self, articles: list[Article]) -> None:
        chunked = [(a, chunk_article(a, self.chunking.chars, self.chunking.overlap_chars)) for a in articles]
        texts = [c.text for _, chunks in chunked for c in chunks]
        vectors = _encode_with_progress(self.embedder, texts, self.progress)
        row = 0
        for article, chunks in chunked:
            self.contents.chunks[article.id] = chunks
            self.contents.vectors[article.id] = vectors[row:row + len(chunks)]
            row += len(chunks)

    def commit(self) -> Manifest | None:
        if not self.change.changed and self.previous is not None and not self.fresh:
            return self.previous
        manifest = self.store.commit(self.contents, self.embedder.id, self.embedder.dimension, self.chunking,
                                     self.previous, self.progress)
        log.info("index %s: generation %d, %s", self.store.where, manifest.generation, self.change.summary())
        return manifest


def _moved(origin: str) -> bool:
    """A file that is gone from where it was read: the same words found elsewhere are that file, moved."""
    return origin.startswith("/") and not Path(origin).exists()


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


def write_generation(directory: Path, contents: Contents, embedder_id: str, dimension: int, chunking: Chunking,
                     previous: Manifest | None) -> Manifest:
    """A folder's next generation: new files beside the old, then the manifest swapped in with one rename."""
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
                                     text_file=text_file, date=article.date, source=article.source, url=article.url,
                                     origin=article.origin, author=article.author, tags=article.tags,
                                     text_hash=text_hash(article.text)))
        table.extend([aid, c.start, c.end] for c in chunks)
        blocks.append(contents.vectors[aid])
    vectors = np.concatenate(blocks) if blocks else np.zeros((0, dimension), dtype=np.float32)
    ref = vectors_io.save(directory, generation, vectors, dimension, _atomic_write)
    manifest = Manifest(format_version=FORMAT_VERSION, embedder=embedder_id, dimension=dimension,
                        generation=generation, vectors=ref, chunks=f"chunks-{generation}.json",
                        articles=tuple(records), chunking=chunking, removed=tuple(sorted(contents.removed)))
    _write_text(directory / manifest.chunks, json.dumps(table))
    _fsync_dir(texts_dir)
    _write_text(directory / MANIFEST, manifest.to_json())
    _fsync_dir(directory)
    _remove_unreferenced(directory, manifest)
    return manifest


def _remove_unreferenced(directory: Path, manifest: Manifest) -> None:
    keep = {manifest.vectors, manifest.chunks, *(a.text_file for a in manifest.articles)}
    candidates = [*directory.glob("vectors-*.faiss"), *directory.glob("chunks-*.json"),
                  *(directory / "texts").glob("*.txt"), *directory.glob(".*.tmp"), *(directory / "texts").glob(".*.tmp")]
    for path in candidates:
        if str(path.relative_to(directory)) not in keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
