"""PDF (print editions, saved pages): pypdf's text layer, with the page furniture taken off.

Lines are joined into paragraphs, a word hyphenated at a line end is joined again, and running
headers, footers and page numbers (lines that recur at the top or bottom of most pages) are dropped."""
from __future__ import annotations

import io
import re
from collections import Counter

from ..errors import ArticleError
from ..types import Article
from .text import make_article

_PAGE_NUMBER = re.compile(r"^(page\s*)?[-–—\s]*\d{1,4}[-–—\s]*(/\s*\d{1,4}|of\s+\d{1,4})?$", re.I)
_SENTENCE_END = ('.', '!', '?', '"', '”', '’', "'", ':')
_EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be furniture
_SHORT_LINE = 0.75  # a sentence-final line this much shorter than the page's longest ends its paragraph


def parse_pdf(data: bytes, article_id: str, origin: str) -> Article:
    pages, title = _read_pages(data, origin)
    furniture = _running_lines(pages)
    lines = [line for page in pages for line in _body(page, furniture)]
    text = "\n\n".join(_paragraphs(lines))
    if not text.strip():
        raise ArticleError(f"{origin}: the PDF has no text layer (a scanned image?); run OCR on it first")
    return make_article(article_id, text, title, origin=origin)


def _read_pages(data: bytes, origin: str) -> tuple[list[list[str]], str | None]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ArticleError(f"{origin}: the PDF is password-protected")
        pages = [[line.strip() for line in (page.extract_text() or "").split("\n") if line.strip()]
                 for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or None
    except FileNotDecryptedError as exc:
        raise ArticleError(f"{origin}: the PDF is password-protected") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ArticleError(f"{origin}: not a readable PDF ({type(exc).__name__}: {str(exc)[:80]})") from exc
    return pages, title


def _key(line: str) -> str:
    """Running heads differ only by the page number they carry."""
    return re.sub(r"\d+", "#", line.lower())


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Edge lines that recur on at least half the pages (two at least) are the page's furniture."""
    if len(pages) < 2:
        return set()
    counts = Counter(key for page in pages for key in {_key(l) for l in page[:_EDGE_LINES] + page[-_EDGE_LINES:]})
    return {key for key, n in counts.items() if n >= max(2, len(pages) / 2)}


def _body(page: list[str], furniture: set[str]) -> list[str]:
    keep = list(page)
    for edge in (slice(0, _EDGE_LINES), slice(-_EDGE_LINES, None)):
        for line in page[edge]:
            if (_key(line) in furniture or _PAGE_NUMBER.match(line)) and line in keep:
                keep.remove(line)
    return keep


def _paragraphs(lines: list[str]) -> list[str]:
    width = max((len(l) for l in lines), default=0)
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        current = _join(current, line)
        if line.endswith(_SENTENCE_END) and len(line) < _SHORT_LINE * width:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def _join(text: str, line: str) -> str:
    if not text:
        return line
    if re.search(r"[^\W\d_]-$", text) and line[:1].islower():  # "con-" + "struction"
        return text[:-1] + line
    return f"{text} {line}"
