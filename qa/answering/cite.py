"""Cite: what stands becomes the Answer, each sentence with the exact character span that backs it; a fact
two articles report differently is shown from both, newest first; or the honest abstention."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from ..index.search import RECENT
from ..lexical import names
from ..prompts import ABSTENTION, CONFLICT, CONFLICT_PART
from ..types import Answer, Citation, Passage, Sentence, Trace
from . import decide
from .evidence import Evidence
from .verify import Backed, Claimed, Entails, Verified, quoted

# Two sentences of different articles this similar, with different names or numbers, report the same
# thing differently: a correction or a conflict.
CONFLICT_COSINE = 0.75
INITIALISM = re.compile(r"\b(?:[A-Z]\.)+[A-Z]$")  # "U.S", its last dot taken as a full stop


def settle(question: str, draft: str, verified: Verified, evidence: Evidence, texts: dict[str, str],
           entails: Entails | None, limits: decide.Thresholds, trace: Trace) -> Answer:
    """The Answer of a verified draft: what stands, cited; else the abstention, naming the rule that decided."""
    trace = replace(trace, draft=draft, claims=verified.claims)
    if not verified.kept:
        rule = decide.REFUSAL if decide.refused(draft) else decide.NOTHING_LEFT
        return abstain(question, draft, evidence, replace(trace, decided_by=rule))
    decided = decide.ANSWERED_BY_QUOTE if verified.by_quote else decide.ANSWERED
    return answer(question, draft, verified.kept, evidence, texts, entails, limits, replace(trace, decided_by=decided))


def abstain(question: str, draft: str, evidence: Evidence, trace: Trace) -> Answer:
    return Answer(text=ABSTENTION, abstained=True, passages=_passages(evidence), raw_text=draft, question=question,
                  trace=trace)


def answer(question: str, draft: str, kept: tuple[Backed, ...], evidence: Evidence, texts: dict[str, str],
           entails: Entails | None, limits: decide.Thresholds, trace: Trace) -> Answer:
    """The kept sentences with their citations, or both sources where the first one's fact is reported
    otherwise elsewhere."""
    conflict = _conflicting(question, kept[0], evidence, entails, limits)
    citations: list[Citation] = []
    parts = []
    for backed in conflict or kept:
        citation = _citation(backed, texts, citations)
        when = _reported(citation) if RECENT.search(question) and not conflict else ""
        parts.append(_with_marker(backed.text, citation.number, when))
    return Answer(text=" ".join(parts), abstained=False, citations=citations, passages=_passages(evidence),
                  raw_text=draft, question=question, trace=trace)


def _passages(evidence: Evidence) -> list[Passage]:
    return [s.passage for s in evidence.shown]


def _citation(backed: Backed, texts: dict[str, str], citations: list[Citation]) -> Citation:
    """The citation of a backed sentence's span: one already made for the same span, or a new one."""
    passage = backed.shown.passage
    start, end = backed.span[0].start, backed.span[-1].end
    for citation in citations:
        if (citation.article_id, citation.start, citation.end) == (passage.article_id, start, end):
            return citation
    citation = Citation(number=len(citations) + 1, article_id=passage.article_id, title=passage.title, start=start,
                        end=end, quote=texts[passage.article_id][start:end], date=passage.date,
                        passage_start=passage.start, passage_end=passage.end)
    citations.append(citation)
    return citation


def _conflicting(question: str, first: Backed, evidence: Evidence, entails: Entails | None,
                 limits: decide.Thresholds) -> tuple[Backed, ...] | None:
    """If another article reports the answer's fact with other names or numbers, and the check reads that
    sentence too as an answer to the question, both sources, the newer first (a correction usually is), saying
    that they differ. Without a check nothing else is quoted."""
    if entails is None or any(x.vector is None for x in first.span):
        return None
    anchor = sum(x.vector for x in first.span)
    anchor_names = names(" ".join(x.text for x in first.span))
    for other in evidence.shown:
        if other.passage.article_id == first.shown.passage.article_id:
            continue
        for sentence in other.sentences:
            similar = float(sentence.vector @ anchor) / max(float((anchor @ anchor) ** 0.5), 1e-9)
            if (similar >= CONFLICT_COSINE and names(sentence.text) != anchor_names
                    and decide.passes_check(entails([Claimed(question, sentence.text, sentence.text)])[0], limits)):
                pair = sorted([(first.shown, first.span), (other, (sentence,))],
                              key=lambda p: p[0].passage.date or "", reverse=True)
                return tuple(Backed(_conflict_text(i, s.passage, span), span, s) for i, (s, span) in enumerate(pair))
    return None


def _conflict_text(position: int, passage: Passage, span: tuple[Sentence, ...]) -> str:
    quote = " ".join(x.text for x in span)
    when = f" ({passage.date})" if passage.date else ""
    template = CONFLICT if position == 0 else CONFLICT_PART
    return template.format(title=passage.title, when=when, quote=quoted(quote))


def _reported(citation: Citation) -> str:
    """When a question about "this week" or "the latest" is answered: the day its source was published."""
    if not citation.date:
        return ""
    day = dt.date.fromisoformat(citation.date)
    return f", reported on {day.day} {day:%B %Y}"


def _with_marker(text: str, number: int, when: str = "") -> str:
    """The marker goes before the closing full stop of a written sentence (then `when` it was reported), after a
    quotation. An initialism keeps its own dots ("the U.S. [1]."), and one closing mark is enough (a marker the
    model put after an initialism leaves two dots behind when it is taken out)."""
    if text.endswith("”"):
        return f"{text} [{number}]{when}."
    body = text.rstrip(".!?")
    end = text[len(body):]
    if end.startswith(".") and INITIALISM.search(body):
        body, end = body + ".", end[1:]
    return f"{body} [{number}]{when}{end[:1] or '.'}"
