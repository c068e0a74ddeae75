"""answer() / stream_answer() / search(): wires the steps together, nothing else."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from . import grounding, prompts, retrieval, store
from .articles import load_articles, normalise
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
_cache: dict[tuple[Path, str], tuple[store.LoadedIndex, dict[str, float], tuple]] = {}
_cache_lock = threading.Lock()


def _settings(index, settings: Settings | None) -> Settings:
    settings = settings or Settings.from_env()
    return replace(settings, index=Path(index)) if index is not None else settings


def embedder_for(settings: Settings):
    return get_embedder(settings.embedder, settings.threads)


def sync_bundled(settings: Settings, progress: Progress = quiet) -> store.Change | None:
    """Index the files in <index>/articles that are new or changed (the bundled article, or files a user
    dropped there); ids a user removed on purpose stay removed."""
    folder = settings.index / "articles"
    if not folder.is_dir():
        return None
    manifest = store.read_manifest(settings.index)
    articles, _ = load_articles([folder], settings.max_article_bytes)
    known = {a.id: a.hash for a in manifest.articles} if manifest else {}
    removed = set(manifest.removed) if manifest else set()
    todo = [a for a in articles if known.get(a.id) != a.hash and a.id not in removed]
    if not todo:
        return None
    with _writer(settings, progress) as writer:
        change = writer.add(todo, explicit=False)
        writer.commit()
    return change


def _writer(settings: Settings, progress: Progress, fresh: bool = False) -> store.IndexWriter:
    return store.IndexWriter(settings.index, embedder_for(settings), settings.chunk_chars,
                             settings.chunk_overlap_chars, progress, fresh=fresh, vector_store=settings.vector_store)


def add_articles(articles: list[Article], settings: Settings, progress: Progress = quiet) -> store.Change:
    with _writer(settings, progress) as writer:
        change = writer.add(articles)
        writer.commit()
    return change


def remove_articles(ids: Sequence[str], settings: Settings) -> store.Change:
    with _writer(settings, quiet) as writer:
        for article_id in ids:
            writer.remove(article_id)
        writer.commit()
    return writer.change


def rebuild_index(settings: Settings, progress: Progress = quiet) -> store.Manifest:
    """Re-chunk and re-embed every stored text with the current settings: the fix for a mismatch."""
    with _writer(settings, progress, fresh=True) as writer:
        writer.rebuild()
        return writer.commit()


def open_index(settings: Settings, progress: Progress = quiet):
    """The current generation of the index, reloaded when a writer has committed a new one."""
    embedder = embedder_for(settings)
    key = (settings.index.resolve(), embedder.id)
    with _cache_lock:
        manifest = store.read_manifest(settings.index)
        folder = _folder_state(settings.index / "articles")
        cached = _cache.get(key)
        if cached and manifest and cached[0].manifest.generation == manifest.generation and cached[2] == folder:
            return cached[0], cached[1]
        if sync_bundled(settings, progress) is None and manifest is None:
            raise IndexMissingError(f"no index at {settings.index}; add articles with `qa index add PATH "
                                    f"--index {settings.index}`")
        loaded = store.load(settings.index, embedder.id)
        idf = grounding.idf_table([c.text for c in loaded.chunks])
        _cache[key] = (loaded, idf, folder)
        return loaded, idf


def _folder_state(folder: Path) -> tuple:
    """A cheap signature of the articles folder: a file dropped there is indexed on the next question."""
    if not folder.is_dir():
        return ()
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file()))


def warm_up(settings: Settings | None = None) -> None:
    """Build or refresh the index and load both models now, with progress bars, so the first
    question is answered at full speed."""
    from .progress import bars

    settings = settings or Settings.from_env()
    open_index(settings, bars())
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
