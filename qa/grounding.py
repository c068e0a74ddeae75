"""Trust comes from here, not from the model: which sentences the model sees, whether the
question is answerable from them, and which answer sentences their citations really back."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from collections.abc import Callable
from typing import Any

from .ingest.text import HEADING
from .chunking import sentence_spans
from .embedding import Embedder, encode_cached
from .lexical import content_stems, names, stem
from .prompts import ABSTENTION, CONFLICT, CONFLICT_PART
from .types import Answer, Citation, Passage, Query

QUOTE_MARKS = "\"“‘'«„"
MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
MIN_COVERAGE = 0.7  # share of a claim's new words that its cited text must contain
# Two sentences of different articles this similar, with different names or numbers, report the same
# thing differently: a correction or a conflict.
CONFLICT_COSINE = 0.75
# Text that addresses the reader's assistant is an instruction, not a fact: never evidence.
INJECTION = re.compile(r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|rules|prompt|above|previous)\b|"
                       r"\b(system prompt|you are now|you must (say|answer|reply)|as an ai)\b", re.I)
# What kind of word an answer to a wh-question must add: "How many …?" needs a quantity, "Who …?" a name,
# "How much will it cost?" an amount of money. First match wins.
ANSWER_TYPES = (
    (re.compile(r"^\W*(\w+ )?(how much\b.*\b(cost|costs|pay|paid|spend|spent|worth|price|charge|charged|"
                r"money|budget|invest|invested|earn|earned)\b|what (price|cost|fee|salary)\b)", re.I), "money"),
    (re.compile(r"^\W*(\w+ )?(how many|what (percentage|percent|number|share|stake|proportion|fraction))\b",
                re.I), "count"),
    (re.compile(r"^\W*(\w+ )?(how (much|long|old|far|large|big|tall|high|often)|what (amount|price|cost))\b",
                re.I), "number"),
    (re.compile(r"^\W*(when|in what year|what (year|date|day|month|century|decade))\b", re.I), "time"),
    (re.compile(r"^\W*(who|whom|whose)\b", re.I), "name"),
)
# Kinds no answer can lack, so evidence without them cannot answer. The others only check the model's
# claims: "When?" may be answered "under the Tang dynasty", "Who?" by "other members" (SQuAD dev: making
# them hard too lost right answers).
HARD_KINDS = frozenset({"money", "count"})
QUANTITY_STEMS = frozenset(map(stem, "eleven thirteen fourteen fifteen sixteen seventeen eighteen nineteen sixty seventy "
                           "eighty ninety thousand million billion trillion dozen dozens hundreds thousands millions "
                           "billions several half quarter twice once double triple majority minority".split()))
# An amount of money: a currency, or a sum in millions or billions (news rarely counts anything else so).
MONEY = re.compile(r"[$€£¥₹₽₩₺]|\b(dollars?|euros?|pounds|yen|yuan|renminbi|roubles?|rubles?|rupees?|tenge|francs?|"
                   r"cents?|pesos?|krona|kronor|krone|kroner|won|lira|shekels?|dirhams?|rand|zloty|reais|"
                   r"USD|EUR|GBP|million|billion|trillion|bn|mln)\b", re.I)
TIME_WORDS = frozenset("january february march april may june july august september october november december "
                       "monday tuesday wednesday thursday friday saturday sunday century decade year month week day "
                       "ago last next early late spring summer autumn fall winter".split())
# Opens a sentence about what the sentence before it named. SQuAD dev, two samples of 800 answerable
# questions: counting that sentence's words raised the best sentence's hits from 76.6 to 77.8 % and from
# 80.4 to 80.9 %; a pronoun anywhere in the sentence, or only the personal pronouns, did worse.
INITIALISM = re.compile(r"\b(?:[A-Z]\.)+[A-Z]$")  # "U.S", its last dot taken as a full stop
ANAPHOR = re.compile(r"^(He|She|It|They|His|Her|Its|Their|This|These|Those)\b")
# A claim that denies what its span states ("did not announce plans to acquire 40 aircraft") shares all of
# its words: the denial is the one word to look for.
NEGATION = re.compile(r"\b(not|no|never|none|nobody|nothing|neither|nor|without|cannot)\b|n't\b", re.I)
REFUSAL = re.compile(r"\b(not (found|mentioned|provided|specified|stated|given)|(do|does|did)(n't| not) (say|mention|"
                     r"specify|state|contain|provide)|no information|cannot be determined)\b", re.I)


@dataclass(frozen=True)
class Sentence:
    article_id: str
    start: int
    end: int
    text: str
    relevance: float
    cosine: float
    coverage: float
    fits: bool = True  # it holds the amount or count the question asks for (HARD_KINDS; else always)
    vector: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Shown:
    """A passage as numbered in the prompt: a run of adjacent evidence sentences."""
    number: int
    passage: Passage
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Evidence:
    shown: tuple[Shown, ...]
    relevance: float  # how on-topic the best evidence is; the judge decides answerability
    question_stems: frozenset[str]
    kind: str | None = None  # what the answer must add: see ANSWER_TYPES
    judge: float | None = None  # log-odds that the best evidence answers the question: see answerability()

    @property
    def best(self) -> tuple[Shown, int] | None:
        """The most relevant sentence, as (its run, its position in the run); if it lacks the kind of
        answer asked for ("How many …?" and no number), its more relevant neighbour that holds it. Only
        the neighbourhood: a number from anywhere in the evidence would answer the wrong thing."""
        ranked = [(x.relevance, s, i) for s in self.shown for i, x in enumerate(s.sentences)]
        if not ranked:
            return None
        _, shown, i = max(ranked, key=lambda r: r[0])
        if shown.sentences[i].fits:
            return shown, i
        fitting = [j for j in (i - 1, i + 1) if 0 <= j < len(shown.sentences) and shown.sentences[j].fits]
        return (shown, max(fitting, key=lambda j: shown.sentences[j].relevance)) if fitting else (shown, i)

    @property
    def fits(self) -> bool:
        """The best sentence holds the kind of answer asked for."""
        best = self.best
        return best is not None and best[0].sentences[best[1]].fits


def judge_context(evidence: Evidence, topic: Passage | None = None) -> str:
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


def features(evidence: Evidence) -> dict[str, float]:
    best = max((x for s in evidence.shown for x in s.sentences), key=lambda x: x.relevance, default=None)
    return {"cosine": round(best.cosine, 4) if best else 0.0, "coverage": round(best.coverage, 4) if best else 0.0,
            "relevance": round(evidence.relevance, 4), "judge": evidence.judge}


def idf_weights(stems: list[str], idf: dict[str, float]) -> dict[str, float]:
    default = max(idf.values(), default=1.0)
    return {s: idf.get(s, default) for s in set(stems)}


def coverage(weights: dict[str, float], text_stems: set[str]) -> float:
    total = sum(weights.values())
    return sum(w for s, w in weights.items() if s in text_stems) / total if total else 0.0


def _candidate_sentences(passages: list[Passage], texts: dict[str, str]) -> list[tuple[Passage, int, int]]:
    seen, found = set(), []
    for passage in passages:
        text = texts[passage.article_id]
        for start, end in sentence_spans(text, passage.start, passage.end):
            if INJECTION.search(text[start:end]) or _is_heading(text, start, end, passage.title):
                continue
            if (passage.article_id, start) not in seen:
                seen.add((passage.article_id, start))
                found.append((passage, start, end))
    return found


def _is_heading(text: str, start: int, end: int, title: str) -> bool:
    """A heading names a section and states nothing: "When did the rover land?" was answered with the
    quote "# Rover lands". Markdown headings, and the first line when it is the article's title."""
    line_start = start == 0 or text[start - 1] == "\n"
    line = text[start:end]
    return line_start and (HEADING.match(line) is not None or (start == 0 and line.lstrip("# ") == title))


