"""Local model backends: a Prompt in, a stream of text pieces out (greedy decoding)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from .errors import ModelError
from .models import packaged, packaged_ctranslate2, packaged_gguf
from .progress import bars
from .prompts import Prompt
from .settings import Settings


class Generator(Protocol):
    def stream(self, prompt: Prompt, max_new_tokens: int) -> Iterator[str]: ...

    def judge(self, prompts: list[Prompt]) -> list[float]:
        """For each prompt, log-odds that the model's reply starts with Yes rather than No (no generation)."""


YES = ("Yes", "yes", "ĠYes", "▁Yes")
NO = ("No", "no", "ĠNo", "▁No")


def _ids(tokenizer, tokens: tuple[str, ...]) -> list[int]:
    unknown = tokenizer.unk_token_id
    return sorted({i for i in tokenizer.convert_tokens_to_ids(list(tokens)) if i is not None and i != unknown})


def yes_no_log_odds(logits, tokenizer) -> float:
    import numpy as np

    last = np.asarray(logits, dtype=np.float64)
    return float(np.logaddexp.reduce(last[_ids(tokenizer, YES)]) - np.logaddexp.reduce(last[_ids(tokenizer, NO)]))


def _chat_ids(tokenizer, prompt: Prompt) -> list[int]:
    ids = tokenizer.apply_chat_template(prompt.messages(), add_generation_prompt=True, tokenize=True)
    if hasattr(ids, "keys"):  # newer transformers return a BatchEncoding
        ids = ids["input_ids"]
    return list(ids)


class _IncrementalDecoder:
    """Decoding token by token splits multi-byte characters; decode the whole tail and emit the difference."""

    def __init__(self, tokenizer):
        self.tokenizer, self.ids, self.text = tokenizer, [], ""

    def push(self, token_id: int) -> str:
        self.ids.append(token_id)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):
            return ""
        piece, self.text = text[len(self.text):], text
        return piece


class CTranslate2Generator:
    def __init__(self, model_dir: Path, tokenizer_dir: Path, threads: int):
        import ctranslate2
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
        self.model = ctranslate2.Generator(str(model_dir), device="cpu", compute_type="int8",
                                           intra_threads=threads, inter_threads=1)
        self.end_ids = sorted({i for i in (self.tokenizer.eos_token_id,
                                           self.tokenizer.convert_tokens_to_ids("<|im_end|>")) if i is not None})

    def prompt_tokens(self, prompt: Prompt) -> list[str]:
        return self.tokenizer.convert_ids_to_tokens(_chat_ids(self.tokenizer, prompt))

    def split_static(self, prompt: Prompt) -> tuple[list[str], list[str]]:
        """(instruction prefix, the rest): the prefix — system text and worked example — is the same for
        every question, so CTranslate2 keeps its model state and only the passages are read anew."""
        tokens = self.prompt_tokens(prompt)
        turns = prompt.messages()[:-1]
        ids = self.tokenizer.apply_chat_template(turns, tokenize=True)
        prefix = self.tokenizer.convert_ids_to_tokens(list(ids["input_ids"] if hasattr(ids, "keys") else ids))
        if tokens[:len(prefix)] != prefix:
            return [], tokens
        return prefix, tokens[len(prefix):]

    def judge(self, prompts: list[Prompt]) -> list[float]:
        import numpy as np

        # One batch: cheaper than the phrasings one after the other.
        tokens = [self.prompt_tokens(p) for p in prompts]
        logits = np.asarray(self.model.forward_batch(tokens))
        return [yes_no_log_odds(logits[i, len(t) - 1], self.tokenizer) for i, t in enumerate(tokens)]

    def stream(self, prompt: Prompt, max_new_tokens: int) -> Iterator[str]:
        decoder = _IncrementalDecoder(self.tokenizer)
        static, rest = self.split_static(prompt)
        for step in self.model.generate_tokens(rest, max_length=max_new_tokens, sampling_topk=1,
                                               end_token=self.end_ids, static_prompt=static or None):
            if step.token_id in self.end_ids:
                break
            piece = decoder.push(step.token_id)
            if piece:
                yield piece


class TransformersGenerator:
    """The reference backend, and the one a user's own hub id, model folder or .gguf file goes through."""

    def __init__(self, name: str, threads: int):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        path = Path(name).expanduser()
        kwargs = {"gguf_file": path.name} if path.suffix == ".gguf" else {}
        source = str(path.parent) if kwargs else name
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            self.model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, **kwargs)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load model '{name}': {str(exc).splitlines()[0]}") from exc
        self.model.eval()

    def stream(self, prompt: Prompt, max_new_tokens: int) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        ids = torch.tensor([_chat_ids(self.tokenizer, prompt)])
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                      do_sample=False, streamer=streamer, pad_token_id=self.tokenizer.eos_token_id)
        worker = threading.Thread(target=self._generate, kwargs=kwargs, daemon=True)
        worker.start()
        yield from (piece for piece in streamer if piece)
        worker.join()

    def judge(self, prompts: list[Prompt]) -> list[float]:
        import torch

        odds = []
        for prompt in prompts:
            ids = torch.tensor([_chat_ids(self.tokenizer, prompt)])
            with torch.inference_mode():
                logits = self.model(input_ids=ids).logits[0, -1]
            odds.append(yes_no_log_odds(logits.float().numpy(), self.tokenizer))
        return odds

    def _generate(self, **kwargs) -> None:
        import torch

        with torch.inference_mode():
            self.model.generate(**kwargs)


def get_generator(llm: str, backend: str, cache: Path, threads: int, model_key: str = "qwen2.5-coder-0.5b") -> Generator:
    """`llm` (a hub id, folder or .gguf file) if set, else the packaged model `model_key`, loaded now; callers
    share one through answering.Models."""
    if backend == "auto":
        backend = "transformers" if llm else "ctranslate2"
    if backend == "transformers":
        return TransformersGenerator(llm or str(packaged_gguf(cache, bars(), packaged(model_key))), threads)
    if backend == "ctranslate2":
        if llm:
            raise ModelError("the ctranslate2 backend runs the packaged models only; use QA_BACKEND=transformers")
        model_dir, tokenizer_dir = packaged_ctranslate2(cache, bars(), packaged(model_key))
        return CTranslate2Generator(model_dir, tokenizer_dir, threads)
    raise ModelError(f"unknown backend '{backend}': use auto, ctranslate2 or transformers")


def generator_for(settings: Settings) -> Generator:
    """The model that writes answers."""
    return get_generator(settings.llm, settings.backend, settings.cache, settings.threads, settings.reader)


def judge_for(settings: Settings) -> Generator:
    """The model that judges answerability and checks each answer sentence."""
    return get_generator(settings.llm, settings.backend, settings.cache, settings.threads, settings.judge)
