"""Answering: query → retrieve → read → decide → verify → cite, held together by an Answerer."""
from . import answerer, decide
from .answerer import Answerer
from .decide import Thresholds
from .query import History, search_query

__all__ = ["Answerer", "History", "Thresholds", "answerer", "decide", "search_query"]