def select_evidence(query: Query, passages: list[Passage], texts: dict[str, str], embedder: Embedder,
                    idf: dict[str, float], budget: int) -> Evidence:
    """Score every sentence of the retrieved passages against the question; keep the best `budget`
    (the prompt is the main latency cost) and number adjacent runs of them as passages."""
    q_stems = frozenset(content_stems(query.text))
    # A follow-up is searched with the earlier question but asks something new: its own words rank the
    # sentences, the story just told (the topic) adds continuity: on the hand-written follow-ups
    # (bench/followups_squad.json) the best sentence held the answer far more often than when ranked by both
    # questions' words.
    own = query.question if query.topic else query.text
    weights = idf_weights(content_stems(own), idf)
    kind = answer_kind(query.question)
    candidates = _candidate_sentences(passages, texts)
    if not candidates:
        return Evidence((), 0.0, q_stems, kind)
    texts_of = [texts[p.article_id][s:e] for p, s, e in candidates]
    vectors = encode_cached(embedder, [own, query.topic.text if query.topic else "", *texts_of])
    stems_of = [set(content_stems(text)) for text in texts_of]
    scored = []
    for n, ((passage, start, end), text, vector) in enumerate(zip(candidates, texts_of, vectors[2:])):
        stems = stems_of[n]
        context = stems | stems_of[n - 1] if _refers_back(candidates, n, texts) else stems
        cos, cov = float(vector @ vectors[0]), coverage(weights, context)
        relevance = _relevance(cos, cov)
        if query.topic:
            near = _adjacent(texts, query.topic, passage.article_id, start, end)
            relevance = _story_relevance(relevance, 1.0 if near else float(vector @ vectors[1]))
        fits = kind not in HARD_KINDS or answers_type(kind, text, stems - q_stems)
        scored.append((passage, Sentence(passage.article_id, start, end, text, relevance, cos, cov, fits, vector)))
    scored.sort(key=lambda ps: -ps[1].relevance)
    chosen = scored[:budget]
    return Evidence(_number_runs(chosen, texts), evidence_relevance(chosen, weights), q_stems, kind)


