"""HTML, from a file or a fetched page: trafilatura keeps the article and drops navigation and boxes."""
from __future__ import annotations

from ..errors import ArticleError
from ..types import Article
from .text import make_article

_SENTENCE_WORDS = 6


def parse_html(raw: str, article_id: str, origin: str, url: str | None = None) -> Article:
    import trafilatura
    from trafilatura.settings import set_date_params

    # Only a date the page declares: the extensive search guesses one from any year in the text ("bleached
    # in 2024" became 2024-01-01), and dates order conflicting sources.
    doc = trafilatura.bare_extraction(raw, url=url, with_metadata=True, include_comments=False,
                                      include_tables=True, date_extraction_params=set_date_params(extensive=False))
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not _has_prose(text):
        raise ArticleError(f"{origin}: no article text found in the HTML (only links or menus?)")
    tags = tuple(t.strip() for t in (doc.tags or []) if t.strip()) if isinstance(doc.tags, list) else ()
    return make_article(article_id, text, doc.title, doc.date, doc.sitename, url or doc.url, origin,
                        doc.author, tags)


def _has_prose(text: str) -> bool:
    """trafilatura falls back to any text at all; an article has at least one sentence, a menu has none."""
    return any(len(line.split()) >= _SENTENCE_WORDS and line.rstrip().endswith((".", "!", "?", '"', "”"))
               for line in text.splitlines())
