import numpy as np

from qa import embedding
from qa.embedding import encode_cached

from .conftest import FakeEmbedder


class Counting(FakeEmbedder):
    def __init__(self, name):
        super().__init__(name)
        self.texts = []

    def encode(self, texts, progress=False):
        self.texts += list(texts)
        return super().encode(texts, progress)


def test_each_text_is_embedded_once_per_embedder():
    first, other = Counting("cache-test-a"), Counting("cache-test-b")
    a = encode_cached(first, ["Boeing sells aircraft.", "The fund keeps 30%."])
    b = encode_cached(first, ["The fund keeps 30%.", "Boeing sells aircraft.", "Boeing sells aircraft."])
    assert first.texts == ["Boeing sells aircraft.", "The fund keeps 30%."]
    assert np.array_equal(a[::-1], b[:2]) and np.array_equal(b[1], b[2])
    encode_cached(other, ["Boeing sells aircraft."])
    assert other.texts == ["Boeing sells aircraft."]  # another embedder's vectors are its own


def test_the_cache_keeps_the_most_recently_used(monkeypatch):
    monkeypatch.setattr(embedding, "CACHED_VECTORS", 2)
    monkeypatch.setattr(embedding, "_vectors", embedding.OrderedDict())
    counting = Counting("cache-test-c")
    encode_cached(counting, ["one", "two"])
    encode_cached(counting, ["one"])
    encode_cached(counting, ["three"])  # evicts "two", the least recently used
    encode_cached(counting, ["one", "two"])
    assert counting.texts == ["one", "two", "three", "two"]