def _refers_back(candidates: list[tuple[Passage, int, int]], n: int, texts: dict[str, str]) -> bool:
    """Sentence n opens with a pronoun right after sentence n-1 ("His party had proposed five ferries."
    after "Opposition leader Ola Nordmann…"): it is about what that sentence names, so that sentence's
    words count toward its coverage."""
    passage, start, end = candidates[n]
    if n == 0 or not ANAPHOR.match(texts[passage.article_id][start:end]):
        return False
    before, _, b_end = candidates[n - 1]
    return before.article_id == passage.article_id and not texts[passage.article_id][b_end:start].strip()


def _story_relevance(relevance: float, continuity: float) -> float:
    """Nearness to the story just told lifts a follow-up's evidence ("And what stake does the seller
    keep?") but never sinks a sentence that answers its own words: "How many aircraft will they buy from
    Boeing?" changes the story."""
    return max(relevance, 0.5 * relevance + 0.5 * continuity)


def _adjacent(texts: dict[str, str], topic: Passage, article_id: str, start: int, end: int) -> bool:
    """The sentence is the topic sentence or its neighbour: the details of a news story sit together."""
    if article_id != topic.article_id:
        return False
    gap = texts[article_id][topic.end:start] if start >= topic.end else texts[article_id][end:topic.start]
    return (start < topic.end and end > topic.start) or gap.strip() == ""


def _relevance(cosine: float, cov: float) -> float:
    return 0.5 * cosine + 0.5 * cov


def evidence_relevance(chosen: list[tuple[Passage, Sentence]], weights: dict[str, float]) -> float:
    """How on-topic the evidence is: the best sentence's similarity, and how much of the question
    (idf-weighted) its neighbourhood covers. Below the floor ("a poem about cats") the question is
    not about the articles at all; above it the judge decides."""
    if not chosen:
        return 0.0
    best = chosen[0][1]
    nearby = set()
    for _, s in chosen:
        if s.article_id == best.article_id and abs(s.start - best.start) < 400:
            nearby.update(content_stems(s.text))
    return 0.5 * best.cosine + 0.5 * coverage(weights, nearby)


def _number_runs(chosen: list[tuple[Passage, Sentence]], texts: dict[str, str]) -> tuple[Shown, ...]:
    runs: list[list[tuple[Passage, Sentence]]] = []
    for passage, sent in sorted(chosen, key=lambda ps: (ps[1].article_id, ps[1].start)):
        last = runs[-1][-1][1] if runs else None
        gap = texts[sent.article_id][last.end:sent.start] if last and last.article_id == sent.article_id else None
        if gap is not None and gap.strip() == "":
            runs[-1].append((passage, sent))
        else:
            runs.append([(passage, sent)])
    runs.sort(key=lambda run: -max(s.relevance for _, s in run))
    shown = []
    for number, run in enumerate(runs, 1):
        passage = run[0][0]
        start, end = run[0][1].start, run[-1][1].end
        narrowed = Passage(passage.article_id, passage.title, texts[passage.article_id][start:end], start, end,
                           max(s.relevance for _, s in run), passage.date)
        shown.append(Shown(number, narrowed, tuple(s for _, s in run)))
    return tuple(shown)


