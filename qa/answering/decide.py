"""Decide: every comparison that turns evidence, a draft or a checked sentence into an abstention or a dropped
sentence lives here, and nothing else makes one. The stages measure; these functions rule, and each rule has
a name that the answer's Trace records (`decided_by`, a claim's `verdict`)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..lexical import names
from ..settings import Settings
from ..types import KEPT, QUOTED
from .calibration import Calibration
from .kinds import HARD_KINDS, MONEY, QUANTITY_STEMS, TIME_WORDS

# Why an answer was given or refused (Trace.decided_by), and why a draft sentence was dropped (ClaimCheck.verdict).
OFF_TOPIC = "off-topic: the best evidence is too far from the question"
WRONG_KIND = "no evidence of the kind asked for"
GATE = "the judge reads the evidence as not answering"
REFUSAL = "the model's draft says the articles do not say"
NO_SPAN = "no shown span holds its names, numbers and words"
NOT_THE_KIND = "not the kind of answer asked for"
CHECK = "the answer check reads it as not stated or not answering"
NOTHING_LEFT = "no sentence of the draft passed the checks, nor did the best evidence sentence"
ANSWERED = KEPT
ANSWERED_BY_QUOTE = QUOTED
MIN_COVERAGE = 0.7  # share of a claim's new words that its span must contain
# A claim that denies what its span states ("did not announce plans to acquire 40 aircraft") shares all of
# its words: the denial is the one word to look for.
NEGATION = re.compile(r"\b(not|no|never|none|nobody|nothing|neither|nor|without|cannot)\b|n't\b", re.I)
REFUSING = re.compile(r"\b(not (found|mentioned|provided|specified|stated|given)|(do|does|did)(n't| not) (say|mention|"
                      r"specify|state|contain|provide)|no information|cannot be determined)\b", re.I)


@dataclass(frozen=True)
class Thresholds:
    gate: float  # answerability log-odds below which the writer is not asked
    check: float  # answer-check log-odds each answer sentence (or a quote) needs


def thresholds(settings: Settings, calibration: Calibration) -> Thresholds:
    """The settings' thresholds, else the ones placed on the reader's answers as its judge model reads them."""
    gate, check = settings.abstain_threshold, settings.check_threshold
    if gate is None or check is None:
        placed = calibration.placement(settings.reader)
        gate, check = placed.gate if gate is None else gate, placed.check if check is None else check
    return Thresholds(gate, check)


def not_worth_judging(relevance: float, fits: bool, follow_up: bool, relevance_floor: float) -> str | None:
    """The rule that refuses without asking the judge: off-topic, or the best evidence lacks the kind of answer
    asked for (an amount, a count). A follow-up to an on-topic question is on-topic, though its own words may
    be as few as "In what year?"."""
    if relevance < relevance_floor and not follow_up:
        return OFF_TOPIC
    return None if fits else WRONG_KIND


def answerable(answerability: float | None, limits: Thresholds) -> bool:
    return answerability is not None and answerability >= limits.gate


def refused(draft: str) -> bool:
    return REFUSING.search(draft) is not None


def adds_kind(kind: str | None, text: str, new: set[str], hard_only: bool = False) -> bool:
    """Does `text` add the kind of thing the question asks for (`new`: its word stems the question lacks)?
    Questions of no known kind: yes. `hard_only`: only the kinds no answer can lack are required."""
    if kind is None or (hard_only and kind not in HARD_KINDS):
        return True
    numbers = {n for n in new if n[:1].isdigit() or n in QUANTITY_STEMS}
    if kind == "money":
        return bool(numbers) and bool(MONEY.search(text))
    if kind in ("count", "number"):
        return bool(numbers)
    if kind == "time":
        return bool(numbers or {w.lower() for w in re.findall(r"[A-Za-z]+", text)} & TIME_WORDS)
    if kind.startswith("name:"):  # "the South Korean show" describes the show asked about; it does not name it
        text = re.sub(rf"(\b[A-Z][\w'’-]*\s+)+{kind[5:]}\b", " ", text)
    return bool(names(text) & new)


def supported(share: float, claim: str, span: str) -> bool:
    """A span backs a claim when it holds most of the claim's new words (`share`, 0 if a name or number is
    missing) and no denial the span lacks."""
    return share >= MIN_COVERAGE and (NEGATION.search(claim) is None or NEGATION.search(span) is not None)


def passes_check(score: float, limits: Thresholds) -> bool:
    return score >= limits.check
