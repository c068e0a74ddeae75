"""Markdown: YAML front matter for the metadata, markdown-it for the text. Markup never reaches a quote."""
from __future__ import annotations

import re

from ..errors import ArticleError
from ..types import Article
from .text import make_article

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_BLOCKS = {"paragraph_open", "heading_open", "fence", "code_block", "th_open", "td_open", "html_block"}


def parse_markdown(raw: str, article_id: str, origin: str) -> Article:
    meta, body = front_matter(raw.lstrip("\ufeff"), origin)
    tags = meta.get("tags") or ()
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    return make_article(article_id, to_text(body), _text(meta.get("title")), meta.get("date"),
                        _text(meta.get("source")), _text(meta.get("url")), origin, _text(meta.get("author")),
                        tuple(str(t) for t in tags if str(t).strip()))


def _text(value) -> str | None:
    return None if value is None else str(value)


def front_matter(raw: str, origin: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(raw)
    if not match:
        return {}, raw
    import yaml

    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise ArticleError(f"{origin}: the front matter is not valid YAML{where}") from exc
    if not isinstance(meta, dict):
        raise ArticleError(f"{origin}: the front matter must be 'key: value' lines")
    return {str(k).lower(): v for k, v in meta.items()}, raw[match.end():]


def to_text(body: str) -> str:
    """Each block on its own paragraph; headings keep their '#' so they are never taken as evidence."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(body)
    blocks: list[str] = []
    for i, token in enumerate(tokens):
        if token.type == "inline":
            opener = tokens[i - 1]
            text = _inline(token.children or [])
            if opener.type == "heading_open":
                text = f"{opener.markup} {text}"
            elif opener.type == "paragraph_open" and _in_list(tokens, i):
                text = f"- {text}"
            blocks.append(text)
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.rstrip("\n"))
    return "\n\n".join(b for b in blocks if b.strip())


def _in_list(tokens, i: int) -> bool:
    return i >= 2 and tokens[i - 2].type == "list_item_open"


def _inline(children) -> str:
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(_inline(child.children or []))
    return "".join(parts)
