"""Small deterministic fakes, so most tests run in milliseconds without the real models."""
from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import numpy as np
import pytest

from qa import pipeline
from qa.answering import answerer
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
        """Log-odds from how much of the question the passage covers: 2·coverage − 1. Checking an answer, how
        much of the answer the passage covers, if the two touch the question at all; an answer that denies
        what the passage does not is wrong."""
        passage = re.search(r"Passage: (.*?)\n", prompt.user + "\n").group(1)
        statement = re.search(r"Statement: (.*?)(\n|$)", prompt.user)
        if statement is not None:  # does the passage state it: how much of it the passage covers
            return 2 * FakeGenerator._covered(statement.group(1), passage) - 1
        question = re.search(r"Question: (.*?)(\n|$)", prompt.user).group(1)
        claim = re.search(r"Answer: (.*?)(\n|$)", prompt.user)
        if claim is None:
            return 2 * FakeGenerator._covered(question, passage) - 1
        if re.search(r"\bnot\b", claim.group(1)) and not re.search(r"\bnot\b", passage):
            return -3.0
        if not FakeGenerator._covered(question, f"{passage} {claim.group(1)}"):
            return -1.0
        return 2 * FakeGenerator._covered(claim.group(1), passage) - 1

    @staticmethod
    def _covered(text, passage):
        wanted, have = set(content_stems(text)), set(content_stems(passage))
        return len(wanted & have) / max(len(wanted), 1)

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


@pytest.fixture(autouse=True)
def logging_as_it_was():
    """`qa` run in-process sets up logging to the stderr pytest captured for that test, a stream that is closed
    once the test ends: later tests would log into it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def fake_embedder(monkeypatch):
    embedder = FakeEmbedder()
    def load(settings):
        return embedder if settings.embedder == embedder.id else FakeEmbedder(settings.embedder)

    monkeypatch.setattr(pipeline, "embedder_for", load)  # the index writer's
    monkeypatch.setattr(answerer, "load_embedder", load)
    return embedder


@pytest.fixture
def fake_generator(monkeypatch):
    generator = FakeGenerator()
    monkeypatch.setattr(answerer, "load_writer", lambda settings: generator)
    monkeypatch.setattr(answerer, "load_judge", lambda settings: generator)
    return generator


@pytest.fixture
def settings(tmp_path, fake_embedder, fake_generator) -> Settings:
    pipeline.forget_answerers()
    return Settings(index=tmp_path / "index", embedder=FakeEmbedder.id, cache=tmp_path / "cache",
                    relevance_floor=0.2, abstain_threshold=-0.5, check_threshold=0.0, profile="fast")


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load_index(directory: Path, settings: Settings | None = None):
    """The index in `directory` as the fake embedder and the settings' chunking read it."""
    return load(directory, FakeEmbedder.id, (settings or Settings()).chunking)


@pytest.fixture
def bundled(settings) -> Settings:
    """An index folder holding the bundled article in its articles/ folder, synced as `make run` does."""
    write(settings.index / "articles" / ARTICLE.name, ARTICLE.read_text())
    pipeline.sync_bundled(settings)
    return settings


def tiny_eval_file(tmp_path: Path) -> Path:
    """A seed_dev-format eval file asked of one small article: one answerable question, one not."""
    import json

    write(tmp_path / "news" / "ferry.txt", "The city council of Bergen voted on Tuesday to buy nine electric ferries "
                                           "from the Dutch shipyard Damen.\n\nThe first ferry will arrive in 2027.")
    return write(tmp_path / "questions.json", json.dumps({"articles": "news", "questions": [
        {"id": "a", "question": "How many electric ferries will Bergen buy?", "answers": ["nine"],
         "support": "nine electric ferries"},
        {"id": "u", "question": "How much will the ferries cost?", "answers": []}]}))
