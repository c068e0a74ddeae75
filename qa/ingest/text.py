"""Plain text: decoding, normalisation, and the Article every reader ends in."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import unicodedata

from ..errors import ArticleError
from ..types import Article

HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
# A news page's furniture, a line of its own that states no fact of the story: the dateline ("New York CNN —"),
# links to other stories, photo and video captions, newsletter and update notes, section heads in capitals.
DATELINE = re.compile(r"^[^.!?\n]{0,80}\s[—–]$")
FURNITURE = re.compile(r"^((related|read more|watch|photos?|video|editor['’]s note|listen|getty images)\s*:|video ad "
                       r"feedback|sign up\b|this story (and headline )?ha(s|ve) been updated|send your questions)", re.I)
SECTION_HEAD = re.compile(r"^[^a-z]*[A-Z]{2}[^a-z]*$")  # "READS OF THE WEEK"
_TITLE_MAX = 120
log = logging.getLogger(__name__)


def slugify(name: str) -> str:
    """A readable id proposal; the index writer makes it unique. A slug can never escape the index folder."""
    slug = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", name).lower()).strip("-")
    return slug[:80].strip("-") or "article"


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_hash(text: str) -> str:
    """Identity of the words alone: the same story saved twice under two names."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iso_date(value) -> str | None:
    """A declared date in ISO form (YYYY-MM-DD); None when it cannot be read as a date."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    from dateutil import parser

    try:
        return parser.parse(str(value), dayfirst=False, fuzzy=False).date().isoformat()
    except (ValueError, OverflowError):
        log.warning("ignoring date %r: not a date", value)
        return None


def make_article(id: str, text: str, title: str | None = None, date=None, source: str | None = None,
                 url: str | None = None, origin: str = "", author: str | None = None,
                 tags: tuple[str, ...] = ()) -> Article:
    text = normalise(text)
    if not text:
        raise ArticleError(f"{origin or id}: no text")
    title = normalise(title or "") or _first_line_title(text) or _url_title(url) or id.replace("-", " ").title()
    date = iso_date(date)
    payload = json.dumps([title, text, date, source, url, origin, author, list(tags)], ensure_ascii=False)
    return Article(id=id, title=title, text=text, date=date, source=source, url=url, origin=origin, author=author,
                   tags=tuple(tags), hash=hashlib.sha256(payload.encode("utf-8")).hexdigest())


def _first_line_title(text: str) -> str | None:
    first = text.split("\n", 1)[0]
    heading = HEADING.match(first)
    if heading:
        return heading.group(1)
    # A short first line without final punctuation reads as a headline; a sentence does not, nor a dateline.
    if len(first) <= _TITLE_MAX and not first.endswith((".", "!", "?", ":", ";", ",")) and not is_furniture(first):
        return first
    return None


def _url_title(url: str | None) -> str | None:
    """The words of a news URL's last part that reads as words ("…/gas-prices-five-dollars-national-june/index.html")."""
    parts = re.split(r"[/?#]", (url or "").split("://", 1)[-1])[1:]
    named = [p for p in parts if len(re.findall(r"[A-Za-z]{2,}", p)) >= 3]
    if not named:
        return None
    words = re.sub(r"\.\w+$", "", named[-1]).replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def is_furniture(line: str) -> bool:
    """A line of page furniture, never evidence nor a title: a dateline, a caption, a link, a section head."""
    line = line.strip()
    return bool(line) and any(p.search(line) for p in (DATELINE, FURNITURE, SECTION_HEAD))


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
