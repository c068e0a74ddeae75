"""Small deterministic fakes, so most tests run in milliseconds without the real models."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from qa import pipeline
from qa.index import load
from qa.lexical import content_stems
from qa.settings import Settings

ARTICLE = Path(__file__).resolve().parent.parent / "index" / "articles" / "c5-summit-critical-minerals.txt"


class FakeEmbedder:
    """Bag of hashed word stems: texts that share words are close, others are not."""

    id = "fake-hash-embedder"
    dimension = 256

    def __init__(self, name: str = id):
        self.id = name
        self.calls = 0

    def encode(self, texts, progress=False):
        self.calls += 1
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for stem in content_stems(text):
                out[row, int(hashlib.md5(stem.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


class FakeGenerator:
    """Answers like a good model would: the shown sentence sharing most words with the question, cited,
    unless given a script (a function from the prompt to the text)."""

    def __init__(self, script=None):
        self.script = script
        self.prompts = []

    def stream(self, prompt, max_new_tokens):
        self.prompts.append(prompt)
        text = self.script(prompt) if self.script else self._echo(prompt)
        yield from re.findall(r"\S+\s*", text)

    def judge(self, prompts):
        return [self._judge(p) for p in prompts]

    @staticmethod
    def _judge(prompt):
        """Log-odds from how much of the question the passage covers: 2·coverage − 1."""
        passage = re.search(r"Passage: (.*?)\n", prompt.user + "\n").group(1)
        question = re.search(r"Question: (.*?)(\n|$)", prompt.user).group(1)
        wanted, have = set(content_stems(question)), set(content_stems(passage))
        return 2 * len(wanted & have) / max(len(wanted), 1) - 1

    @staticmethod
    def _echo(prompt):
        question = set(content_stems(prompt.user.rsplit("Question:", 1)[-1]))
        best, best_overlap = "Nothing.", 0
        for number, text in re.findall(r"^\[(\d+)\] (.+)$", prompt.user, re.M):
            for sentence in re.split(r"(?<=[.!?])\s+", text):
                overlap = len(question & set(content_stems(sentence)))
                if overlap > best_overlap:
                    best, best_overlap = f"{sentence.rstrip('.')} [{number}].", overlap
        return best


@pytest.fixture
def fake_embedder(monkeypatch):
    embedder = FakeEmbedder()
    monkeypatch.setattr(pipeline, "embedder_for",
                        lambda settings: embedder if settings.embedder == embedder.id else FakeEmbedder(settings.embedder))
    return embedder


@pytest.fixture
def fake_generator(monkeypatch):
    generator = FakeGenerator()
    monkeypatch.setattr(pipeline, "generator_for", lambda settings: generator)
    return generator


@pytest.fixture
def settings(tmp_path, fake_embedder, fake_generator) -> Settings:
    pipeline._cache.clear()
    return Settings(index=tmp_path / "index", embedder=FakeEmbedder.id, cache=tmp_path / "cache",
                    relevance_floor=0.2, abstain_threshold=-0.5)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load_index(directory: Path, settings: Settings | None = None):
    """The index in `directory` as the fake embedder and the settings' chunking read it."""
    return load(directory, FakeEmbedder.id, pipeline.chunking(settings or Settings()))


@pytest.fixture
def bundled(settings) -> Settings:
    """An index folder holding the bundled article in its articles/ folder, synced as `make run` does."""
    write(settings.index / "articles" / ARTICLE.name, ARTICLE.read_text())
    pipeline.sync_bundled(settings)
    return settings