@dataclass(frozen=True)
class Claim:
    text: str
    markers: tuple[int, ...]


def claims(raw: str) -> list[Claim]:
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


def supports(claim_text: str, new: set[str], text: str) -> float:
    """Share of the claim's new words found in `text`; 0 when any name or number of the claim is missing."""
    stems = set(content_stems(text))
    if not new or any(n not in stems for n in names(claim_text)):
        return 0.0
    return len(new & stems) / len(new)


def windows(shown: Shown) -> list[tuple[Sentence, ...]]:
    """One or two adjacent sentences: a claim must be backed by a span this tight, not by facts
    scattered over a long passage."""
    sents = shown.sentences
    return [sents[i:j] for i in range(len(sents)) for j in (i + 1, i + 2) if j <= len(sents)]


def answer_kind(question: str) -> str | None:
    return next((kind for pattern, kind in ANSWER_TYPES if pattern.search(question)), None)


def answers_type(kind: str | None, text: str, new: set[str]) -> bool:
    """Does `text` add the kind of thing the question asks for (`new`: its words the question lacks)?
    Questions of no known kind: yes."""
    if kind is None:
        return True
    numbers = {n for n in new if n[:1].isdigit() or n in QUANTITY_STEMS}
    if kind == "money":
        return bool(numbers) and bool(MONEY.search(text))
    if kind in ("count", "number"):
        return bool(numbers)
    if kind == "time":
        return bool(numbers or {w.lower() for w in re.findall(r"[A-Za-z]+", text)} & TIME_WORDS)
    return bool(names(text) & new)


# (question, span, claim) triples -> log-odds that the span says the claim and the claim answers the question
Entails = Callable[[list[tuple[str, str, str]]], list[float]]


def ground(question: str, raw: str, evidence: Evidence, texts: dict[str, str], entails: Entails | None = None,
           check_threshold: float = 0.0) -> Answer:
    """Keep the model's sentences that a tight span of the evidence backs (word for word, with no denial the
    span lacks, and, given `entails`, by the judge model's reading: log-odds ≥ `check_threshold`) and that
    answer the kind of question asked. If none is left, quote the best evidence sentence only if the same
    check says it answers the question; else abstain. An unchecked quote is a confident wrong answer as
    often as not."""
    passages = [s.passage for s in evidence.shown]
    if not evidence.shown or REFUSAL.search(raw):
        return abstain(question, raw, passages)
    verified: list[tuple[str, tuple[Sentence, ...], Shown]] = []
    rejected: list[str] = []
    for claim in claims(raw):
        new = set(content_stems(claim.text)) - evidence.question_stems
        found = _supporting(claim, new, evidence) if answers_type(evidence.kind, claim.text, new) else None
        if found is None:
            rejected.append(claim.text)
        else:
            verified.append((claim.text, *found))
    verified, denied, check = _entailed(question, verified, entails, check_threshold)
    rejected += denied
    if not verified:
        verified, check = _checked_quote(question, evidence, entails, check_threshold)
    if not verified:
        return replace(abstain(question, raw, passages), rejected=tuple(rejected))
    verified = _conflicting(question, verified[0], evidence, entails, check_threshold) or verified
    return replace(_answer(question, raw, verified, passages, texts), rejected=tuple(rejected), check=check)


def _entailed(question: str, verified, entails: Entails | None, threshold: float):
    """(sentences the model reads as stated by their span and answering the question, the others, the best
    one's log-odds)."""
    if entails is None or not verified:
        return verified, [], None
    scores = entails([(question, " ".join(x.text for x in span), text) for text, span, _ in verified])
    kept = [v for v, score in zip(verified, scores) if score >= threshold]
    return kept, [v[0] for v, score in zip(verified, scores) if score < threshold], max(scores)


def _checked_quote(question: str, evidence: Evidence, entails: Entails | None, threshold: float):
    """The best evidence sentence, verbatim, and its log-odds, if the judge reads it as an answer to the
    question and it holds the kind of thing asked for; without a judge, nothing."""
    shown, i = evidence.best
    best = shown.sentences[i]
    new = set(content_stems(best.text)) - evidence.question_stems
    if entails is None or evidence.kind is not None and not answers_type(evidence.kind, best.text, new):
        return [], None
    score = entails([(question, best.text, best.text)])[0]
    if score < threshold:
        return [], None
    return [(quoted(best.text), (best,), shown)], score


