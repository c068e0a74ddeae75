"""The index: `store` (where it lives: a folder, or Milvus), `layout` (manifest and format), `reader` (a folder's
generation, loaded; never writes), `search` (dense + BM25 over it), `writer` (the identity rules, under the store's
lock; commits atomic generations), `vectors` (the folder's FAISS files), `milvus` (everything in the engine)."""
from .layout import FORMAT_VERSION, ArticleRecord, Chunking, Manifest, read_manifest
from .reader import LoadedIndex, load
from .store import FolderStore, Milvus, open_store, scoped
from .writer import Change, Duplicate, IndexWriter

__all__ = ["FORMAT_VERSION", "ArticleRecord", "Change", "Chunking", "Duplicate", "FolderStore", "IndexWriter",
           "LoadedIndex", "Manifest", "Milvus", "load", "open_store", "read_manifest", "scoped"]
