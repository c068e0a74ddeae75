"""Offline question answering over news articles, with verified citations."""
from .pipeline import answer, search, stream_answer
from .types import Answer, Article, Chunk, Citation, Passage, Stage

__all__ = ["answer", "search", "stream_answer", "Answer", "Article", "Chunk", "Citation", "Passage", "Stage"]