def quoted(text: str) -> str:
    """A sentence shown as a quotation; one that opens with its own quotation mark is one already."""
    return text if text[:1] in QUOTE_MARKS else f"“{text}”"


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
        text = " ".join(x.text for x in window)
        if supports(claim.text, new, text) >= MIN_COVERAGE and _same_polarity(claim.text, text):
            return window, shown
    return None


def _same_polarity(claim: str, span: str) -> bool:
    return not NEGATION.search(claim) or bool(NEGATION.search(span))


def _conflicting(question: str, first, evidence: Evidence, entails: Entails | None, threshold: float):
    """If another article reports the answer's fact with other names or numbers, and the check reads that
    sentence too as an answer to the question, answer with both sources, the newer first (a correction usually
    is), and say that they differ. Without a check nothing else is quoted."""
    _, span, shown = first
    if entails is None or any(x.vector is None for x in span):
        return None
    anchor = sum(x.vector for x in span)
    anchor_names = names(" ".join(x.text for x in span))
    for other in evidence.shown:
        if other.passage.article_id == shown.passage.article_id:
            continue
        for sentence in other.sentences:
            similar = float(sentence.vector @ anchor) / max(float((anchor @ anchor) ** 0.5), 1e-9)
            if (similar >= CONFLICT_COSINE and names(sentence.text) != anchor_names
                    and entails([(question, sentence.text, sentence.text)])[0] >= threshold):
                pair = sorted([(shown, span), (other, (sentence,))], key=lambda p: p[0].passage.date or "",
                              reverse=True)
                return [(_conflict_text(i, s.passage, sp), sp, s) for i, (s, sp) in enumerate(pair)]
    return None


def _conflict_text(position: int, passage: Passage, span: tuple[Sentence, ...]) -> str:
    quote = " ".join(x.text for x in span)
    when = f" ({passage.date})" if passage.date else ""
    template = CONFLICT if position == 0 else CONFLICT_PART
    return template.format(title=passage.title, when=when, quote=quoted(quote))


def _answer(question: str, raw: str, verified, passages: list[Passage], texts: dict[str, str]) -> Answer:
    citations: list[Citation] = []
    parts = []
    for text, span, shown in verified:
        start, end = span[0].start, span[-1].end
        existing = next((c for c in citations if (c.article_id, c.start, c.end) == (shown.passage.article_id, start, end)), None)
        if existing is None:
            existing = Citation(number=len(citations) + 1, article_id=shown.passage.article_id,
                                title=shown.passage.title, start=start, end=end,
                                quote=texts[shown.passage.article_id][start:end], date=shown.passage.date,
                                passage_start=shown.passage.start, passage_end=shown.passage.end)
            citations.append(existing)
        parts.append(_with_marker(text, existing.number))
    return Answer(text=" ".join(parts), abstained=False, citations=citations, passages=passages, raw_text=raw,
                  question=question)


def _with_marker(text: str, number: int) -> str:
    """The marker goes before the closing full stop of a written sentence, after a quotation. An initialism
    keeps its own dots ("the U.S. [1]."), and one closing mark is enough (a marker the model put after an
    initialism leaves two dots behind when it is taken out)."""
    if text.endswith("”"):
        return f"{text} [{number}]."
    body = text.rstrip(".!?")
    end = text[len(body):]
    if end.startswith(".") and INITIALISM.search(body):
        body, end = body + ".", end[1:]
    return f"{body} [{number}]{end[:1] or '.'}"


def abstain(question: str, raw: str, passages: list[Passage]) -> Answer:
    return Answer(text=ABSTENTION, abstained=True, citations=[], passages=passages, raw_text=raw, question=question)


def idf_table(chunk_texts: list[str]) -> dict[str, float]:
    df: dict[str, int] = {}
    for text in chunk_texts:
        for s in set(content_stems(text)):
            df[s] = df.get(s, 0) + 1
    n = len(chunk_texts)
    return {s: math.log(1 + (n - d + 0.5) / (d + 0.5)) for s, d in df.items()}
