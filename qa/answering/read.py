"""Read: the evidence numbered into a prompt, and the writer model's draft, streamed as it is written."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .. import prompts
from ..generation import Generator
from ..types import Query
from .evidence import Evidence


@dataclass(frozen=True)
class Draft:
    prompt: prompts.Prompt
    text: str  # with the model's [n] markers, unverified


def write(writer: Generator, query: Query, evidence: Evidence, max_new_tokens: int) -> Iterator[str]:
    """Yields the draft's pieces as the model writes them; returns the Draft (`draft = yield from write(…)`)."""
    prompt = prompts.build(query.question, [s.passage.text for s in evidence.shown], query.earlier)
    text = ""
    for piece in writer.stream(prompt, max_new_tokens):
        text += piece
        yield piece
    return Draft(prompt, text)
