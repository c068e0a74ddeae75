"""Evidence: the retrieved passages' sentences scored against the question, the best few kept and numbered as
the passages the model and the judge read. It measures; decide.py rules."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..ingest.text import HEADING, is_furniture
from ..chunking import sentence_spans
from ..embedding import Embedder, encode_cached
from ..lexical import content_stems
from ..types import Passage, Query, Sentence
from . import decide
from .kinds import answer_kind

# Text that addresses the reader's assistant is an instruction, not a fact: never evidence.
INJECTION = re.compile(r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|rules|prompt|above|previous)\b|"
                       r"\b(system prompt|you are now|you must (say|answer|reply)|as an ai)\b", re.I)
# Opens a sentence about what the sentence before it named. SQuAD dev, two samples of 800 answerable
# questions: counting that sentence's words raised the best sentence's hits from 76.6 to 77.8 % and from
# 80.4 to 80.9 %; a pronoun anywhere in the sentence, or only the personal pronouns, did worse.
ANAPHOR = re.compile(r"^(He|She|It|They|His|Her|Its|Their|This|These|Those)\b")
LEAN_SENTENCES = 1  # sentences before an evidence sentence that its judge and check read with it
LEAN_CHARS = 300


@dataclass(frozen=True)
class Shown:
    """A passage as numbered in the prompt: a run of adjacent evidence sentences."""
    number: int
    passage: Passage
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Evidence:
    """The evidence stage's output: the sentences shown, numbered in runs, most relevant run first."""
    shown: tuple[Shown, ...]
    relevance: float  # how on-topic the best evidence is; the judge decides answerability
    question_stems: frozenset[str]
    kind: str | None = None  # what the answer must add: see kinds.ANSWER_TYPES
    pinned: Sentence | None = None  # the sentence the gate read as answering: the best, whatever ranked first

    def pinned_to(self, sentence: Sentence | None) -> "Evidence":
        return replace(self, pinned=sentence)

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        """Every shown sentence, most relevant first."""
        return tuple(sorted((x for s in self.shown for x in s.sentences), key=lambda x: -x.relevance))

    @property
    def best(self) -> tuple[Shown, int] | None:
        """The most relevant sentence, as (its run, its position in the run); if it lacks the kind of
        answer asked for ("How many …?" and no number), its more relevant neighbour that holds it. Only
        the neighbourhood: a number from anywhere in the evidence would answer the wrong thing."""
        ranked = [(x.relevance, s, i) for s in self.shown for i, x in enumerate(s.sentences)]
        if not ranked:
            return None
        if self.pinned is not None:
            return next((s, i) for _, s, i in ranked if s.sentences[i] == self.pinned)
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
    quote "# Rover lands". Markdown headings, the first line when it is the article's title, and a news page's
    furniture (a dateline, a caption, a "Related:" link) on a line of its own."""
    line_start = start == 0 or text[start - 1] == "\n"
    line = text[start:end]
    if line_start and (HEADING.match(line) is not None or (start == 0 and line.lstrip("# ") == title)):
        return True
    whole_line = text[text.rfind("\n", 0, start) + 1:(text.find("\n", end) + 1 or len(text) + 1) - 1]
    return is_furniture(whole_line)


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
        fits = decide.adds_kind(kind, text, stems - q_stems, hard_only=True)
        scored.append((passage, Sentence(passage.article_id, start, end, text, relevance, cos, cov, fits, vector)))
    scored.sort(key=lambda ps: -ps[1].relevance)
    chosen = [(p, replace(x, context=leans_on(texts[p.article_id], x.start, p))) for p, x in scored[:budget]]
    return Evidence(_number_runs(chosen, texts), evidence_relevance(chosen, weights), q_stems, kind)


def leans_on(text: str, start: int, passage: Passage) -> str:
    """A sentence's context: its article's title and date, and the up to LEAN_SENTENCES sentences just before it
    (within LEAN_CHARS, never page furniture), which name what its "he", "the bridge" or "the deal" is."""
    window = max(0, start - LEAN_CHARS)
    before = [(s, e) for s, e in sentence_spans(text, window, start) if s > window or window == 0]
    before = [text[s:e] for s, e in before if not _is_heading(text, s, e, passage.title)][-LEAN_SENTENCES:]
    when = f" ({passage.date})" if passage.date else ""
    return " ".join([f"{passage.title}{when}.", *before])


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
