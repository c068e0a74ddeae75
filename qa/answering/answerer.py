"""The Answerer: an index with its embedder, the writer and judge models and the settings, loaded on first
use, and the answering flow over them: query → retrieve → read → decide → verify → cite."""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from functools import cached_property

from .. import grounding, prompts, retrieval
from ..calibrate import Calibration, load as load_calibration
from ..embedding import get_embedder
from ..errors import IndexMissingError, ModelError
from ..generation import Generator, generator_for, judge_for
from ..index import LoadedIndex, load, read_manifest
from ..settings import Settings
from ..types import Answer, Passage, Query, Stage
from . import decide
from .query import History, clean_history, clean_question, search_query

log = logging.getLogger(__name__)
Snapshot = tuple[LoadedIndex, dict[str, float]]  # one generation of the index and its word weights


def load_embedder(settings: Settings):
    return get_embedder(settings.embedder, settings.threads)


def load_writer(settings: Settings) -> Generator:
    return generator_for(settings)


def load_judge(settings: Settings) -> Generator:
    return judge_for(settings)


def load_calibration_for(settings: Settings) -> Calibration:
    """The judge model's calibration. A user's own model (QA_LLM) without one borrows the profile's packaged
    judge's weights and its reader's thresholds, which were fitted to another model's log-odds: said once, as a
    warning, and marked on the calibration so every surface can show it."""
    try:
        return load_calibration(settings.judge)
    except ModelError:
        if not settings.llm:
            raise
    packaged = replace(settings, llm="")
    borrowed = load_calibration(packaged.judge).borrowed_by(settings.judge, settings.reader, packaged.reader)
    log.warning(borrowed.warning)
    return borrowed


class Answerer:
    """Answers questions from one index. Models load on first use (or `warm_up`); the index is reread when a
    writer has committed a new generation. Thread-safe for concurrent questions; it never writes."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._index: tuple[LoadedIndex, dict[str, float]] | None = None
        self._lock = threading.Lock()

    @cached_property
    def embedder(self):
        return load_embedder(self.settings)

    @cached_property
    def writer(self) -> Generator:
        return load_writer(self.settings)

    @cached_property
    def judge(self) -> Generator:
        return load_judge(self.settings)

    @cached_property
    def calibration(self) -> Calibration:
        return load_calibration_for(self.settings)

    @property
    def thresholds(self) -> decide.Thresholds:
        return decide.thresholds(self.settings, self.calibration)

    def warm_up(self) -> None:
        self.index()
        self.embedder.warm_up()
        _ = self.writer, self.judge, self.calibration

    def index(self) -> Snapshot:
        """The current generation of the index and its word weights. Read only."""
        folder = self.settings.index
        with self._lock:
            manifest = read_manifest(folder)
            if manifest is None:
                hint = ("`qa index sync` (or `make run`) indexes the articles in it" if (folder / "articles").is_dir()
                        else f"add articles with `qa index add PATH --index {folder}`")
                raise IndexMissingError(f"no index at {folder} yet; {hint}")
            if self._index is None or self._index[0].manifest.generation != manifest.generation:
                loaded = load(folder, self.embedder.id, self.settings.chunking)
                self._index = loaded, grounding.idf_table([c.text for c in loaded.chunks])
            return self._index

    def search(self, question: str, k: int = 5) -> list[Passage]:
        loaded, _ = self.index()
        question = clean_question(question, self.settings.max_question_chars)
        return retrieval.search(loaded, self.embedder, question, k, self.settings.candidates)

    def query(self, question: str, history: History = (), index: Snapshot | None = None) -> Query:
        """The question as searched: a follow-up with the turns it leans on and the sentence that answered them."""
        query = search_query(question, history)
        if query.earlier is None:
            return query
        earlier = self.evidence(Query(query.earlier), judge=False, index=index)
        if earlier.best is None or earlier.relevance < self.settings.relevance_floor:  # nothing was told
            return query
        shown, i = earlier.best
        told = shown.sentences[i]
        return replace(query, topic=Passage(told.article_id, shown.passage.title, told.text, told.start, told.end,
                                            told.relevance, shown.passage.date))

    def retrieve(self, query: Query, k: int | None = None, index: Snapshot | None = None) -> list[Passage]:
        loaded, _ = index or self.index()
        return retrieval.search(loaded, self.embedder, query.text, k or self.settings.k, self.settings.candidates)

    def evidence(self, query: Query, passages: list[Passage] | None = None, judge: bool = True,
                 index: Snapshot | None = None) -> grounding.Evidence:
        """The evidence sentences for the prompt and, when worth judging, the judge's answerability log-odds."""
        index = index or self.index()
        loaded, idf = index
        passages = self.retrieve(query, index=index) if passages is None else passages
        evidence = grounding.select_evidence(query, passages, loaded.texts, self.embedder, idf,
                                             self.settings.prompt_sentences)
        if not judge or not decide.worth_judging(evidence, query, self.settings.relevance_floor):
            return evidence
        return replace(evidence, judge=self.calibration.answerability(self.judge_scores(query, evidence),
                                                                      evidence.relevance))

    def judge_scores(self, query: Query, evidence: grounding.Evidence) -> list[float]:
        """The judge's raw yes/no log-odds, one per phrasing of prompts.JUDGES, before calibration."""
        return self.judge.judge(prompts.judges(query.text, grounding.judge_context(evidence, query.topic)))

    def entails(self, triples: list[tuple[str, str, str]]) -> list[float]:
        """The answer check: log-odds that each (question, span, answer) answers the question by the span and
        is stated by it, the lower of the two readings (prompts.ENTAILMENT, prompts.STATED). A quote of the
        span is stated by it: only the first reading is asked."""
        quotes = [claim.strip("“”") == span for _, span, claim in triples]
        scores = self.judge.judge([prompts.entailment(*triple) for triple in triples] +
                                  [prompts.stated(span, claim) for (_, span, claim), quote in zip(triples, quotes)
                                   if not quote])
        answers, statements = scores[:len(triples)], iter(scores[len(triples):])
        return [answer if quote else min(answer, next(statements)) for answer, quote in zip(answers, quotes)]

    def stream(self, question: str, history: History = ()) -> Iterator[Stage | str | Answer]:
        """Yields a Stage before each step, pieces of the model's text as it writes, then the verified Answer last."""
        question = clean_question(question, self.settings.max_question_chars)
        history = clean_history(history, self.settings.max_question_chars)
        yield Stage("searching")
        index = self.index()  # one generation for the whole question, whatever a writer commits meanwhile
        query = self.query(question, history, index)
        evidence = self.evidence(query, index=index)
        log.info("searched %r: relevance %.2f, answerability %s", query.text, evidence.relevance,
                 "n/a" if evidence.judge is None else f"{evidence.judge:.2f}")
        traced = {"search_query": query.text, "answerability": evidence.judge}
        if not decide.answerable(evidence, self.thresholds):
            yield replace(grounding.abstain(question, "", [s.passage for s in evidence.shown]), **traced)
            return
        yield Stage("reading")
        prompt = prompts.build(question, [s.passage.text for s in evidence.shown], query.earlier)
        raw = ""
        for piece in self.writer.stream(prompt, self.settings.max_new_tokens):
            raw += piece
            yield piece
        yield Stage("checking")
        loaded, _ = index
        checked = grounding.ground(question, raw, evidence, loaded.texts, self.entails, self.thresholds.check)
        yield replace(checked, **traced)

    def answer(self, question: str, history: History = ()) -> Answer:
        for event in self.stream(question, history):
            if isinstance(event, Answer):
                return event
        raise AssertionError("stream always ends with an Answer")
