"""On-demand benchmark (never part of the tests): one run prints a table of the pipeline's speed
against its own parts on this machine. `make bench` or `.venv/bin/python bench/bench.py [--quick]`."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import pipeline  # noqa: E402
from qa.answering import Answerer  # noqa: E402
from qa.index import vectors as vectors_io  # noqa: E402
from qa.ingest import make_article  # noqa: E402
from qa.chunking import chunk_article  # noqa: E402
from qa.settings import Settings  # noqa: E402

SEED = ROOT.parent / "shared" / "eval" / "seed_dev.json"
SQUAD = ROOT.parent / "shared" / "eval" / "squad_v2_dev15.json"
rows: list[tuple[str, str, str]] = []


def row(name: str, value: str, note: str = "") -> None:
    rows.append((name, value, note))
    print(f"{name:<48} {value:<22} {note}", flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


class Recorder:
    """Wraps the generator to keep the exact prompts the pipeline sends."""

    def __init__(self, inner):
        self.inner, self.prompts, self.judged = inner, [], []

    def stream(self, prompt, max_new_tokens):
        self.prompts.append(prompt)
        yield from self.inner.stream(prompt, max_new_tokens)

    def judge(self, prompts):
        self.judged.append(prompts)
        return self.inner.judge(prompts)


def bench_answers(settings: Settings, questions: list[str]) -> None:
    """Latency of whole answers in one profile, against the raw model calls on the very same prompts."""
    answerer = Answerer(settings)
    reader, judge = Recorder(answerer.writer), Recorder(answerer.judge)
    answerer.writer, answerer.judge = reader, judge
    answerer.answer(questions[0])  # warm-up
    full, raw, progress = [], [], []
    for q in questions:
        for recorder in (reader, judge):
            recorder.prompts.clear()
            recorder.judged.clear()
        start = time.perf_counter()
        shown_at = None
        for _ in answerer.stream(q):
            shown_at = shown_at if shown_at is not None else time.perf_counter() - start
        progress.append(shown_at)
        full.append(time.perf_counter() - start)
        if reader.prompts:  # the models' own work on the exact prompts: judge passes and generation
            t = time.perf_counter()
            for prompts in judge.judged:
                judge.inner.judge(prompts)
            for _ in reader.inner.stream(reader.prompts[0], settings.max_new_tokens):
                pass
            raw.append((time.perf_counter() - t, full[-1]))
    tag = f"[{settings.profile}]"
    row(f"{tag} answer latency p50 / p90 (s)", f"{median(full):.2f} / {pct(full, 0.9):.2f}",
        f"{len(full)} seed_dev questions")
    row(f"{tag} first visible progress p50 / p90 (s)", f"{median(progress):.3f} / {pct(progress, 0.9):.3f}",
        "the chat shows the stage it is in")
    row(f"{tag} raw model calls p50 (s), same prompts", f"{median([r for r, _ in raw]):.2f}",
        f"{len(raw)} questions that reached the writer")
    row(f"{tag} pipeline overhead over raw model (median)", f"{median([f / r - 1 for r, f in raw]) * 100:.1f} %",
        "retrieval+evidence+verification")


def squad_texts() -> list[tuple[str, str]]:
    data = json.loads(SQUAD.read_text())
    return [(a["title"], "\n\n".join(p["context"] for p in a["paragraphs"])) for a in data["data"]]


def bench_indexing(settings: Settings) -> None:
    articles = [make_article(f"a{i}", text, title) for i, (title, text) in enumerate(squad_texts())]
    chunks = [c.text for a in articles for c in chunk_article(a, settings.chunk_chars, settings.chunk_overlap_chars)]
    embedder = pipeline.embedder_for(settings)
    embedder.encode(chunks[:32])
    t = time.perf_counter()
    for i in range(0, len(chunks), 256):
        embedder.encode(chunks[i:i + 256])
    encode_rate = len(chunks) / (time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        pipeline.add_articles(articles, replace(settings, index=Path(tmp)))
        index_rate = len(chunks) / (time.perf_counter() - t)
    row("raw encode throughput (chunks/s)", f"{encode_rate:.1f}", f"{len(chunks)} SQuAD chunks")
    row("indexing throughput (chunks/s)", f"{index_rate:.1f}", f"{index_rate / encode_rate * 100:.0f} % of raw encode")


def synthetic(base: np.ndarray, n: int, rng) -> np.ndarray:
    """n unit vectors near real sentence embeddings: mixtures of two plus noise keep the
    distribution realistic at sizes the dev set cannot supply."""
    a = base[rng.integers(0, len(base), n)]
    b = base[rng.integers(0, len(base), n)]
    v = a + 0.5 * b + 0.15 * rng.standard_normal(a.shape).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def bench_search(settings: Settings, sizes: list[int]) -> None:
    import faiss

    embedder = pipeline.embedder_for(settings)
    data = json.loads(SQUAD.read_text())
    sentences = [s.strip() for a in data["data"] for p in a["paragraphs"] for s in p["context"].split(". ") if s.strip()]
    questions = [qa["question"] for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]][:200]
    base = embedder.encode(sentences)
    queries = embedder.encode(questions)
    rng = np.random.default_rng(0)
    for n in sizes:
        vectors = synthetic(base, n, rng)
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        _, truth = exact.search(queries, 5)
        kinds = {"flat": exact}
        t = time.perf_counter()
        kinds["hnsw"] = vectors_io.build_faiss_hnsw(vectors)
        build = time.perf_counter() - t
        for name, index in kinds.items():
            row(f"search {name} @ {n:,} chunks: p50 ms / recall@5", measure(index, queries, truth),
                f"build {build:.1f}s" if name == "hnsw" else "exact")


def measure(index, queries, truth) -> str:
    """Median single-query latency and recall@5 against exact search."""
    times, recall = [], []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        _, ids = index.search(q[None, :], 5)
        times.append(time.perf_counter() - t)
        recall.append(len(set(ids[0]) & set(truth[i])) / 5)
    return f"{median(times) * 1000:.2f} / {np.mean(recall):.3f}"


def bench_stores(settings: Settings, milvus_uri: str | None) -> None:
    """Hybrid retrieval (dense + BM25, RRF) over the 15 SQuAD dev15 articles, in the index folder (FAISS + bm25s)
    and in Milvus (one server-side hybrid search): recall@5 of every answerable question's gold paragraph answer
    and the median search latency, the same embedder for both."""
    from qa.eval.metrics import contains

    data = json.loads(SQUAD.read_text())
    articles = [make_article(f"a{i}", text, title) for i, (title, text) in enumerate(squad_texts())]
    cases = [(qa["question"], [a["text"] for a in qa["answers"]]) for article in data["data"]
             for p in article["paragraphs"] for qa in p["qas"] if not qa.get("is_impossible")]
    with tempfile.TemporaryDirectory() as tmp, _milvus(milvus_uri, Path(tmp) / "milvus") as uri:
        for name, store in (("FAISS + bm25s (folder)", "faiss"), ("Milvus (server, hybrid_search)", f"{uri}/bench")):
            stored = replace(settings, index=Path(tmp) / "folder", vector_store=store)
            pipeline.add_articles(articles, stored)
            answerer = Answerer(stored)
            index, embedder = answerer.index(), answerer.embedder
            times, hits = [], 0
            for question, golds in cases:
                t = time.perf_counter()
                passages = index.search(embedder, question, 5, settings.candidates)
                times.append(time.perf_counter() - t)
                hits += any(contains(p.text, g) for p in passages for g in golds)
            row(f"hybrid search, {name}: p50 ms / recall@5", f"{median(times) * 1000:.1f} / {hits / len(cases):.3f}",
                f"{len(cases)} SQuAD dev15 questions")


@contextlib.contextmanager
def _milvus(uri: str | None, data_dir: Path):
    if uri:
        yield uri
        return
    from tests.helpers.milvus_server import milvus_server

    with milvus_server(data_dir) as started:
        yield started


def bench_conversion(settings: Settings) -> None:
    """The first run's preparation of each packaged model (verify, dequantise shard by shard, quantise to int8),
    each in a fresh process, from the assembled GGUF already in the cache."""
    from qa.models import QWEN_05B, QWEN_15B, packaged_gguf

    for model, name in ((QWEN_05B, "QWEN_05B"), (QWEN_15B, "QWEN_15B")):
        gguf = packaged_gguf(settings.cache, model=model)
        with tempfile.TemporaryDirectory(dir=settings.cache, prefix=".bench-") as tmp:
            os.link(gguf, Path(tmp) / gguf.name)
            # VmHWM, not ru_maxrss: Linux carries a parent's ru_maxrss into its child across fork and exec
            code = (f"import sys, re; from pathlib import Path; from qa.models import {name}, packaged_ctranslate2; "
                    f"packaged_ctranslate2(Path(sys.argv[1]), model={name}); "
                    "print(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1))")
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", code, tmp], cwd=ROOT, check=True, capture_output=True,
                                  text=True)
            seconds = time.perf_counter() - t
        peak = int(done.stdout.split()[-1]) / 1024
        row(f"first run: {model.key} converted to int8 (s) / peak RSS (MB)", f"{seconds:.0f} / {peak:.0f}",
            "a fresh process")


def bench_cold_start() -> None:
    """`python app.py` to the first /ask answer, the model already assembled and converted."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from gradio_client import Client

        url = f"http://127.0.0.1:{port}/"
        while True:
            try:
                client = Client(url, verbose=False)
                break
            except Exception:
                if proc.poll() is not None or time.perf_counter() - t > 180:
                    raise RuntimeError("app.py did not start") from None
                time.sleep(0.25)
        client.predict("How many aircraft will be bought from Boeing?", api_name="/ask")
        row("cold start: python app.py → first answer (s)", f"{time.perf_counter() - t:.1f}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10³ and 10⁴ chunks only")
    parser.add_argument("--milvus", metavar="URI", help="a Milvus server to compare with (default: milvus-lite's, "
                                                          "started here on 127.0.0.1)")
    parser.add_argument("--only", choices=("stores", "conversion"), help="only the store comparison, or only the "
                                                                         "first run's model conversion")
    parser.add_argument("--profiles", default="fast,mixed,accurate", help="answer profiles to time, side by side")
    parser.add_argument("--write", action="store_true",
                        help="replace the speed table in README.md (with --only: only its rows)")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    settings = Settings.from_env()
    print(f"machine: {os.cpu_count()} cores; threads {settings.threads}; backend {settings.backend}\n")
    if args.only:
        if args.only == "stores":
            bench_stores(settings, args.milvus)
        else:
            bench_conversion(settings)
        if args.write:
            write_readme(rows, merge=True)
        return
    seed = json.loads(SEED.read_text())
    for profile in args.profiles.split(","):
        profiled = replace(settings, profile=profile)
        pipeline.warm_up(profiled)
        bench_answers(profiled, [q["question"] for q in seed["questions"]])
    bench_indexing(settings)
    bench_search(settings, [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])
    bench_stores(settings, args.milvus)
    row("peak RSS (MB)", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", "this process")
    bench_conversion(settings)
    bench_cold_start()
    if args.write:
        write_readme(rows)


def write_readme(measured: list[tuple[str, str, str]], merge: bool = False) -> None:
    """The speed table between the README's markers; `merge`: only the rows measured now change (or are added)."""
    readme = ROOT / "README.md"
    start, end = "<!-- speed:start -->", "<!-- speed:end -->"
    head, rest = readme.read_text(encoding="utf-8").split(start, 1)
    old, tail = rest.split(end, 1)
    table: dict[str, tuple[str, str]] = {}
    if merge:
        for line in old.strip().splitlines()[2:]:
            name, value, note = (cell.strip() for cell in line.strip().strip("|").split("|"))
            table[name] = (value, note)
    table.update({name: (value, note) for name, value, note in measured})
    text = "\n".join(["| measure | value | note |", "|---|---|---|"] +
                     [f"| {name} | {value} | {note} |" for name, (value, note) in table.items()])
    print("\n" + text)
    readme.write_text(f"{head}{start}\n{text}\n{end}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
