"""The library's surface: answer() / stream_answer() / search() over an Answerer per settings, and the index
operations (sync, add, remove, rebuild)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from .answering import Answerer, History, Models
from .embedding import get_embedder
from .errors import IndexConflictError, IndexMissingError
from .index import Change, IndexWriter, LoadedIndex, Manifest, open_store
from .ingest import load_sources
from .progress import Progress, quiet
from .settings import Settings
from .types import Answer, Article, Passage, Stage

# The process-wide state, and the only state besides the embedding cache (embedding.encode_cached): one
# Answerer per settings, so a question asked through answer() reuses the index and models already loaded, and the
# models they share (an index writer's embedder too).
_answerers: dict[Settings, Answerer] = {}
_models = Models()
_answerers_lock = threading.Lock()
log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 5


def _settings(index, settings: Settings | None) -> Settings:
    settings = settings or Settings.from_env()
    return replace(settings, index=Path(index)) if index is not None else settings


def embedder_for(settings: Settings):
    return _models.get(("embedder", settings.embedder, settings.threads),
                       lambda: get_embedder(settings.embedder, settings.threads))


def store_for(settings: Settings):
    """Where the index of these settings lives (index.open_store)."""
    return open_store(settings.index, settings.vector_store, settings.milvus_token)


def sync_bundled(settings: Settings, progress: Progress = quiet) -> Change | None:
    """Make the index match <index>/articles (the bundled article, or files a user dropped there): new and
    changed files are indexed, articles whose file was deleted are removed, and an article a user removed
    by hand stays removed. An explicit step (`make run`, `qa serve`, `qa index sync`): reading never writes."""
    folder = settings.index / "articles"
    if not folder.is_dir():
        return None
    articles, skipped = load_sources([folder], settings.max_article_bytes)
    for skip in skipped:
        log.warning("bundled %s not indexed: %s", skip.source, skip.reason)
    unreadable = {s.source for s in skipped}

    def sync(writer: IndexWriter) -> Change | None:
        todo, gone = _sync_plan(writer.previous, folder, articles, unreadable)
        if not todo and not gone and writer.previous is not None:
            return None
        for article_id in gone:
            writer.remove(article_id, remember=False)
        return writer.add(todo, explicit=False)

    manifest = store_for(settings).current()
    if manifest is not None and _sync_plan(manifest, folder, articles, unreadable) == ([], []):
        return None  # nothing changed: not even opened for writing
    return _write(settings, progress, sync)


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


def _write(settings: Settings, progress: Progress, operation, fresh: bool = False):
    """`operation(writer)` under the store's lock, then committed. On a Milvus server writers do not lock: one that
    finds another's generation committed meanwhile does its work again on the newer one."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with IndexWriter(store_for(settings), embedder_for(settings), settings.chunking, progress,
                             fresh=fresh) as writer:
                result = operation(writer)
                writer.commit()
                return result
        except IndexConflictError:
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            log.info("another writer committed first; writing again on its generation")


def read_sources(items: Sequence[str], settings: Settings):
    """Files, folders and http(s) URLs read into Articles, and what could not be read (with why)."""
    return load_sources(items, settings.max_article_bytes, settings.url_timeout_s)


def add_articles(articles: list[Article], settings: Settings, progress: Progress = quiet) -> Change:
    return _write(settings, progress, lambda writer: writer.add(articles))


def remove_articles(ids: Sequence[str], settings: Settings) -> Change:
    def remove(writer: IndexWriter) -> Change:
        for article_id in ids:
            writer.remove(article_id)
        return writer.change

    return _write(settings, quiet, remove)


def rebuild_index(settings: Settings, progress: Progress = quiet) -> Manifest:
    """Re-chunk and re-embed every stored text with the current settings: the fix for a mismatch."""
    def rebuild(writer: IndexWriter) -> None:
        writer.rebuild()

    _write(settings, progress, rebuild, fresh=True)
    return store_for(settings).current()


def migrate_index(settings: Settings, to: str, progress: Progress = quiet) -> Manifest:
    """Copy the index of `settings` into the store `to` (a Milvus server, or back to a folder): texts, chunks and
    vectors as they are, nothing embedded again."""
    source = store_for(settings)
    manifest = source.current()
    if manifest is None:
        raise IndexMissingError(f"no index in {source.where} to migrate")
    from .index.writer import Contents

    contents = Contents.from_index(source.open_any(manifest))
    target = store_for(replace(settings, vector_store=to))
    with target.lock():
        return target.commit(contents, manifest.embedder, manifest.dimension, manifest.chunking, target.current(),
                             progress)


def answerer_for(settings: Settings) -> Answerer:
    """The Answerer for these settings, made on first use: one per settings, so its models load once."""
    with _answerers_lock:
        if settings not in _answerers:
            _answerers[settings] = Answerer(settings, _models)
        return _answerers[settings]


def forget_answerers() -> None:
    """Drop every Answerer and the models they loaded: tests, or settings that changed on disk."""
    global _models
    with _answerers_lock:
        _answerers.clear()
        _models = Models()


def open_index(settings: Settings) -> LoadedIndex:
    """The current generation of the index, reloaded when a writer has committed a new one. Read only."""
    return answerer_for(settings).index()


def warm_up(settings: Settings | None = None) -> None:
    """Sync the bundled articles into the index and load both models now, with progress bars, so the first
    question is answered at full speed."""
    from .progress import bars

    settings = settings or Settings.from_env()
    sync_bundled(settings, bars())
    answerer_for(settings).warm_up()


def search(query: str, k: int = 5, index=None, settings: Settings | None = None) -> list[Passage]:
    return answerer_for(_settings(index, settings)).search(query, k)


def stream_answer(question: str, history: History = (), index=None, settings: Settings | None = None,
                  as_of=None) -> Iterator[Stage | str | Answer]:
    """Yields a Stage before each step, pieces of the model's text as it writes, then the verified Answer last.
    `as_of` (a date, or YYYY-MM-DD): answer as the news stood that day."""
    yield from answerer_for(_settings(index, settings)).stream(question, history, as_of)


def answer(question: str, history: History = (), index=None, settings: Settings | None = None,
           as_of=None) -> Answer:
    return answerer_for(_settings(index, settings)).answer(question, history, as_of)
