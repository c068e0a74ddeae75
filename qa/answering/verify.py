"""Verify: each sentence of the draft against the shown evidence. Its words must stand in a tight span (one or
two adjacent sentences) with no denial the span lacks, and the judge model must read the span as stating it and
as answering the question. If none is left, the best evidence sentence may stand as a quote when the same check
reads it as the answer. decide.py rules on every measure taken here."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .. import prompts
from ..generation import Generator
from ..lexical import content_stems, names
from ..types import KEPT, QUOTED, ClaimCheck, Sentence
from . import decide
from .evidence import Evidence, Shown

MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
QUOTE_MARKS = "\"“‘'«„"
DEMONYM_ENDINGS = frozenset({"n", "an", "ian", "ese", "i", "ish", "stan"})


@dataclass(frozen=True)
class Claimed:
    """What the answer check reads: does `claim` answer `question`, by `span` read after what it leans on?"""
    question: str
    span: str
    claim: str
    context: str = ""

    @property
    def passage(self) -> str:
        return f"{self.context} {self.span}".strip()

    @property
    def quote(self) -> bool:
        return self.claim.strip("“”") == self.span


# -> log-odds, one per Claimed, that the span states the claim and the claim answers the question
Entails = Callable[[list[Claimed]], list[float]]


@dataclass(frozen=True)
class Claim:
    text: str
    markers: tuple[int, ...]


@dataclass(frozen=True)
class Backed:
    """A sentence that stands, with the span that backs it and the passage that span was shown in."""
    text: str
    span: tuple[Sentence, ...]
    shown: Shown


@dataclass(frozen=True)
class Verified:
    kept: tuple[Backed, ...]  # what stands: the draft's sentences, or the quoted best sentence
    claims: tuple[ClaimCheck, ...]  # every draft sentence (and a quote) with its verdict

    @property
    def by_quote(self) -> bool:
        return any(c.verdict == QUOTED for c in self.claims)


def check_readings(judge: Generator) -> Entails:
    """The answer check: log-odds that each (question, span, answer) answers the question by the span and is
    stated by it, the lower of the two readings (prompts.ENTAILMENT, prompts.STATED). A quote of the span is
    stated by it: only the first reading is asked."""
    def entails(asked: list[Claimed]) -> list[float]:
        scores = judge.judge([prompts.entailment(c.question, c.passage, c.claim) for c in asked] +
                             [prompts.stated(c.passage, c.claim) for c in asked if not c.quote])
        answers, statements = scores[:len(asked)], iter(scores[len(asked):])
        return [answer if c.quote else min(answer, next(statements)) for answer, c in zip(answers, asked)]
    return entails


def claims(raw: str) -> list[Claim]:
    from ..chunking import sentence_spans

    found = []
    for start, end in sentence_spans(raw):
        sentence = raw[start:end]
        markers = tuple(int(n) for group in MARKER.findall(sentence) for n in re.split(r"[,;]\s*", group))
        text = MARKER.sub("", sentence).strip()
        if text or markers:
            found.append(Claim(text, markers))
    return _attach_trailing_markers(found)


def _attach_trailing_markers(found: list[Claim]) -> list[Claim]:
    """'… 70% of the shares. [1]' splits into a claim and a bare marker; give the marker back."""
    merged: list[Claim] = []
    for claim in found:
        if merged and not content_stems(claim.text) and claim.markers:
            merged[-1] = Claim(merged[-1].text, merged[-1].markers + claim.markers)
        elif content_stems(claim.text) or claim.markers:
            merged.append(claim)
    return merged


def verify(question: str, draft: str, evidence: Evidence, entails: Entails | None,
           limits: decide.Thresholds) -> Verified:
    """Every draft sentence with its verdict; those that stand, else the checked quote, else nothing."""
    if not evidence.shown or decide.refused(draft):
        return Verified((), ())
    checks: list[ClaimCheck | None] = []
    backed: list[tuple[int, Backed]] = []
    for claim in claims(draft):
        new = set(content_stems(claim.text)) - evidence.question_stems
        found = _supporting(claim, new, evidence) if decide.adds_kind(evidence.kind, claim.text, new) else None
        if found is None:
            verdict = decide.NO_SPAN if decide.adds_kind(evidence.kind, claim.text, new) else decide.NOT_THE_KIND
            checks.append(ClaimCheck(claim.text, verdict))
        else:
            backed.append((len(checks), Backed(claim.text, *found)))
            checks.append(None)
    scores = entails([Claimed(question, _joined(b.span), b.text, b.span[0].context) for _, b in backed]) \
        if entails and backed else []
    kept = []
    for n, (at, b) in enumerate(backed):
        score = scores[n] if scores else None
        stands = score is None or decide.passes_check(score, limits)
        checks[at] = ClaimCheck(b.text, KEPT if stands else decide.CHECK, _span_of(b.span), score)
        kept += [b] if stands else []
    if not kept:
        quote = _checked_quote(question, evidence, entails, limits)
        return Verified(tuple(x for x, _ in quote), tuple(checks) + tuple(c for _, c in quote))
    return Verified(tuple(kept), tuple(checks))


def _joined(span: tuple[Sentence, ...]) -> str:
    return " ".join(x.text for x in span)


def _span_of(span: tuple[Sentence, ...]) -> tuple[str, int, int]:
    return span[0].article_id, span[0].start, span[-1].end


def supports(claim_text: str, new: set[str], text: str, context: str = "") -> float:
    """Share of the claim's new words found in `text`; 0 when a name or number of the claim is in neither the text
    nor what it leans on (`context`: "the new bridge over the Marl" is backed by "The bridge will cost…" after the
    sentence naming the Marl)."""
    stems = set(content_stems(text))
    named = stems | set(content_stems(context))
    if not new or any(not _named(n, named) for n in names(claim_text)):
        return 0.0
    return len(new & stems) / len(new)


def _named(name: str, stems: set[str]) -> bool:
    """The name stands in the text, as itself or as its people's or language's name: "Saudi Arabia" is backed by
    "Saudi Arabian officials", "Kazakh" by "Kazakhstan"."""
    if name in stems:
        return True
    return name.isalpha() and len(name) >= 4 and any(
        (a.startswith(b) and a[len(b):] in DEMONYM_ENDINGS) for s in stems if s.isalpha() for a, b in ((s, name), (name, s)))


def windows(shown: Shown) -> list[tuple[Sentence, ...]]:
    """One or two adjacent sentences: a claim must be backed by a span this tight, not by facts
    scattered over a long passage."""
    sents = shown.sentences
    return [sents[i:j] for i in range(len(sents)) for j in (i + 1, i + 2) if j <= len(sents)]


def _supporting(claim: Claim, new: set[str], evidence: Evidence) -> tuple[tuple[Sentence, ...], Shown] | None:
    """The span that backs the claim, whatever the claim cited (a wrong [n] is re-attributed): a window
    of one or two sentences holding its names, numbers and most of its new words, and no denial it lacks.
    Windows around the best evidence sentence come first, if the best sentence lends the claim a word of
    its own (a claim built from its neighbour alone would pass off the neighbour as the best's answer);
    then the others, most relevant first, since the ranker's best is not always the sentence that answers."""
    best_shown, anchor = evidence.best
    best = best_shown.sentences[anchor]
    lends = bool(new & set(content_stems(best.text)))
    candidates = [(best not in w, -max(x.relevance for x in w), len(w), w, shown)
                  for shown in evidence.shown for w in windows(shown) if lends or best not in w]
    for *_, window, shown in sorted(candidates, key=lambda c: c[:3]):
        text = _joined(window)
        if decide.supported(supports(claim.text, new, text, window[0].context), claim.text, text):
            return window, shown
    return None


def _checked_quote(question: str, evidence: Evidence, entails: Entails | None,
                   limits: decide.Thresholds) -> list[tuple[Backed, ClaimCheck]]:
    """The best evidence sentence, verbatim, if the judge reads it, alone as it will be shown, as an answer to the
    question and it holds the kind of thing asked for; without a judge, nothing. An unchecked quote is a confident
    wrong answer as often as not, and so is one that answers only with what it leans on ("The show also won best
    musical." after the sentence that names the show)."""
    shown, i = evidence.best
    best = shown.sentences[i]
    new = set(content_stems(best.text)) - evidence.question_stems
    if entails is None or not decide.adds_kind(evidence.kind, best.text, new):
        return []
    score = entails([Claimed(question, best.text, best.text)])[0]  # read alone: it is shown alone
    if not decide.passes_check(score, limits):
        return []
    text = quoted(best.text)
    return [(Backed(text, (best,), shown), ClaimCheck(text, QUOTED, _span_of((best,)), score))]


def quoted(text: str) -> str:
    """A sentence shown as a quotation; one that opens with its own quotation mark is one already."""
    return text if text[:1] in QUOTE_MARKS else f"“{text}”"
