"""The index folder on disk: the manifest that names the current generation, and what it records."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import IndexMismatchError
from ..types import Chunking

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
LOCK = ".lock"


@dataclass(frozen=True)
class ArticleRecord:
    id: str
    title: str
    hash: str
    chunks: int
    text_file: str
    date: str | None = None
    source: str | None = None
    url: str | None = None
    origin: str = ""
    author: str | None = None
    tags: tuple[str, ...] = ()
    text_hash: str = ""


@dataclass(frozen=True)
class Manifest:
    format_version: int
    embedder: str
    dimension: int
    generation: int
    vectors: str
    chunks: str
    articles: tuple[ArticleRecord, ...]
    chunking: Chunking | None = None
    removed: tuple[str, ...] = ()  # origins of bundled articles a user removed: never re-added automatically
    vector_store: str = "faiss"  # where it lives: "faiss" (this folder) or the Milvus server's address

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data = json.loads(text)
        data["articles"] = tuple(ArticleRecord(**{**a, "tags": tuple(a.get("tags", ()))}) for a in data["articles"])
        data["removed"] = tuple(data.get("removed", ()))
        data["chunking"] = Chunking(**data["chunking"]) if data.get("chunking") else None
        return cls(**data)


def read_manifest(directory: Path) -> Manifest | None:
    path = directory / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return Manifest.from_json(text)
    except (ValueError, TypeError, KeyError) as exc:
        raise IndexMismatchError(f"{path} is unreadable ({exc}); run `qa index rebuild`") from exc


def check_compatible(manifest: Manifest, embedder_id: str, chunking: Chunking, directory: Path) -> None:
    """An index is read only with the embedder and chunking it was built with; anything else mixes two
    kinds of vectors or chunks, so the fix is one command."""
    rebuild = f"run `qa index rebuild --index {directory}`"
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(f"index at {directory} has format {manifest.format_version}, this version reads "
                                 f"{FORMAT_VERSION}; {rebuild}")
    if manifest.embedder != embedder_id:
        raise IndexMismatchError(f"index at {directory} was built with embedder '{manifest.embedder}', settings ask "
                                 f"for '{embedder_id}'; {rebuild}")
    if manifest.chunking != chunking:
        built = f"{manifest.chunking.chars}/{manifest.chunking.overlap_chars}" if manifest.chunking else "unknown"
        raise IndexMismatchError(f"index at {directory} was chunked with size/overlap {built} characters, settings "
                                 f"ask for {chunking.chars}/{chunking.overlap_chars}; {rebuild}")
