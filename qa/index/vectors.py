"""A folder index's chunk vectors: one FAISS file per generation, exact below HNSW_MIN_CHUNKS chunks, HNSW above.
(An index in Milvus keeps its vectors in the engine: index/milvus.py.)"""
from __future__ import annotations

from pathlib import Path

import numpy as np

# Below this many chunks exact search is fast enough; above it HNSW keeps search in milliseconds.
# bench/bench.py measures both at 10^5 chunks: a small efSearch loses recall, this one keeps it within a point.
HNSW_MIN_CHUNKS = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 1024


def build_faiss(vectors: np.ndarray, dimension: int):
    import faiss

    if len(vectors) >= HNSW_MIN_CHUNKS:
        return build_faiss_hnsw(vectors)
    index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def build_faiss_hnsw(vectors: np.ndarray):
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def save(directory: Path, generation: int, vectors: np.ndarray, dimension: int, atomic_write) -> str:
    """Write one generation's vectors; returns the file name the manifest keeps."""
    import faiss

    name = f"vectors-{generation}.faiss"
    atomic_write(directory / name, lambda tmp: faiss.write_index(build_faiss(vectors, dimension), tmp))
    return name


def open_vectors(directory: Path, ref: str):
    import faiss

    path = directory / ref
    if not path.exists():
        raise FileNotFoundError(path)
    index = faiss.read_index(str(path))
    if hasattr(index, "hnsw"):  # a search-time setting: apply the current one, not the one saved
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index
