"""Scoring answers: SQuAD's normalisation, containment that reads digits and words alike, right / misleading /
abstained at a threshold, citation precision and recall, and the metrics and threshold sweep of a run."""
from __future__ import annotations

import collections
import re
import string
import unicodedata
from dataclasses import dataclass

from ..answering.verify import MARKER, claims
from ..lexical import NUMBER_WORDS, content_stems
from ..types import Answer
from .datasets import Case

SWEEP = tuple(round(-3 + 0.25 * i, 2) for i in range(25))  # answerability log-odds thresholds


@dataclass(frozen=True)
class Result:
    case: Case
    answer: Answer
    answerability: float
    seconds: float
    first_progress: float  # seconds until the first thing a user sees (the stage it is in)
    recalled: bool  # a passage the answerer retrieved (its k) holds the support phrase or a gold answer


def normalise_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, folded white space."""
    # SQuAD strips ASCII punctuation; curly quotes and dashes are punctuation too.
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation)
                   and not unicodedata.category(ch).startswith("P"))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def contains(text: str, phrase: str) -> bool:
    """Whole-word containment after normalisation. A possessive still names its owner, a digit is its word and
    a currency sign is not part of its amount: "Kazakhstan's fund" contains "Kazakhstan" (SQuAD's normalisation
    alone makes it "kazakhstans"), "8 electorates" contains "eight", "€25,000" contains "25,000" (SQuAD's strips
    "$" but no other sign)."""
    return f" {_words(phrase)} " in f" {_words(text)} "


def _words(text: str) -> str:
    text = re.sub(r"(?<=\w)['’]s\b", "", text)
    text = "".join(" " if unicodedata.category(ch) == "Sc" else ch for ch in text)
    return " ".join(NUMBER_WORDS.get(w, w) for w in normalise_answer(text).split())


def f1(prediction: str, gold: str) -> float:
    pred, ref = normalise_answer(prediction).split(), normalise_answer(gold).split()
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if not common:
        return 0.0
    p, r = common / len(pred), common / len(ref)
    return 2 * p * r / (p + r)


def answer_only(text: str) -> str:
    """What an answer says, for EM/F1: without its [n] markers and quotation marks."""
    return MARKER.sub("", text).replace("“", "").replace("”", "").strip()


def abstains(r: Result, threshold: float) -> bool:
    return r.answer.abstained or r.answerability < threshold


def misleading(r: Result, threshold: float) -> bool:
    """Answered, and wrong: a wrong answer to an answerable question, or any answer to an unanswerable one.
    Worse than an abstention, so it is counted on its own."""
    return not abstains(r, threshold) and not right(r, threshold)


def right(r: Result, threshold: float) -> bool:
    if not r.case.answers:
        return abstains(r, threshold)
    if abstains(r, threshold) or any(contains(r.answer.text, f) for f in r.case.forbid):
        return False
    hits = [contains(r.answer.text, a) for a in r.case.answers]
    return all(hits) if r.case.need_all else any(hits)


def citation_ok(r: Result) -> bool:
    """A cited span (the narrowed quote) holds the support phrase or a gold answer."""
    return any(_cites(c, r.case) for c in r.answer.citations)


def _cites(citation, case: Case) -> bool:
    return any(contains(citation.quote, w) for w in case.support or case.answers)


def unsupported_sentences(r: Result) -> tuple[int, int]:
    """(unsupported, total) final answer sentences, checked independently of the verifier: a sentence is
    unsupported when under half of its content words are in its cited quotes or the question."""
    if r.answer.abstained:
        return 0, 0
    quotes = {c.number: set(content_stems(c.quote)) for c in r.answer.citations}
    asked = set(content_stems(r.case.question))
    bad = total = 0
    for claim in claims(r.answer.text):
        stems = set(content_stems(claim.text))
        if not stems:
            continue
        backing = set().union(asked, *(quotes.get(n, set()) for n in claim.markers))
        total += 1
        bad += len(stems & backing) / len(stems) < 0.5
    return bad, total


def operating_point(results: list[Result], threshold: float) -> dict:
    answerable = [r for r in results if r.case.answers]
    unanswerable = [r for r in results if not r.case.answers]
    answered = [r for r in results if not abstains(r, threshold)]
    abstained = [r for r in results if abstains(r, threshold)]
    return {
        "answered_right_of_answerable": _ratio(sum(right(r, threshold) for r in answerable), len(answerable)),
        "abstained_of_unanswerable": _ratio(sum(abstains(r, threshold) for r in unanswerable), len(unanswerable)),
        "answered_precision": _ratio(sum(right(r, threshold) for r in answered), len(answered)),
        "coverage": _ratio(len(answered), len(results)),
        "abstention_precision": _ratio(sum(not r.case.answers for r in abstained), len(abstained)),
        "misleading": sum(misleading(r, threshold) for r in results),
        "misleading_rate": _ratio(sum(misleading(r, threshold) for r in results), len(results)),
    }


def metrics(results: list[Result], threshold: float) -> dict:
    answerable = [r for r in results if r.case.answers]
    answered = [r for r in answerable if not abstains(r, threshold)]
    answered_all = [r for r in results if not abstains(r, threshold)]
    seconds = sorted(r.seconds for r in results)
    squad = [max((f1(answer_only(r.answer.text), a) for a in r.case.answers), default=0.0) if r.case.answers and
             not abstains(r, threshold) else float(not r.case.answers and abstains(r, threshold)) for r in results]
    em = [float(any(normalise_answer(answer_only(r.answer.text)) == normalise_answer(a) for a in r.case.answers))
          if r.case.answers and not abstains(r, threshold) else float(not r.case.answers and abstains(r, threshold))
          for r in results]
    cited = [(c, r.case) for r in answered for c in r.answer.citations]
    progress = sorted(r.first_progress for r in results if r.first_progress is not None)
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "retrieval_recall@k": _ratio(sum(r.recalled for r in answerable), len(answerable)),
        "accuracy": _ratio(sum(right(r, threshold) for r in results), len(results)),
        **operating_point(results, threshold),
        "citation_precision": _ratio(sum(_cites(c, case) for c, case in cited), len(cited)),
        "citation_recall": _ratio(sum(citation_ok(r) for r in answered), len(answered)),
        "answered_correct_and_cited": _ratio(sum(right(r, threshold) and citation_ok(r) for r in answered),
                                             len(answered)),
        "model_sentences_rejected": _ratio(sum(len(r.answer.rejected) for r in results),
                                           sum(len(claims(r.answer.raw_text)) for r in results)),
        "unsupported_sentence_rate": _ratio(sum(unsupported_sentences(r)[0] for r in answered_all),
                                            sum(unsupported_sentences(r)[1] for r in answered_all)),
        "squad_em": _ratio(sum(em), len(em)),
        "squad_f1": _ratio(sum(squad), len(squad)),
        "latency_p50_s": _percentile(seconds, 0.5),
        "latency_p90_s": _percentile(seconds, 0.9),
        "first_progress_p50_s": _percentile(progress, 0.5),
        "first_progress_p90_s": _percentile(progress, 0.9),
    }


def _ratio(a: float, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)
