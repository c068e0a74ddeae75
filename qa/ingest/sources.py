"""Where articles come from: files, folders of files, and URLs, each read by the reader for its kind.

The id proposed here comes from the source: the URL, or the path relative to the folder that was
added (a file named on its own: its name). The index writer keeps ids unique."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ArticleError
from ..types import Article
from .html import parse_html
from .markdown import parse_markdown
from .pdf import parse_pdf
from .text import decode, make_article, slugify
from .web import fetch_article, is_url

TEXT_SUFFIXES = (".txt",)
MARKDOWN_SUFFIXES = (".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
SUFFIXES = TEXT_SUFFIXES + MARKDOWN_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


@dataclass(frozen=True)
class FileSource:
    path: Path
    relative: Path  # to the folder that was added; the file's name when it was named on its own

    @property
    def origin(self) -> str:
        return self.path.resolve().as_posix()

    @property
    def proposed_id(self) -> str:
        return slugify(self.relative.with_suffix("").as_posix())


def read_file(source: FileSource, max_bytes: int) -> Article:
    name = source.relative.as_posix()
    return parse_bytes(_read_bytes(source.path, name, max_bytes), source.path.suffix.lower(), source.proposed_id,
                       source.origin, name)


def read_upload(path: Path, name: str, max_bytes: int) -> Article:
    """A file given through the browser: its path is a temporary copy, so it is known by its name
    (uploading a corrected file of the same name updates the article)."""
    name = Path(name).name
    return parse_bytes(_read_bytes(path, name, max_bytes), Path(name).suffix.lower(), slugify(Path(name).stem),
                       f"upload:{name}", name)


def _read_bytes(path: Path, name: str, max_bytes: int) -> bytes:
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ArticleError(f"{name}: unsupported type {suffix or '(none)'}; use .txt, .md, .html or .pdf")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleError(f"{name}: {size:,} bytes is over the {max_bytes:,}-byte limit")
        return path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"{name}: cannot read ({exc.strerror or exc})") from exc


def parse_bytes(data: bytes, suffix: str, article_id: str, origin: str, name: str) -> Article:
    if suffix in PDF_SUFFIXES:
        if not data.strip():
            raise ArticleError(f"{name}: empty file")
        return parse_pdf(data, article_id, origin)
    raw = decode(data, name)
    if suffix in HTML_SUFFIXES:
        return parse_html(raw, article_id, origin)
    if suffix in MARKDOWN_SUFFIXES:
        return parse_markdown(raw, article_id, origin)
    return make_article(article_id, raw, origin=origin)


def file_sources(paths: Iterable[Path]) -> Iterator[FileSource]:
    """Files named directly are yielded whatever their type (so a bad one gets a message); folders are walked."""
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(path)
                if (file.is_file() and file.suffix.lower() in SUFFIXES
                        and not any(part.startswith(".") for part in relative.parts)):
                    yield FileSource(file, relative)
        else:
            yield FileSource(path, Path(path.name))


def load_sources(items: Iterable[str | Path], max_bytes: int, timeout_s: float = 20.0,
                 fetch: Callable[[str, float, int], Article] = fetch_article) -> tuple[list[Article], list[Skipped]]:
    """Read every file, folder and URL; a bad one is reported and skipped, never fatal."""
    articles: list[Article] = []
    skipped: list[Skipped] = []
    for item in items:
        if isinstance(item, str) and is_url(item):
            _collect(lambda: fetch(item, timeout_s, max_bytes), item, articles, skipped)
            continue
        path = Path(item)
        if not path.exists():
            skipped.append(Skipped(str(path), "no such file or folder"))
            continue
        for source in file_sources([path]):
            _collect(lambda: read_file(source, max_bytes), str(source.path), articles, skipped)
    return articles, skipped


def load_uploads(files: Iterable[tuple[Path, str]], max_bytes: int) -> tuple[list[Article], list[Skipped]]:
    """(temporary path, the name the user gave the file) pairs, read like files."""
    articles: list[Article] = []
    skipped: list[Skipped] = []
    for path, name in files:
        _collect(lambda: read_upload(path, name, max_bytes), Path(name).name, articles, skipped)
    return articles, skipped


def _collect(read: Callable[[], Article], name: str, articles: list[Article], skipped: list[Skipped]) -> None:
    try:
        article = read()
    except ArticleError as exc:
        skipped.append(Skipped(name, str(exc)))
        log.info("skipped %s: %s", name, exc)
        return
    articles.append(article)
    log.info("read %s as '%s' (%d characters)", name, article.id, len(article.text))
