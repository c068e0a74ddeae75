"""Evaluation sets: seed_dev-format files (optionally naming a folder of articles) and SQuAD v2 files, read into
Cases; the SQuAD split by article (fit / report); the index of an eval set's articles, cached by content."""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import QAError
from ..ingest import file_sources, load_sources, make_article, slugify
from ..settings import Settings
from ..types import Article

SQUAD_SAMPLE = 200
# SQuAD dev15 split by article: choices and fitted numbers come from the first FIT_ARTICLES articles
# (in file order); results are reported on the others, whose questions were never used for them.
FIT_ARTICLES = 8
SPLITS = ("all", "fit", "report")
# realtime_news.json (real news quiz questions, each with the day it was asked) is split by that day: choices and
# fitted numbers come from questions asked before this one; results are reported on the rest. Never moved.
ASKED_SPLIT = "2022-09-01"


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    answers: tuple[str, ...]  # empty: unanswerable
    support: tuple[str, ...]  # phrases a correct citation contains
    need_all: bool = False
    forbid: tuple[str, ...] = ()
    history: tuple[tuple[str, str | None], ...] = ()
    article_title: str | None = None
    asked: str | None = None  # the day the question was asked (YYYY-MM-DD): the answerer's as_of


def load_cases(path: Path) -> tuple[str, list[Case], Path | None]:
    """The cases, and the SQuAD file or folder of article files they are asked of (None: ask the given
    index). A seed_dev-format file may name one as "articles", relative to itself."""
    data = _read(path)
    if "questions" in data:
        return "seed_dev", _seed_cases(data), _articles_source(path, data)
    if "data" in data:
        return "squad_v2", _squad_cases(data), path
    raise QAError(f"{path}: neither seed_dev (questions) nor SQuAD v2 (data) format")


def _articles_source(path: Path, data: dict) -> Path | None:
    if not data.get("articles"):
        return None
    articles = path.parent / data["articles"]
    if not articles.exists():
        raise QAError(f"{path}: its articles file or folder {articles} does not exist")
    return articles


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise QAError(f"cannot read {path}: {exc}") from exc


def _seed_cases(data: dict) -> list[Case]:
    return [Case(q["id"], q["question"], tuple(q["answers"]), (q["support"],) if q.get("support") else (),
                 bool(q.get("all")), tuple(q.get("forbid", ())), tuple(tuple(t) for t in q.get("history", ())),
                 asked=q.get("asked")) for q in [*data["questions"], *data.get("followups", [])]]


def split_cases(cases: list[Case], split: str) -> list[Case]:
    """A SQuAD file splits by article (the first FIT_ARTICLES are fit); a file whose questions carry the day they
    were asked splits by that day (before ASKED_SPLIT: fit; from it: report)."""
    if split not in SPLITS:
        raise QAError(f"--split {split}: choose one of {', '.join(SPLITS)}")
    if all(c.asked for c in cases):
        return [c for c in cases if (c.asked < ASKED_SPLIT) == (split == "fit")]
    titles = list(dict.fromkeys(c.article_title for c in cases))
    if titles == [None]:
        raise QAError(f"--split {split}: only a SQuAD file, or one whose questions say when they were asked, splits")
    keep = set(titles[:FIT_ARTICLES] if split == "fit" else titles[FIT_ARTICLES:])
    return [c for c in cases if c.article_title in keep]


def _squad_cases(data: dict) -> list[Case]:
    cases = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                golds = tuple(dict.fromkeys(a["text"] for a in qa["answers"])) if not qa.get("is_impossible") else ()
                cases.append(Case(qa["id"], qa["question"], golds, golds, article_title=article["title"]))
    return cases


def articles_index(path: Path, settings: Settings) -> Settings:
    """`settings` asking the index of the articles an eval file is asked of (a SQuAD file, or a folder of article
    files), built once and kept by content and settings, in the settings' store (a Milvus server: an index of its
    own beside the user's), so repeated runs are quick."""
    from ..index import FORMAT_VERSION, open_store, scoped
    from ..pipeline import add_articles

    key = hashlib.sha256()
    for source in file_sources([path]):
        key.update(f"{source.relative if path.is_dir() else ''}\0".encode() + source.path.read_bytes())
    key.update(f"{settings.embedder}/{settings.chunk_chars}/{settings.chunk_overlap_chars}/"
               f"{FORMAT_VERSION}".encode())
    name = f"eval-{key.hexdigest()[:16]}"
    scoped_settings = replace(settings, index=settings.cache / name,
                              vector_store=scoped(settings.vector_store, name.replace("-", "_")))
    if open_store(scoped_settings.index, scoped_settings.vector_store, settings.milvus_token).head() is None:
        from ..progress import bars

        add_articles(_source_articles(path, settings), scoped_settings, bars())
    return scoped_settings


def _source_articles(path: Path, settings: Settings) -> list[Article]:
    if path.is_dir():
        articles, skipped = load_sources([path], settings.max_article_bytes)
        if skipped:
            raise QAError(f"{path}: cannot index {skipped[0].reason}")
        if not articles:
            raise QAError(f"{path}: no .txt, .md, .html or .pdf files")
        return articles
    return [make_article(slugify(a["title"]), "\n\n".join(p["context"] for p in a["paragraphs"]),
                         a["title"].replace("_", " "))
            for a in _read(path)["data"]]


def select_cases(path: Path, limit: int | None = None, split: str = "all") -> tuple[str, list[Case], Path | None]:
    """load_cases, keeping the split's articles and then, of a SQuAD file, a seeded sample of `limit` (else
    SQUAD_SAMPLE) questions, of any other file its first `limit`."""
    dataset, cases, articles = load_cases(path)
    if split != "all":
        cases = split_cases(cases, split)
    if dataset == "squad_v2":
        cases = random.Random(0).sample(cases, min(limit or SQUAD_SAMPLE, len(cases)))
    elif limit:
        cases = cases[:limit]
    return dataset, cases, articles
