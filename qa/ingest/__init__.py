"""Every way news arrives, read into one Article: text, Markdown, HTML and PDF files, folders of them,
and web pages by URL. `text` holds what every reader shares; `sources` picks the reader."""
from .sources import SUFFIXES, FileSource, Skipped, file_sources, load_sources, load_uploads, parse_bytes
from .text import HEADING, make_article, normalise, slugify, text_hash
from .web import is_url

__all__ = ["SUFFIXES", "HEADING", "FileSource", "Skipped", "file_sources", "is_url", "load_sources", "load_uploads",
           "make_article", "normalise", "parse_bytes", "slugify", "text_hash"]
