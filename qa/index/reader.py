"""The read side: load the current generation into memory. Nothing here writes to the index folder."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..errors import IndexMismatchError, IndexMissingError
from ..types import Chunk
from . import vectors as vectors_io
from ..types import Chunking
from .layout import Manifest, check_compatible, read_manifest


LOAD_RETRY_S = 10.0  # how long a reader keeps up with a writer that commits generation after generation


class LoadedIndex:
    """One generation of the index in a folder, read fully into memory; immutable once built. What the answering
    stages read of a generation (a MilvusGeneration offers the same): manifest, records, texts, idf, search."""

    def __init__(self, directory: Path, manifest: Manifest, chunks: list[Chunk], vectors, texts: dict[str, str]):
        self.directory = directory
        self.manifest = manifest
        self.chunks = chunks
        self.vectors = vectors  # a faiss index whose ids are positions in `chunks`
        self.texts = texts
        self.records = {a.id: a for a in manifest.articles}
        self.bm25 = None  # built by search.bm25_ranking on first search
        self._idf: dict[str, float] | None = None

    @property
    def idf(self) -> dict[str, float]:
        """The word weights of this generation's chunks, computed once on first use."""
        if self._idf is None:
            from .search import idf_table

            self._idf = idf_table([c.text for c in self.chunks])
        return self._idf

    def search(self, embedder, query: str, k: int, candidates: int, as_of: str | None = None):
        from .search import search

        return search(self, embedder, query, k, candidates, as_of)

    def all_vectors(self) -> np.ndarray:
        n = self.vectors.ntotal
        if n == 0:
            return np.zeros((0, self.manifest.dimension), dtype=np.float32)
        return self.vectors.reconstruct_n(0, n)

    def export(self):
        """Every article, chunk and vector of this generation, for a writer building the next."""
        from ..types import Article

        all_vectors = self.all_vectors()
        chunks: dict[str, list[Chunk]] = {a.id: [] for a in self.manifest.articles}
        rows: dict[str, list[int]] = {a.id: [] for a in self.manifest.articles}
        for row, chunk in enumerate(self.chunks):
            chunks[chunk.article_id].append(chunk)
            rows[chunk.article_id].append(row)
        articles = {r.id: Article(id=r.id, title=r.title, text=self.texts[r.id], hash=r.hash, date=r.date,
                                  source=r.source, url=r.url, origin=r.origin, author=r.author, tags=r.tags)
                    for r in self.manifest.articles}
        return articles, chunks, {aid: all_vectors[idx] for aid, idx in rows.items()}


def load(directory: Path, embedder_id: str, chunking: Chunking, dimension: int | None = None) -> LoadedIndex:
    deadline = time.monotonic() + LOAD_RETRY_S
    while True:  # a writer may clean up old files between our manifest read and file reads: read the newer one
        manifest = read_manifest(directory)
        if manifest is None:
            raise IndexMissingError(f"no index at {directory}; run `qa index add PATH --index {directory}`")
        check_compatible(manifest, embedder_id, chunking, directory)
        if dimension is not None and manifest.dimension != dimension:
            raise IndexMismatchError(f"index at {directory} holds {manifest.dimension}-d vectors, the embedder "
                                     f"makes {dimension}-d; run `qa index rebuild --index {directory}`")
        try:
            return load_files(directory, manifest)
        except FileNotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def load_files(directory: Path, manifest: Manifest) -> LoadedIndex:
    texts = {a.id: (directory / a.text_file).read_text(encoding="utf-8") for a in manifest.articles}
    table = json.loads((directory / manifest.chunks).read_text(encoding="utf-8"))
    chunks = [Chunk(aid, s, e, texts[aid][s:e]) for aid, s, e in table]
    vectors = vectors_io.open_vectors(directory, manifest.vectors)
    if vectors.ntotal != len(chunks):
        raise IndexMismatchError(f"index at {directory} is inconsistent ({vectors.ntotal} vectors, "
                                 f"{len(chunks)} chunks); run `qa index rebuild --index {directory}`")
    return LoadedIndex(directory, manifest, chunks, vectors, texts)
