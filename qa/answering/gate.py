"""Gate: the judge model's reading of whether the evidence answers the question, calibrated into log-odds,
before any model writes. decide.answerable rules on it."""
from __future__ import annotations

from dataclasses import dataclass

from .. import prompts
from ..generation import Generator
from ..types import Passage
from .calibration import Calibration
from .evidence import Evidence


@dataclass(frozen=True)
class Gate:
    scores: tuple[float, ...] = ()  # the judge's raw yes/no log-odds, one per phrasing of prompts.JUDGES
    answerability: float | None = None  # calibrated; None when the judge was not asked


def context(evidence: Evidence, topic: Passage | None = None) -> str:
    """What the yes/no judge reads: the best sentence alone. On held-out SQuAD v2 questions it separated
    answerable from not slightly better than with its neighbours or the top two or three sentences, and a
    short prompt is a fast one. A follow-up is judged with the earlier question, so the sentence that
    answered that one is read first."""
    if evidence.best is None:
        return ""
    shown, i = evidence.best
    best = shown.sentences[i]
    if topic is None or (topic.article_id, topic.start) == (best.article_id, best.start):
        return best.text
    return f"{topic.text} {best.text}"


def scores(judge: Generator, question: str, evidence: Evidence, topic: Passage | None) -> tuple[float, ...]:
    return tuple(judge.judge(prompts.judges(question, context(evidence, topic))))


def read(judge: Generator, calibration: Calibration, question: str, evidence: Evidence,
         topic: Passage | None) -> Gate:
    raw = scores(judge, question, evidence, topic)
    return Gate(raw, calibration.answerability(list(raw), evidence.relevance))
