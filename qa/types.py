"""The values that flow between pipeline steps: Article → Chunk → Passage → Answer."""
from __future__ import annotations

from dataclasses import dataclass, field


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

    @property
    def text(self) -> str:
        return f"{self.earlier} {self.question}" if self.earlier else self.question


@dataclass(frozen=True)
class Stage:
    """Progress of one answer, yielded before the work it names so a surface can show it at once."""
    name: str  # "searching", "reading" or "checking"


@dataclass(frozen=True)
class Answer:
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    raw_text: str = ""  # what the model wrote, before verification
    rejected: tuple[str, ...] = ()  # model sentences the verifier dropped: unsupported by any shown passage
    # log-odds that the evidence answers the question; None when off-topic or no evidence holds the
    # kind of answer asked for (an amount, a count)
    answerability: float | None = None
    # the answer check's log-odds for what stands (its best sentence, or the quote); None when unchecked
    check: float | None = None
    question: str = ""
    search_query: str = ""  # the question as rewritten with the conversation, if it was

    def to_json(self) -> dict:
        return {
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
