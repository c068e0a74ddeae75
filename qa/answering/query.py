"""Query: the question as asked, checked, and, for a follow-up, joined to the turns it leans on."""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from ..errors import QuestionError
from ..ingest import normalise
from ..lexical import content_stems
from ..types import Query

History = Sequence[tuple[str, str | None]]
_FOLLOW_UP = re.compile(r"^(and|but|also|so|then|what about|how about)\b|\b(it|its|they|them|their|he|she|his|"
                        r"her|this|that|these|those|the same|there)\b", re.I)
_CHAIN = 3  # turns a chain of follow-ups may reach back


def clean_question(question: str, limit: int) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    if len(question) > limit:
        raise QuestionError(f"the question is {len(question):,} characters long; the limit is {limit:,}")
    text = normalise(question).replace("\n", " ")
    if not text.strip():
        raise QuestionError("the question is empty")
    if not content_stems(text):  # "???" or "x y": nothing to search for, so nothing could be cited
        raise QuestionError(f"the question has no words to search for: {text[:60]!r}")
    return text


def clean_history(history: History, limit: int) -> list[tuple[str, str | None]]:
    turns = []
    for turn in history:
        if (isinstance(turn, (str, bytes)) or not isinstance(turn, Sequence) or len(turn) != 2
                or not isinstance(turn[0], str) or not isinstance(turn[1], (str, type(None)))):
            raise QuestionError("history must be a list of [question, answer] pairs of text (answer may be null)")
        if len(turn[0]) > limit:  # an earlier question is searched and judged too
            raise QuestionError(f"an earlier question is {len(turn[0]):,} characters long; the limit is {limit:,}")
        turns.append((normalise(turn[0]).replace("\n", " "), turn[1]))
    return turns


def _leans(question: str) -> bool:
    return bool(_FOLLOW_UP.search(question)) or len(content_stems(question)) <= 2


def clean_as_of(as_of) -> str | None:
    """A day as YYYY-MM-DD (a date or datetime, or text in that form), or None."""
    if as_of is None or hasattr(as_of, "isoformat"):
        return as_of.isoformat()[:10] if as_of is not None else None
    try:
        return date.fromisoformat(str(as_of).strip()).isoformat()
    except ValueError:
        raise QuestionError(f"as_of must be a day as YYYY-MM-DD, e.g. 2022-09-22; got {as_of!r}") from None


def search_query(question: str, history: History, as_of: str | None = None) -> Query:
    """A follow-up that leans on the previous turn is searched together with that turn's question; when that
    one leaned too ("And what share?" then "And when?"), with the chain back to the question that set the topic."""
    if not (history and content_stems(history[-1][0]) and _leans(question)):
        return Query(question, as_of=as_of)
    chain = [history[-1][0]]
    for earlier, _ in reversed(history[-_CHAIN:-1]):
        if not _leans(chain[0]) or not content_stems(earlier):
            break
        chain.insert(0, earlier)
    return Query(question, " ".join(chain), as_of=as_of)
