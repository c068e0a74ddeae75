"""Searching one loaded generation: dense (FAISS inner product on unit vectors) and BM25, fused by reciprocal
rank; and the word weights (idf) of its chunks."""
from __future__ import annotations

import math

import numpy as np

from ..embedding import Embedder
from ..lexical import content_stems
from ..types import Passage
from .reader import LoadedIndex

RRF_K = 60  # the constant from Cormack et al.; dampens the head of each ranking
AS_OF_DEPTH = 4  # searching as of a day, each ranking reaches this many times deeper: later articles drop out


def build_bm25(texts: list[str]):
    import bm25s

    retriever = bm25s.BM25()
    if texts:
        retriever.index([content_stems(t) or ["<empty>"] for t in texts], show_progress=False)
    return retriever


def bm25_ranking(index: LoadedIndex, query: str, n: int) -> list[int]:
    if index.bm25 is None:  # built once per loaded generation, on its first search
        index.bm25 = build_bm25([c.text for c in index.chunks])
    retriever = index.bm25
    vocab = getattr(retriever, "vocab_dict", None) or {}
    terms = [t for t in content_stems(query) if t in vocab]
    if not terms or not index.chunks:
        return []
    ids, scores = retriever.retrieve([terms], k=min(n, len(index.chunks)), show_progress=False)
    return [int(i) for i, s in zip(ids[0], scores[0]) if s > 0]


def dense_ranking(index: LoadedIndex, query_vector: np.ndarray, n: int) -> list[int]:
    if index.vectors.ntotal == 0:
        return []
    _, ids = index.vectors.search(query_vector.reshape(1, -1), min(n, index.vectors.ntotal))
    return [int(i) for i in ids[0] if i >= 0]


def fuse(rankings: list[list[int]]) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def search(index: LoadedIndex, embedder: Embedder, query: str, k: int, candidates: int,
           as_of: str | None = None) -> list[Passage]:
    """The k best chunks for `query`. `as_of` (YYYY-MM-DD): as the news stood that day, so articles dated after
    it are not searched (undated ones are)."""
    vector = embedder.encode([query])[0]
    depth = candidates if as_of is None else candidates * AS_OF_DEPTH
    fused = fuse([dense_ranking(index, vector, depth), bm25_ranking(index, query, depth)])
    if as_of is not None:
        fused = [(row, score) for row, score in fused if not _later(index, row, as_of)][:candidates]
    return [to_passage(index, row, score) for row, score in fused[:k]]


def _later(index: LoadedIndex, row: int, as_of: str) -> bool:
    date = index.records[index.chunks[row].article_id].date
    return date is not None and date > as_of


def to_passage(index: LoadedIndex, row: int, score: float) -> Passage:
    chunk = index.chunks[row]
    record = index.records[chunk.article_id]
    return Passage(article_id=chunk.article_id, title=record.title, text=chunk.text, start=chunk.start,
                   end=chunk.end, score=float(score), date=record.date)


def idf_table(chunk_texts: list[str]) -> dict[str, float]:
    df: dict[str, int] = {}
    for text in chunk_texts:
        for s in set(content_stems(text)):
            df[s] = df.get(s, 0) + 1
    n = len(chunk_texts)
    return {s: math.log(1 + (n - d + 0.5) / (d + 0.5)) for s, d in df.items()}


def idf(index: LoadedIndex) -> dict[str, float]:
    """The generation's word weights, computed once on first use."""
    if index.idf is None:
        index.idf = idf_table([c.text for c in index.chunks])
    return index.idf
