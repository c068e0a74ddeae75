"""answer() / stream_answer() / search(): wires the steps together, nothing else."""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from . import grounding, prompts, retrieval
from .index import Change, Chunking, IndexWriter, LoadedIndex, Manifest, load, read_manifest
from .ingest import load_sources, normalise
from .embedding import get_embedder
from .errors import IndexMissingError, QuestionError
from .generation import generator_for
from .lexical import content_stems
from .progress import Progress, quiet
from .settings import Settings
from .types import Answer, Article, Passage, Query

History = Sequence[tuple[str, str | None]]
_FOLLOW_UP = re.compile(r"^(and|but|also|so|then|what about|how about)\b|\b(it|its|they|them|their|he|she|his|"
                        r"her|this|that|these|those|the same|there)\b", re.I)
_cache: dict[tuple[Path, str], tuple[LoadedIndex, dict[str, float]]] = {}
_cache_lock = threading.Lock()
log = logging.getLogger(__name__)


def _settings(index, settings: Settings | None) -> Settings:
    settings = settings or Settings.from_env()
    return replace(settings, index=Path(index)) if index is not None else settings


def embedder_for(settings: Settings):
    return get_embedder(settings.embedder, settings.threads)


def chunking(settings: Settings) -> Chunking:
    return Chunking(settings.chunk_chars, settings.chunk_overlap_chars)


def sync_bundled(settings: Settings, progress: Progress = quiet) -> Change | None:
    """Make the index match <index>/articles (the bundled article, or files a user dropped there): new and
    changed files are indexed, articles whose file was deleted are removed, and an article a user removed
    by hand stays removed. An explicit step (`make run`, `qa serve`, `qa index sync`): reading never writes."""
    folder = settings.index / "articles"
    if not folder.is_dir():
        return None
    manifest = read_manifest(settings.index)
    articles, skipped = load_sources([folder], settings.max_article_bytes)
    for skip in skipped:
        log.warning("bundled %s not indexed: %s", skip.source, skip.reason)
    todo, gone = _sync_plan(manifest, folder, articles, {s.source for s in skipped})
    if not todo and not gone and manifest is not None:
        return None
    with _writer(settings, progress) as writer:
        for article_id in gone:
            writer.remove(article_id, remember=False)
        change = writer.add(todo, explicit=False)
        writer.commit()
    return change


def _sync_plan(manifest: Manifest | None, folder: Path, articles: list[Article],
               unreadable: set[str]) -> tuple[list[Article], list[str]]:
    """(articles new or changed, ids whose file is gone from the folder), from the manifest alone."""
    records = manifest.articles if manifest else ()
    removed = set(manifest.removed) if manifest else set()
    known = {r.origin: r.hash for r in records}
    todo = [a for a in articles if known.get(a.origin) != a.hash and a.origin not in removed]
    here = {a.origin for a in articles} | {Path(s).resolve().as_posix() for s in unreadable}
    prefix = folder.resolve().as_posix() + "/"
    gone = [r.id for r in records if r.origin.startswith(prefix) and r.origin not in here]
    return todo, gone


def _writer(settings: Settings, progress: Progress, fresh: bool = False) -> IndexWriter:
    return IndexWriter(settings.index, embedder_for(settings), chunking(settings), progress, fresh=fresh,
                       vector_store=settings.vector_store)


def read_sources(items: Sequence[str], settings: Settings):
    """Files, folders and http(s) URLs read into Articles, and what could not be read (with why)."""
    return load_sources(items, settings.max_article_bytes, settings.url_timeout_s)


def add_articles(articles: list[Article], settings: Settings, progress: Progress = quiet) -> Change:
    with _writer(settings, progress) as writer:
        change = writer.add(articles)
        writer.commit()
    return change


def remove_articles(ids: Sequence[str], settings: Settings) -> Change:
    with _writer(settings, quiet) as writer:
        for article_id in ids:
            writer.remove(article_id)
        writer.commit()
    return writer.change


def rebuild_index(settings: Settings, progress: Progress = quiet) -> Manifest:
    """Re-chunk and re-embed every stored text with the current settings: the fix for a mismatch."""
    with _writer(settings, progress, fresh=True) as writer:
        writer.rebuild()
        return writer.commit()


def open_index(settings: Settings) -> tuple[LoadedIndex, dict[str, float]]:
    """The current generation of the index, reloaded when a writer has committed a new one. Read only."""
    embedder = embedder_for(settings)
    key = (settings.index.resolve(), embedder.id)
    with _cache_lock:
        manifest = read_manifest(settings.index)
        if manifest is None:
            hint = ("`qa index sync` (or `make run`) indexes the articles in it" if (settings.index / "articles").is_dir()
                    else f"add articles with `qa index add PATH --index {settings.index}`")
            raise IndexMissingError(f"no index at {settings.index} yet; {hint}")
        cached = _cache.get(key)
        if cached and cached[0].manifest.generation == manifest.generation:
            return cached
        loaded = load(settings.index, embedder.id, chunking(settings))
        idf = grounding.idf_table([c.text for c in loaded.chunks])
        _cache[key] = (loaded, idf)
        return loaded, idf


def warm_up(settings: Settings | None = None) -> None:
    """Sync the bundled articles into the index and load both models now, with progress bars, so the first
    question is answered at full speed."""
    from .progress import bars

    settings = settings or Settings.from_env()
    sync_bundled(settings, bars())
    open_index(settings)
    embedder_for(settings).warm_up()
    generator_for(settings)


