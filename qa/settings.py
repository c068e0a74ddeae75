"""One Settings value; every field can be overridden from the environment as QA_<NAME>."""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SettingsError
from .types import Chunking

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
    # Empty: the packaged models of the profile. Otherwise a hub id, a model folder or a .gguf file that does
    # all the model's work.
    llm: str = ""
    # Which packaged model writes the answers and which judges answerability and checks each answer:
    # mixed = 0.5B writes and 1.5B judges and checks, fast = 0.5B for both, accurate = 1.5B for both.
    profile: str = "mixed"
    # auto: ctranslate2 for the packaged model, transformers for a model named in `llm`.
    backend: str = "auto"
    cache: Path = field(default_factory=_default_cache)
    # Where the index lives: "faiss" (files in the index folder), "milvus-lite" (a Milvus Lite file there, for one
    # process) or a Milvus server holding all of it: milvus://HOST:PORT[/NAME] or http(s)://HOST:PORT[/NAME].
    vector_store: str = "faiss"
    milvus_token: str = field(default="", repr=False)  # a Milvus server's "user:password" or API key
    threads: int = 2
    chunk_chars: int = 700
    chunk_overlap_chars: int = 150
    k: int = 4
    candidates: int = 30  # per retriever, before fusion
    prompt_sentences: int = 5  # evidence sentences sent to the model: prefill time is the cost
    max_new_tokens: int = 60
    # Below this evidence relevance (similarity + word coverage) the question is off-topic: abstain at once.
    relevance_floor: float = 0.3
    # Answerability log-odds below which it abstains; None: the judge model's calibrated default (qa/calibration).
    abstain_threshold: float | None = None
    # Log-odds of the answer check an answer sentence needs; None: the judge model's calibrated default.
    check_threshold: float | None = None
    max_question_chars: int = 2000
    max_article_bytes: int = 5_000_000  # a file, or a fetched page
    url_timeout_s: float = 20.0  # fetching a page by URL
    feedback: Path | None = None  # default: <index>/feedback.jsonl

    def __post_init__(self) -> None:
        """Every value is checked when the settings are made, before anything loads: a value that would make
        every question abstain in silence (QA_K=0) or a misspelled choice is one line naming the variable."""
        _profile(self.profile)
        _choose("backend", self.backend, BACKENDS)
        _check_store(self.vector_store)
        for name in ("threads", "chunk_chars", "k", "candidates", "prompt_sentences", "max_new_tokens",
                     "max_question_chars", "max_article_bytes"):
            _at_least(name, getattr(self, name), 1)
        _at_least("url_timeout_s", self.url_timeout_s, 0.001)
        _at_least("chunk_overlap_chars", self.chunk_overlap_chars, 0)
        if self.chunk_overlap_chars >= self.chunk_chars:
            raise SettingsError(f"QA_CHUNK_OVERLAP_CHARS must be less than QA_CHUNK_CHARS ({self.chunk_chars}); "
                                f"got {self.chunk_overlap_chars}")

    @property
    def reader(self) -> str:
        """The model that writes answers: the profile's packaged one, or the user's own (QA_LLM), by name."""
        return own_model(self.llm) or _profile(self.profile)[0]

    @property
    def judge(self) -> str:
        """The model that judges answerability and checks answers (the user's own does all the work)."""
        return own_model(self.llm) or _profile(self.profile)[1]

    @property
    def chunking(self) -> Chunking:
        return Chunking(self.chunk_chars, self.chunk_overlap_chars)

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


PROFILES = {"fast": ("qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b"),
            "mixed": ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"),
            "accurate": ("qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b")}


BACKENDS = ("auto", "ctranslate2", "transformers")
STORES = ("faiss", "milvus-lite")
STORE_SCHEMES = ("milvus", "http", "https", "tcp")


def own_model(llm: str) -> str:
    """A user's model (hub id, folder or file) as a name its calibration file can carry."""
    return re.sub(r"[^a-z0-9.]+", "-", llm.lower()).strip("-")


def _profile(name: str) -> tuple[str, str]:
    _choose("profile", name, tuple(PROFILES))
    return PROFILES[name]


def _choose(field_name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SettingsError(f"QA_{field_name.upper()} must be one of {', '.join(choices)}; got {value!r}")


def _at_least(field_name: str, value: float, least: float) -> None:
    if value < least:
        raise SettingsError(f"QA_{field_name.upper()} must be at least {least:g}; got {value!r}")


def _check_store(value: str) -> None:
    """faiss, milvus-lite, or the address of a Milvus server: a misspelled name is not taken for an address."""
    from urllib.parse import urlsplit

    if value in STORES:
        return
    parts = urlsplit(value)
    if parts.scheme not in STORE_SCHEMES or not parts.netloc or not re.fullmatch(r"[A-Za-z0-9_]*", parts.path.strip("/")):
        raise SettingsError(f"QA_VECTOR_STORE must be {' or '.join(STORES)}, or a Milvus server as "
                            f"milvus://HOST:PORT[/NAME] (NAME: letters, digits, _); got {value!r}")


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
