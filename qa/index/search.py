"""Searching one loaded generation: dense (FAISS inner product on unit vectors) and BM25, fused by reciprocal
rank; and the word weights (idf) of its chunks."""
from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np

from typing import TYPE_CHECKING

from ..embedding import Embedder
from ..lexical import content_stems
from ..types import Passage

if TYPE_CHECKING:  # the folder's generation calls these with itself
    from .reader import LoadedIndex

RRF_K = 60  # the constant from Cormack et al.; dampens the head of each ranking
AS_OF_DEPTH = 4  # searching as of a day, each ranking reaches this many times deeper: later articles drop out
# A question about the news of its day: its articles are the newest ones.
RECENT = re.compile(r"\b(this (week|month|year|weekend|morning)|today|tonight|yesterday|recent(ly)?|latest|newest|"
                    r"now|currently|so far|last (week|month)|just)\b", re.I)


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
    it are not searched (undated ones are), and a question about "this week" or "the latest" prefers the newest:
    a third ranking, by how near an article's date is to that day, is fused with the other two."""
    vector = embedder.encode([query])[0]
    depth = candidates if as_of is None else candidates * AS_OF_DEPTH
    rankings = [dense_ranking(index, vector, depth), bm25_ranking(index, query, depth)]
    if as_of is not None:
        rankings = [[row for row in ranking if not _later(index, row, as_of)][:candidates] for ranking in rankings]
        if RECENT.search(query):
            rows = {row for ranking in rankings for row in ranking}
            rankings.append(recency({row: _date(index, row) for row in rows}, as_of))
    return [to_passage(index, row, score) for row, score in fuse(rankings)[:k]]


def recency(dates: dict[int, str | None], as_of: str) -> list[int]:
    """The rows whose articles are dated nearest before `as_of` first; undated ones last."""
    def age(row: int) -> tuple[int, int]:
        date = dates[row]
        return (1, 0) if date is None else (0, (dt.date.fromisoformat(as_of) - dt.date.fromisoformat(date)).days)
    return sorted(dates, key=lambda row: (age(row), row))


def _date(index: LoadedIndex, row: int) -> str | None:
    return index.records[index.chunks[row].article_id].date


def _later(index: LoadedIndex, row: int, as_of: str) -> bool:
    date = _date(index, row)
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
    return idf_from_counts(df, len(chunk_texts))


def idf_from_counts(df: dict[str, int], n: int) -> dict[str, float]:
    """BM25's idf from each stem's count of chunks holding it, of `n` chunks."""
    return {s: math.log(1 + (n - d + 0.5) / (d + 0.5)) for s, d in df.items()}
