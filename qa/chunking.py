"""Sentence-aware chunking. Pure functions; every span indexes the article's stored text."""
from __future__ import annotations

import re
from functools import lru_cache

from .types import Article, Chunk

Span = tuple[int, int]
_PARAGRAPH = re.compile(r"[^\n]+")
_LONG_FACTOR = 4  # a "sentence" this many times the chunk size is run-on text: cut it at spaces


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of text[start:end] as absolute spans, trimmed of surrounding white space."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    for para in _PARAGRAPH.finditer(text, start, end):
        spans.extend(_paragraph_sentences(text, para.start(), para.end()))
    return spans


def _paragraph_sentences(text: str, start: int, end: int) -> list[Span]:
    spans: list[Span] = []
    cursor = start
    for piece in _segmenter().segment(text[start:end]):
        piece = piece.strip()
        if not piece:
            continue
        found = text.find(piece, cursor, end)
        if found < 0:  # the splitter altered the text; keep the rest whole rather than guess
            break
        spans.append((found, found + len(piece)))
        cursor = found + len(piece)
    rest = text[cursor:end].strip()
    if rest:
        first = text.index(rest, cursor, end)
        spans.append((first, first + len(rest)))
    return spans


def _cut_long(text: str, span: Span, limit: int) -> list[Span]:
    start, end = span
    if end - start <= limit * _LONG_FACTOR:
        return [span]
    pieces = []
    while end - start > limit:
        cut = text.rfind(" ", start, start + limit)
        cut = cut if cut > start else start + limit
        pieces.append((start, cut))
        start = cut + 1 if text[cut:cut + 1] == " " else cut
    pieces.append((start, end))
    return pieces


def chunk_article(article: Article, size: int, overlap: int) -> list[Chunk]:
    """Greedy packing of whole sentences up to `size` characters, carrying up to `overlap` characters
    of trailing sentences into the next chunk so that a fact split across a boundary is still found."""
    sentences = [p for s in sentence_spans(article.text) for p in _cut_long(article.text, s, size)]
    groups: list[list[Span]] = []
    current: list[Span] = []
    for sent in sentences:
        if current and sent[1] - current[0][0] > size:
            groups.append(current)
            current = _overlap_tail(current, overlap, size) + [sent]
        else:
            current.append(sent)
    if current:
        groups.append(current)
    return [Chunk(article.id, g[0][0], g[-1][1], article.text[g[0][0]:g[-1][1]]) for g in groups]


def _overlap_tail(group: list[Span], overlap: int, size: int) -> list[Span]:
    """Trailing sentences worth at least `overlap` characters (news sentences are long, so usually one),
    but never more than half a chunk and never the whole group, so every chunk moves forward."""
    tail: list[Span] = []
    if overlap <= 0:
        return tail
    for sent in reversed(group[1:]):
        carried = group[-1][1] - sent[0]
        if carried > size // 2:
            break
        tail.insert(0, sent)
        if carried >= overlap:
            break
    return tail
