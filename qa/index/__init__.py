"""The index folder: `layout` (manifest and format), `reader` (load; never writes), `writer` (locked,
atomic generations) and `vectors` (FAISS or Milvus back-ends)."""
from .layout import FORMAT_VERSION, ArticleRecord, Chunking, Manifest, read_manifest
from .reader import LoadedIndex, load
from .writer import Change, Duplicate, IndexWriter

__all__ = ["FORMAT_VERSION", "ArticleRecord", "Change", "Chunking", "Duplicate", "IndexWriter", "LoadedIndex",
           "Manifest", "load", "read_manifest"]
