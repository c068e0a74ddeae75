"""Web pages by URL: fetched with a timeout, a size cap and a clear user agent, then read as HTML."""
from __future__ import annotations

import logging
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urldefrag, urlsplit

from ..errors import ArticleError
from ..types import Article
from .html import parse_html
from .text import decode, slugify

USER_AGENT = "news-qa/0.1 (offline news question answering; fetches one page per request)"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_BLOCK = 1 << 16
log = logging.getLogger(__name__)


def is_url(item: str) -> bool:
    """Meant as a web address (a malformed one included, so that it is refused as a URL, not as a file)."""
    return item.strip().lower().startswith(("http://", "https://"))


def _checked(url: str) -> str:
    """The URL without its fragment, or one line saying why it is not one: a space or a control character
    (a browser would have escaped it), a malformed host."""
    bad = next((c for c in url if c.isspace() or ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise ArticleError(f"{url}: not a valid URL (it contains {bad!r}; escape it, e.g. a space as %20)")
    try:
        parts = urlsplit(urldefrag(url).url)
        host = parts.hostname
    except ValueError as exc:
        raise ArticleError(f"{url}: not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ArticleError(f"{url}: not an http(s) URL")
    return parts.geturl()


def url_id(url: str) -> str:
    parts = urlsplit(url)
    return slugify(f"{parts.hostname or ''}{parts.path}".removesuffix(".html").removesuffix(".htm"))


def fetch_article(url: str, timeout_s: float, max_bytes: int) -> Article:
    url = _checked(url.strip())
    data, charset = _download(url, timeout_s, max_bytes)
    raw = data.decode(charset, errors="replace") if charset else decode(data, url)
    return parse_html(raw, url_id(url), url, url)


def _download(url: str, timeout_s: float, max_bytes: int) -> tuple[bytes, str | None]:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html,*/*;q=0.5"})
    log.info("fetching %s", url)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            kind = response.headers.get_content_type()
            if kind not in _HTML_TYPES:
                raise ArticleError(f"{url}: the page is {kind}, not HTML")
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > max_bytes:
                raise ArticleError(f"{url}: {declared:,} bytes is over the {max_bytes:,}-byte limit")
            return _read_capped(response, url, timeout_s, max_bytes), response.headers.get_content_charset()
    except urllib.error.HTTPError as exc:
        raise ArticleError(f"{url}: the server answered {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (socket.timeout, TimeoutError)):
            raise ArticleError(f"{url}: no answer within {timeout_s:g} s") from exc
        raise ArticleError(f"{url}: cannot fetch ({exc.reason})") from exc
    except (socket.timeout, TimeoutError) as exc:
        raise ArticleError(f"{url}: no answer within {timeout_s:g} s") from exc


def _read_capped(response, url: str, timeout_s: float, max_bytes: int) -> bytes:
    """The socket timeout covers each read; the deadline covers a server that trickles bytes forever."""
    deadline = time.monotonic() + timeout_s
    data = bytearray()
    while block := response.read(_BLOCK):
        data += block
        if len(data) > max_bytes:
            raise ArticleError(f"{url}: the page is over the {max_bytes:,}-byte limit")
        if time.monotonic() > deadline:
            raise ArticleError(f"{url}: no complete answer within {timeout_s:g} s")
    return bytes(data)
