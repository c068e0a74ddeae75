"""Answering, one module per stage in the order they run: query → evidence → gate → read → verify → cite, with
decide ruling on every abstention, held together by an Answerer (answerer.py)."""
from . import answerer, decide
from .answerer import Answerer, Models
from .decide import Thresholds
from .query import History, search_query

__all__ = ["Answerer", "History", "Models", "Thresholds", "answerer", "decide", "search_query"]
