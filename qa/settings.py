"""One Settings value; every field can be overridden from the environment as QA_<NAME>."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SettingsError

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGED_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa"


@dataclass(frozen=True)
class Settings:
    index: Path = PROJECT_DIR / "index"
    # An embedder id/path for sentence-transformers; the default comes from a package, offline.
    embedder: str = PACKAGED_EMBEDDER
    # Empty: the packaged Qwen2.5-Coder-0.5B-Instruct GGUF. Otherwise a hub id, a model folder or a .gguf file.
    llm: str = ""
    # auto: ctranslate2 for the packaged model, transformers for a model named in `llm`.
    backend: str = "auto"
    cache: Path = field(default_factory=_default_cache)
    # "faiss" (files in the index folder), "milvus-lite" (a Milvus Lite database there) or a Milvus server URI.
    vector_store: str = "faiss"
    threads: int = 2
    chunk_chars: int = 700
    chunk_overlap_chars: int = 150
    k: int = 4
    candidates: int = 30  # per retriever, before fusion
    prompt_sentences: int = 5  # evidence sentences sent to the model: prefill time is the cost
    max_new_tokens: int = 60
    # Below this evidence relevance (similarity + word coverage) the question is off-topic: abstain at once.
    relevance_floor: float = 0.3
    # Answerability (log-odds, see grounding.answerability) below which it abstains. From `qa eval`:
    # seed_dev's answerable questions score -0.44 and up, its unanswerable ones -0.65 and down; on
    # squad_v2_dev15 (200 questions, adversarial unanswerables) -0.5 answers 64 % of answerable questions
    # right and abstains on 52 % of unanswerable ones; -0.2 gives 60 % / 61 %, 0.0 59 % / 73 %.
    abstain_threshold: float = -0.5
    max_question_chars: int = 2000
    max_article_bytes: int = 5_000_000  # a file, or a fetched page
    url_timeout_s: float = 20.0  # fetching a page by URL
    feedback: Path | None = None  # default: <index>/feedback.jsonl

    @property
    def feedback_path(self) -> Path:
        return self.feedback or self.index / "feedback.jsonl"

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Settings from QA_<NAME> variables; a bad value names the variable and the form it needs."""
        values = {}
        for f in dataclasses.fields(cls):
            name = f"QA_{f.name.upper()}"
            raw = os.environ.get(name)
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(name, f.type, raw.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("index", "cache", "feedback"):
            if isinstance(values.get(name), str):
                values[name] = Path(values[name])
        return cls(**values)


_FORMS = {"int": (int, "a whole number, e.g. 4"), "float": (float, "a number, e.g. 0.5")}


def _parse(name: str, type_name: str, raw: str):
    if "Path" in type_name:
        return Path(raw).expanduser()
    kind = next((k for k in _FORMS if type_name.startswith(k)), None)
    if kind is None:
        return raw
    convert, form = _FORMS[kind]
    try:
        value = convert(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {form}; got {raw!r}") from None
    if value != value or abs(value) == float("inf") or (kind == "int" and value < 0):
        raise SettingsError(f"{name} must be {form}{' and not negative' if kind == 'int' else ''}; got {raw!r}")
    return value
