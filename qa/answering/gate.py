"""Gate: before any model writes, the judge model reads the few most relevant evidence sentences, each with what
it leans on (its article's title and date, the sentences before it), in one batch; each reading is calibrated into
log-odds that the sentence answers the question. The best reading is the answerability decide.answerable rules on,
and its sentence the one the answer is drawn from."""
from __future__ import annotations

from dataclasses import dataclass

from .. import prompts
from ..generation import Generator
from ..types import Judged, Passage, Sentence
from .calibration import Calibration
from .evidence import Evidence

CANDIDATES = 3  # sentences judged per question: one batch, so the cost is the prompts' length


@dataclass(frozen=True)
class Gate:
    readings: tuple[Judged, ...] = ()  # best first; empty when the judge was not asked

    @property
    def best(self) -> Judged | None:
        return self.readings[0] if self.readings else None

    @property
    def answerability(self) -> float | None:
        return self.best.answerability if self.best else None


def candidates(evidence: Evidence, n: int = CANDIDATES) -> list[Sentence]:
    """The most relevant shown sentences that hold the kind of answer asked for (an amount, a count)."""
    return [x for x in evidence.sentences if x.fits][:n]


def context(sentence: Sentence, topic: Passage | None = None) -> str:
    """What the judge reads of a candidate: what it leans on, then the sentence. A follow-up is judged with the
    sentence that answered the earlier question first, unless it is that sentence."""
    told = f"{topic.text} " if topic is not None and (topic.article_id, topic.start) != (sentence.article_id,
                                                                                           sentence.start) else ""
    return f"{told}{sentence.context} {sentence.text}".strip()


def scores(judge: Generator, question: str, sentences: list[Sentence],
           topic: Passage | None) -> list[tuple[float, ...]]:
    """The judge's raw log-odds for each sentence, every phrasing of every sentence in one batch."""
    asked = [p for x in sentences for p in prompts.judges(question, context(x, topic))]
    raw = judge.judge(asked) if asked else []
    per = len(prompts.JUDGES)
    return [tuple(raw[i:i + per]) for i in range(0, len(raw), per)]


def read(judge: Generator, calibration: Calibration, question: str, evidence: Evidence,
         topic: Passage | None) -> Gate:
    chosen = candidates(evidence)
    readings = [Judged(x, s, calibration.answerability(list(s), x.relevance))
                for x, s in zip(chosen, scores(judge, question, chosen, topic))]
    return Gate(tuple(sorted(readings, key=lambda r: -r.answerability)))