def clean_question(question: str, settings: Settings) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    if len(question) > settings.max_question_chars:
        raise QuestionError(f"the question is {len(question):,} characters long; the limit is "
                            f"{settings.max_question_chars:,}")
    text = normalise(question).replace("\n", " ")
    if not text.strip():
        raise QuestionError("the question is empty")
    if not content_stems(text):  # "???" or "x y": nothing to search for, so nothing could be cited
        raise QuestionError(f"the question has no words to search for: {text[:60]!r}")
    return text


def clean_history(history: History, settings: Settings) -> list[tuple[str, str | None]]:
    turns = []
    for turn in history:
        if (isinstance(turn, (str, bytes)) or not isinstance(turn, Sequence) or len(turn) != 2
                or not isinstance(turn[0], str) or not isinstance(turn[1], (str, type(None)))):
            raise QuestionError("history must be a list of [question, answer] pairs of text (answer may be null)")
        if len(turn[0]) > settings.max_question_chars:  # an earlier question is searched and judged too
            raise QuestionError(f"an earlier question is {len(turn[0]):,} characters long; the limit is "
                                f"{settings.max_question_chars:,}")
        turns.append((normalise(turn[0]).replace("\n", " "), turn[1]))
    return turns


def search_query(question: str, history: History) -> Query:
    """A follow-up that leans on the previous turn is searched together with that turn's question."""
    leans = _FOLLOW_UP.search(question) or len(content_stems(question)) <= 2
    if history and content_stems(history[-1][0]) and leans:
        return Query(question, history[-1][0])
    return Query(question)


def with_topic(query: Query, loaded, idf, settings: Settings) -> Query:
    """A follow-up's evidence is sought near the sentence that answers the earlier question."""
    if query.earlier is None:
        return query
    earlier, embedder = Query(query.earlier), embedder_for(settings)
    passages = retrieval.search(loaded, embedder, earlier.text, settings.k, settings.candidates)
    evidence = grounding.select_evidence(earlier, passages, loaded.texts, embedder, idf, settings.prompt_sentences)
    if evidence.best is None or evidence.relevance < settings.relevance_floor:  # nothing was told
        return query
    shown, i = evidence.best
    told = shown.sentences[i]
    return replace(query, topic=Passage(told.article_id, shown.passage.title, told.text, told.start, told.end,
                                        told.relevance, shown.passage.date))


def search(query: str, k: int = 5, index=None, settings: Settings | None = None) -> list[Passage]:
    settings = _settings(index, settings)
    query = clean_question(query, settings)
    loaded, _ = open_index(settings)
    return retrieval.search(loaded, embedder_for(settings), query, k, settings.candidates)


def stream_answer(question: str, history: History = (), index=None,
                  settings: Settings | None = None) -> Iterator[str | Answer]:
    """Yields pieces of the model's text as it writes, then the verified Answer last."""
    settings = _settings(index, settings)
    question = clean_question(question, settings)
    history = clean_history(history, settings)
    loaded, idf = open_index(settings)
    embedder = embedder_for(settings)
    query = with_topic(search_query(question, history), loaded, idf, settings)
    passages = retrieval.search(loaded, embedder, query.text, settings.k, settings.candidates)
    evidence = judged_evidence(query, passages, loaded, idf, settings)
    log.info("searched %r: %d passages, relevance %.2f, answerability %s", query.text, len(passages),
             evidence.relevance, "n/a" if evidence.judge is None else f"{evidence.judge:.2f}")
    if not answerable(evidence, settings):
        yield replace(grounding.abstain(question, "", [s.passage for s in evidence.shown]), search_query=query.text,
                      answerability=evidence.judge)
        return
    prompt = prompts.build(question, [s.passage.text for s in evidence.shown], query.earlier)
    raw = ""
    for piece in generator_for(settings).stream(prompt, settings.max_new_tokens):
        raw += piece
        yield piece
    yield replace(grounding.ground(question, raw, evidence, loaded.texts), search_query=query.text,
                  answerability=evidence.judge)


def judged_evidence(query: Query, passages: list[Passage], loaded, idf, settings: Settings) -> grounding.Evidence:
    """The evidence for the prompt, with the model's yes/no judgement when it is on-topic at all and
    holds the kind of answer asked for."""
    evidence = grounding.select_evidence(query, passages, loaded.texts, embedder_for(settings), idf,
                                         settings.prompt_sentences)
    # A follow-up to an on-topic question is on-topic, though its own words may be as few as "In what year?".
    if (evidence.relevance < settings.relevance_floor and query.topic is None) or not evidence.fits:
        return evidence
    generator = generator_for(settings)
    scores = generator.judge(prompts.judges(query.text, grounding.judge_context(evidence, query.topic)))
    return replace(evidence, judge=grounding.answerability(scores, evidence.relevance))


def answerable(evidence: grounding.Evidence, settings: Settings) -> bool:
    return evidence.judge is not None and evidence.judge >= settings.abstain_threshold


def answer(question: str, history: History = (), index=None, settings: Settings | None = None) -> Answer:
    for event in stream_answer(question, history, index, settings):
        if isinstance(event, Answer):
            return event
    raise AssertionError("stream_answer always ends with an Answer")
