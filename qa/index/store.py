"""Where an index lives: a folder (FAISS + BM25 files, the default for one machine) or Milvus (everything in the
engine, for more than one). Both answer the same few questions: which generation is live, open it for reading,
lock for writing, commit a new generation atomically."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from ..types import Chunking
from .layout import Manifest, check_compatible, read_manifest
from .milvus import MilvusStore, parse
from .reader import LoadedIndex, load, load_files

FAISS = "faiss"
MILVUS_LITE = "milvus-lite"


class FolderStore:
    """The index folder: manifest.json names the live generation's files; a file lock serialises writers."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    @property
    def where(self) -> str:
        return f"folder {self.directory} (FAISS and BM25 files)"

    def head(self) -> int | None:
        manifest = read_manifest(self.directory)
        return None if manifest is None else manifest.generation

    def current(self) -> Manifest | None:
        return read_manifest(self.directory)

    def open(self, embedder_id: str, chunking: Chunking) -> LoadedIndex:
        return load(self.directory, embedder_id, chunking)

    def open_any(self, manifest: Manifest) -> LoadedIndex:
        """The generation whatever embedder or chunking built it (a rebuild reads only its texts)."""
        return load_files(self.directory, manifest)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        from .writer import write_lock

        with write_lock(self.directory):
            yield

    def commit(self, contents, embedder_id: str, dimension: int, chunking: Chunking, previous: Manifest | None,
               progress=None) -> Manifest:
        from .writer import write_generation

        return write_generation(self.directory, contents, embedder_id, dimension, chunking, previous)


class Milvus(MilvusStore):
    """A MilvusStore that answers like a FolderStore."""

    def head(self) -> str | None:
        return self.live()

    def open(self, embedder_id: str, chunking: Chunking):
        manifest = self.current()
        if manifest is None:
            from ..errors import IndexMissingError

            raise IndexMissingError(f"no index in {self.where} yet; add articles with `qa index add PATH`")
        check_compatible(manifest, embedder_id, chunking, self.where)
        return self.generation(manifest)

    def open_any(self, manifest: Manifest):
        return self.generation(manifest)


def scoped(setting: str, name: str) -> str:
    """The store setting of an index of its own beside this one (an eval set's articles): a folder store names it by
    its folder; on a Milvus server it is a second index named `name`."""
    if setting in (FAISS, MILVUS_LITE):
        return setting
    uri, _ = parse(setting)
    return f"{uri}/{name}"


def open_store(directory: Path, setting: str = FAISS, token: str = "") -> FolderStore | Milvus:
    """QA_VECTOR_STORE: `faiss` (the folder), `milvus-lite` (a Milvus Lite file in the folder, one process at a
    time) or a Milvus server, `milvus://HOST:PORT[/NAME]` or `http(s)://HOST:PORT[/NAME]`."""
    if setting == FAISS:
        return FolderStore(directory)
    if setting == MILVUS_LITE:
        return Milvus(str(Path(directory) / "milvus.db"), "qa_index")
    uri, name = parse(setting)
    return Milvus(uri, name, token)
