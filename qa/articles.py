"""Reading .txt, .md and .html files into Articles with normalised text."""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import ArticleError
from .types import Article

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_TITLE_MAX = 120


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


def slugify(name: str) -> str:
    """Article ids come from file names; a slug can never escape the index folder."""
    slug = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", name).lower()).strip("-")
    return slug[:80].strip("-") or "article"


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def content_hash(title: str, text: str, date: str | None, source: str | None, url: str | None) -> str:
    payload = json.dumps([title, text, date, source, url], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def make_article(
    id: str, text: str, title: str | None = None, date: str | None = None,
    source: str | None = None, url: str | None = None,
) -> Article:
    text = normalise(text)
    if not text:
        raise ArticleError(f"{id}: no text")
    title = normalise(title or "") or _first_line_title(text) or id.replace("-", " ").title()
    return Article(id=id, title=title, text=text, date=date, source=source, url=url,
                   hash=content_hash(title, text, date, source, url))


def _first_line_title(text: str) -> str | None:
    first = text.split("\n", 1)[0]
    heading = HEADING.match(first)
    if heading:
        return heading.group(1)
    # A short first line without final punctuation reads as a headline; a sentence does not.
    if len(first) <= _TITLE_MAX and not first.endswith((".", "!", "?", ":", ";", ",")):
        return first
    return None


def decode(data: bytes, name: str) -> str:
    if not data.strip():
        raise ArticleError(f"{name}: empty file")
    if b"\x00" in data[:8192]:
        raise ArticleError(f"{name}: binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    western = _as_western(data)
    if western is not None:
        return western
    best = from_bytes(data).best()
    if best is None:
        raise ArticleError(f"{name}: not text in any encoding I can detect")
    return str(best)


def _as_western(data: bytes) -> str | None:
    """Windows-1252 when the bytes read as mostly-ASCII Latin text: detectors guess Baltic or DOS code
    pages for short Western text, which is by far the commoner legacy encoding in news archives."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = [ch for ch in text if ch.isalpha()]
    foreign = sum(1 for ch in letters if ord(ch) > 127)
    return text if letters and foreign / len(letters) < 0.15 else None


def parse(name: str, raw: str, suffix: str) -> Article:
    """Turn a file's decoded text into an Article; `name` gives the id."""
    article_id = slugify(Path(name).stem)
    if suffix in (".html", ".htm"):
        return _parse_html(article_id, raw, name)
    meta: dict[str, str] = {}
    if suffix in (".md", ".markdown"):
        meta, raw = _front_matter(raw)
    return make_article(article_id, raw, meta.get("title"), meta.get("date"), meta.get("source"), meta.get("url"))


def _front_matter(raw: str) -> tuple[dict[str, str], str]:
    match = _FRONT_MATTER.match(raw.lstrip("\ufeff"))
    if not match:
        return {}, raw
    meta = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip().strip("'\"")
    return meta, raw[match.end():]


def _parse_html(article_id: str, raw: str, name: str) -> Article:
    import trafilatura
    from trafilatura.settings import set_date_params

    # Only a date the page declares: the extensive search guesses one from any year in the text ("bleached
    # in 2024" became 2024-01-01), and dates order conflicting sources.
    doc = trafilatura.bare_extraction(raw, with_metadata=True, include_comments=False, include_tables=True,
                                      date_extraction_params=set_date_params(extensive=False))
    text = getattr(doc, "text", None) if doc is not None else None
    if not text:
        raise ArticleError(f"{name}: no article text found in the HTML")
    return make_article(article_id, text, doc.title, doc.date, doc.sitename, doc.url)


def read_article(path: Path, max_bytes: int) -> Article:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ArticleError(f"{path.name}: unsupported type {suffix or '(none)'}; use .txt, .md or .html")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleError(f"{path.name}: {size:,} bytes is over the {max_bytes:,}-byte limit")
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"{path.name}: cannot read ({exc.strerror or exc})") from exc
    return parse(path.name, decode(data, path.name), suffix)


def article_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named directly are yielded whatever their type (so a bad one gets a message); folders are walked."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                              and not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            yield path


def load_articles(paths: Iterable[Path], max_bytes: int) -> tuple[list[Article], list[Skipped]]:
    """Read every file; a bad file is reported and skipped, never fatal. Two files with one id: the first wins."""
    articles: dict[str, Article] = {}
    sources: dict[str, Path] = {}
    skipped: list[Skipped] = []
    for path in article_files(paths):
        if not path.exists():
            skipped.append(Skipped(path, "no such file or folder"))
            continue
        try:
            article = read_article(path, max_bytes)
        except ArticleError as exc:
            skipped.append(Skipped(path, str(exc)))
            continue
        if article.id in articles:
            skipped.append(Skipped(path, f"same id '{article.id}' as {sources[article.id]}; rename one of them"))
            continue
        articles[article.id] = article
        sources[article.id] = path
    return list(articles.values()), skipped
