"""The Answerer: an index with its embedder, the writer and judge models and the settings, loaded on first
use, and the answering stages over them, in the order they run:
query → evidence → gate → read → verify → cite, with decide ruling between them."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import cached_property

from ..embedding import Embedder, get_embedder
from ..errors import IndexMissingError, ModelError
from ..generation import Generator, generator_for, judge_for
from ..index import LoadedIndex, open_store
from ..settings import Settings
from ..types import Answer, Passage, Query, Stage, Trace
from . import cite, decide, gate, read, verify
from .calibration import Calibration, load as load_calibration
from .evidence import Evidence, select_evidence
from .query import History, clean_as_of, clean_history, clean_question, search_query

log = logging.getLogger(__name__)


def load_embedder(settings: Settings) -> Embedder:
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


class Models:
    """Loaded models, shared by the Answerers that use them (the 0.5B of two profiles loads once)."""

    def __init__(self):
        self._loaded: dict[tuple, object] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, load_model: Callable[[], object]):
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = load_model()
            return self._loaded[key]


class Answerer:
    """Answers questions from one index. Models load on first use (or `warm_up`); the index is reread when a
    writer has committed a new generation, and each question reads one generation from start to end.
    Thread-safe for concurrent questions; it never writes."""

    def __init__(self, settings: Settings, models: Models | None = None):
        self.settings = settings
        self.models = models or Models()
        self._index: LoadedIndex | None = None
        self._head = None
        self._lock = threading.Lock()

    @cached_property
    def embedder(self) -> Embedder:
        s = self.settings
        return self.models.get(("embedder", s.embedder, s.threads), lambda: load_embedder(s))

    @cached_property
    def writer(self) -> Generator:
        return self.models.get(self._generator_key(self.settings.reader), lambda: load_writer(self.settings))

    @cached_property
    def judge(self) -> Generator:
        return self.models.get(self._generator_key(self.settings.judge), lambda: load_judge(self.settings))

    def _generator_key(self, model: str) -> tuple:
        s = self.settings
        return "generator", s.llm, s.backend, s.cache, s.threads, model

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

    @cached_property
    def store(self):
        return open_store(self.settings.index, self.settings.vector_store, self.settings.milvus_token)

    def index(self) -> LoadedIndex:
        """The live generation of the index (a LoadedIndex, or a MilvusGeneration that reads the same way), opened
        again when a writer has committed a new one. Read only."""
        with self._lock:
            head = self.store.head()
            if head is None:
                folder = self.settings.index
                hint = ("`qa index sync` (or `make run`) indexes the articles in it" if (folder / "articles").is_dir()
                        else f"add articles with `qa index add PATH --index {folder}`")
                raise IndexMissingError(f"no index in {self.store.where} yet; {hint}")
            if self._index is None or self._head != head:
                self._index, self._head = self.store.open(self.embedder.id, self.settings.chunking), head
            return self._index

    def search(self, question: str, k: int = 5) -> list[Passage]:
        question = clean_question(question, self.settings.max_question_chars)
        return self.index().search(self.embedder, question, k, self.settings.candidates)

    # The stages, each alone (as the stream below runs them; `index` is the generation a question reads).

    def query(self, question: str, history: History = (), index: LoadedIndex | None = None,
              as_of: str | None = None) -> Query:
        """The question as searched: a follow-up with the turns it leans on and the sentence that answered them."""
        query = search_query(question, history, as_of)
        if query.earlier is None:
            return query
        earlier = self.evidence(Query(query.earlier, as_of=as_of), index=index)
        if earlier.best is None or earlier.relevance < self.settings.relevance_floor:  # nothing was told
            return query
        shown, i = earlier.best
        told = shown.sentences[i]
        return replace(query, topic=Passage(told.article_id, shown.passage.title, told.text, told.start, told.end,
                                            told.relevance, shown.passage.date))

    def retrieve(self, query: Query, index: LoadedIndex | None = None) -> list[Passage]:
        return (index or self.index()).search(self.embedder, query.text, self.settings.k, self.settings.candidates,
                                              query.as_of)

    def evidence(self, query: Query, passages: list[Passage] | None = None,
                 index: LoadedIndex | None = None) -> Evidence:
        """The evidence sentences for the prompt, from `passages` (else retrieved)."""
        index = index or self.index()
        passages = self.retrieve(query, index) if passages is None else passages
        return select_evidence(query, passages, index.texts, self.embedder, index.idf, self.settings.prompt_sentences)

    def gate(self, query: Query, evidence: Evidence) -> tuple[gate.Gate, str | None]:
        """The judge's answerability when the evidence is worth judging, and the rule that refuses, if one does."""
        rule = decide.not_worth_judging(evidence.relevance, evidence.fits, query.topic is not None,
                                        self.settings.relevance_floor)
        if rule is not None:
            return gate.Gate(), rule
        reading = gate.read(self.judge, self.calibration, query.text, evidence, query.topic)
        return reading, None if decide.answerable(reading.answerability, self.thresholds) else decide.GATE

    def stream(self, question: str, history: History = (), as_of=None) -> Iterator[Stage | str | Answer]:
        """Yields a Stage before each step, pieces of the model's text as it writes, then the verified Answer last.
        `as_of` (a day): answer as the news stood then."""
        question = clean_question(question, self.settings.max_question_chars)
        history = clean_history(history, self.settings.max_question_chars)
        as_of = clean_as_of(as_of)
        yield Stage("searching")
        index = self.index()  # one generation for the whole question, whatever a writer commits meanwhile
        query = self.query(question, history, index, as_of)
        passages = self.retrieve(query, index)
        evidence = self.evidence(query, passages, index)
        reading, refused = self.gate(query, evidence)
        evidence = evidence.pinned_to(reading.best.sentence if reading.best else None)
        trace = Trace(question, query.text, tuple(passages), evidence.sentences, evidence.relevance, reading.readings,
                      calibration=self.calibration.warning)
        log.info("searched %r: relevance %.2f, answerability %s", query.text, evidence.relevance,
                 reading.answerability)
        if refused is not None:
            yield cite.abstain(question, "", evidence, replace(trace, decided_by=refused))
            return
        yield Stage("reading")
        draft = yield from read.write(self.writer, query, evidence, self.settings.max_new_tokens)
        yield Stage("checking")
        entails = verify.check_readings(self.judge)
        verified = verify.verify(question, draft.text, evidence, entails, self.thresholds)
        yield cite.settle(question, draft.text, verified, evidence, index.texts, entails, self.thresholds, trace)

    def answer(self, question: str, history: History = (), as_of=None) -> Answer:
        for event in self.stream(question, history, as_of):
            if isinstance(event, Answer):
                return event
        raise AssertionError("stream always ends with an Answer")
