"""The values that flow between pipeline steps: Article → Chunk → Passage → Sentence → Answer (with its Trace)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    text: str  # normalised once; every offset in the system refers to this string
    hash: str
    date: str | None = None  # ISO YYYY-MM-DD, only when the source declares it
    source: str | None = None  # the publication or site
    url: str | None = None
    origin: str = ""  # where it was read from: the URL or the file's path; "" for text given directly
    author: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunking:
    """How articles are cut into chunks: recorded in the index, which refuses to mix two."""
    chars: int
    overlap_chars: int


@dataclass(frozen=True)
class Chunk:
    article_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Passage:
    article_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    date: str | None = None


@dataclass(frozen=True)
class Citation:
    number: int
    article_id: str
    title: str
    start: int
    end: int
    quote: str  # == stored article text[start:end]
    date: str | None = None
    passage_start: int | None = None  # the shown passage around the quote, for highlighting
    passage_end: int | None = None


@dataclass(frozen=True)
class Query:
    """A question as searched and judged: a follow-up carries the turn it leans on."""
    question: str
    earlier: str | None = None  # the previous question
    topic: Passage | None = None  # the sentence that answers `earlier`: a follow-up asks about that story
    as_of: str | None = None  # YYYY-MM-DD: asked as the news stood that day (later articles are not read)

    @property
    def text(self) -> str:
        return f"{self.earlier} {self.question}" if self.earlier else self.question


@dataclass(frozen=True)
class Stage:
    """Progress of one answer, yielded before the work it names so a surface can show it at once."""
    name: str  # "searching", "reading" or "checking"


@dataclass(frozen=True)
class Sentence:
    """An evidence sentence: its exact span in its article's stored text and how it was scored."""
    article_id: str
    start: int
    end: int
    text: str
    relevance: float
    cosine: float
    coverage: float
    fits: bool = True  # it holds the amount or count the question asks for (else always)
    vector: Any = field(default=None, compare=False, repr=False)
    # What it leans on, read with it by the judge and the check: its article's title and date and the sentences
    # just before it ("The bridge will cost…" needs the one naming the bridge).
    context: str = field(default="", compare=False)


KEPT, QUOTED = "kept", "quoted"  # a ClaimCheck's verdicts that stand; any other names the rule that dropped it


@dataclass(frozen=True)
class ClaimCheck:
    """One sentence of the model's draft (or the evidence sentence quoted instead) and what the verifier made
    of it."""
    text: str
    verdict: str  # KEPT, QUOTED, or the rule that dropped it
    span: tuple[str, int, int] | None = None  # (article id, start, end) it was checked against
    check: float | None = None  # the answer check's log-odds (the lower of its two readings)


@dataclass(frozen=True)
class Judged:
    """One sentence the gate's judge read, with what it leans on: its raw and calibrated log-odds."""
    sentence: Sentence
    scores: tuple[float, ...]  # one per phrasing of prompts.JUDGES
    answerability: float


@dataclass(frozen=True)
class Trace:
    """What every stage of one answer saw and decided, for the why panel, `qa ask --json` and `qa eval`."""
    question: str
    search_query: str  # the question as searched (a follow-up carries its earlier turns)
    passages: tuple[Passage, ...] = ()  # retrieved, in rank order
    evidence: tuple[Sentence, ...] = ()  # the sentences shown to the model, most relevant first
    relevance: float = 0.0  # how on-topic the best evidence is
    judged: tuple[Judged, ...] = ()  # the gate's readings, best first; empty when the judge was not asked
    draft: str = ""  # what the model wrote, before verification
    claims: tuple[ClaimCheck, ...] = ()
    decided_by: str = ""  # the rule that decided: see answering.decide
    calibration: str | None = None  # a warning when the judge's numbers were fitted for another model

    @property
    def answerability(self) -> float | None:
        """Calibrated log-odds at the gate: its best reading's; None when not judged."""
        return self.judged[0].answerability if self.judged else None

    def to_json(self) -> dict:
        return {"question": self.question, "search_query": self.search_query,
                "passages": [{"article_id": p.article_id, "start": p.start, "end": p.end, "score": round(p.score, 4)}
                             for p in self.passages],
                "evidence": [{"article_id": s.article_id, "start": s.start, "end": s.end, "text": s.text,
                              "relevance": round(s.relevance, 4), "cosine": round(s.cosine, 4),
                              "coverage": round(s.coverage, 4)} for s in self.evidence],
                "relevance": round(self.relevance, 4),
                "judged": [{"article_id": j.sentence.article_id, "start": j.sentence.start, "text": j.sentence.text,
                            "relevance": round(j.sentence.relevance, 4), "scores": [round(x, 4) for x in j.scores],
                            "answerability": round(j.answerability, 4)} for j in self.judged],
                "answerability": _rounded(self.answerability), "draft": self.draft,
                "claims": [{"text": c.text, "verdict": c.verdict, "span": list(c.span) if c.span else None,
                            "check": _rounded(c.check)} for c in self.claims],
                "decided_by": self.decided_by, "calibration": self.calibration}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(frozen=True)
class Answer:
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)  # the evidence as numbered for the model
    raw_text: str = ""  # what the model wrote, before verification
    question: str = ""
    trace: Trace | None = None

    @property
    def rejected(self) -> tuple[str, ...]:
        """Model sentences the verifier dropped."""
        return tuple(c.text for c in self.trace.claims if c.verdict not in (KEPT, QUOTED)) if self.trace else ()

    @property
    def answerability(self) -> float | None:
        """Log-odds that the evidence answers the question; None when off-topic or no evidence holds the
        kind of answer asked for (an amount, a count)."""
        return self.trace.answerability if self.trace else None

    @property
    def check(self) -> float | None:
        """The answer check's log-odds for what stands (its best sentence, or the quote); None when unchecked."""
        if self.trace is None or self.abstained:
            return None
        scores = [c.check for c in self.trace.claims if c.verdict in (KEPT, QUOTED) and c.check is not None]
        return max(scores, default=None)

    @property
    def search_query(self) -> str:
        return self.trace.search_query if self.trace else self.question

    def to_json(self, trace: bool = False) -> dict:
        out = {
            "text": self.text,
            "abstained": self.abstained,
            "citations": [
                {
                    "number": c.number,
                    "article_id": c.article_id,
                    "title": c.title,
                    "start": c.start,
                    "end": c.end,
                    "quote": c.quote,
                    "date": c.date,
                }
                for c in self.citations
            ],
        }
        if trace and self.trace is not None:
            out["trace"] = self.trace.to_json()
        return out
