"""`qa eval`: seed_dev and SQuAD v2 files → retrieval recall, answer accuracy, citation precision,
abstention quality, latency, and the answerability threshold sweep behind the abstention setting."""
from __future__ import annotations

import collections
import hashlib
import json
import random
import re
import string
import unicodedata
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .ingest import file_sources, load_sources, make_article, slugify
from .errors import QAError
from .lexical import NUMBER_WORDS
from .progress import Progress, quiet
from .settings import Settings
from .types import Answer, Article

RECALL_K = 5
SQUAD_SAMPLE = 200
# SQuAD dev15 split by article: choices and fitted numbers come from the first FIT_ARTICLES articles
# (in file order); results are reported on the others, whose questions were never used for them.
FIT_ARTICLES = 8
SPLITS = ("all", "fit", "report")
SWEEP = tuple(round(-3 + 0.25 * i, 2) for i in range(25))  # answerability log-odds thresholds


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    answers: tuple[str, ...]  # empty: unanswerable
    support: tuple[str, ...]  # phrases a correct citation contains
    need_all: bool = False
    forbid: tuple[str, ...] = ()
    history: tuple[tuple[str, str | None], ...] = ()
    article_title: str | None = None


@dataclass(frozen=True)
class Result:
    case: Case
    answer: Answer
    answerability: float
    seconds: float
    first_progress: float  # seconds until the first thing a user sees (the stage it is in)
    recalled: bool
    model_sentences: int
    rejected_sentences: int
    features: dict = field(default_factory=dict)  # evidence features, for calibrating answerability


@dataclass
class Report:
    dataset: str
    threshold: float
    results: list[Result]
    metrics: dict = field(default_factory=dict)
    sweep: list[dict] = field(default_factory=list)
    check_threshold: float | None = None  # the answer check's, which the sweep holds fixed

    def to_json(self) -> dict:
        return {"dataset": self.dataset, "threshold": self.threshold, "check_threshold": self.check_threshold,
                "metrics": self.metrics, "sweep": self.sweep,
                "questions": [{"id": r.case.id, "question": r.case.question, "gold": list(r.case.answers),
                               "text": r.answer.text, "abstained": r.answer.abstained,
                               "answerability": round(r.answerability, 4) if r.answerability > -1e9 else None,
                               "check": r.answer.check,
                               "right": right(r, self.threshold), "misleading": misleading(r, self.threshold),
                               "raw": r.answer.raw_text, "seconds": round(r.seconds, 3),
                               "features": r.features} for r in self.results]}


def normalise_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, folded white space."""
    # SQuAD strips ASCII punctuation; curly quotes and dashes are punctuation too.
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation)
                   and not unicodedata.category(ch).startswith("P"))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def contains(text: str, phrase: str) -> bool:
    """Whole-word containment after normalisation. A possessive still names its owner, a digit is its word and
    a currency sign is not part of its amount: "Kazakhstan's fund" contains "Kazakhstan" (SQuAD's normalisation
    alone makes it "kazakhstans"), "8 electorates" contains "eight", "€25,000" contains "25,000" (SQuAD's strips
    "$" but no other sign)."""
    return f" {_words(phrase)} " in f" {_words(text)} "


def _words(text: str) -> str:
    text = re.sub(r"(?<=\w)['’]s\b", "", text)
    text = "".join(" " if unicodedata.category(ch) == "Sc" else ch for ch in text)
    return " ".join(NUMBER_WORDS.get(w, w) for w in normalise_answer(text).split())


def f1(prediction: str, gold: str) -> float:
    pred, ref = normalise_answer(prediction).split(), normalise_answer(gold).split()
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if not common:
        return 0.0
    p, r = common / len(pred), common / len(ref)
    return 2 * p * r / (p + r)


def answer_only(text: str) -> str:
    """What an answer says, for EM/F1: without its [n] markers and quotation marks."""
    from .grounding import MARKER

    return MARKER.sub("", text).replace("“", "").replace("”", "").strip()


def abstains(r: Result, threshold: float) -> bool:
    return r.answer.abstained or r.answerability < threshold


def misleading(r: Result, threshold: float) -> bool:
    """Answered, and wrong: a wrong answer to an answerable question, or any answer to an unanswerable one.
    Worse than an abstention, so it is counted on its own."""
    return not abstains(r, threshold) and not right(r, threshold)


def right(r: Result, threshold: float) -> bool:
    if not r.case.answers:
        return abstains(r, threshold)
    if abstains(r, threshold) or any(contains(r.answer.text, f) for f in r.case.forbid):
        return False
    hits = [contains(r.answer.text, a) for a in r.case.answers]
    return all(hits) if r.case.need_all else any(hits)


def citation_ok(r: Result) -> bool:
    """A cited span (the narrowed quote) holds the support phrase or a gold answer."""
    return any(_cites(c, r.case) for c in r.answer.citations)


def _cites(citation, case: Case) -> bool:
    return any(contains(citation.quote, w) for w in case.support or case.answers)


def unsupported_sentences(r: Result) -> tuple[int, int]:
    """(unsupported, total) final answer sentences, checked independently of the verifier: a sentence is
    unsupported when under half of its content words are in its cited quotes or the question."""
    from .grounding import claims
    from .lexical import content_stems

    if r.answer.abstained:
        return 0, 0
    quotes = {c.number: set(content_stems(c.quote)) for c in r.answer.citations}
    asked = set(content_stems(r.case.question))
    bad = total = 0
    for claim in claims(r.answer.text):
        stems = set(content_stems(claim.text))
        if not stems:
            continue
        backing = set().union(asked, *(quotes.get(n, set()) for n in claim.markers))
        total += 1
        bad += len(stems & backing) / len(stems) < 0.5
    return bad, total


def load_cases(path: Path) -> tuple[str, list[Case], Path | None]:
    """The cases, and the SQuAD file or folder of article files they are asked of (None: ask the given
    index). A seed_dev-format file may name one as "articles", relative to itself."""
    data = _read(path)
    if "questions" in data:
        return "seed_dev", _seed_cases(data), _articles_source(path, data)
    if "data" in data:
        return "squad_v2", _squad_cases(data), path
    raise QAError(f"{path}: neither seed_dev (questions) nor SQuAD v2 (data) format")


def _articles_source(path: Path, data: dict) -> Path | None:
    if not data.get("articles"):
        return None
    articles = path.parent / data["articles"]
    if not articles.exists():
        raise QAError(f"{path}: its articles file or folder {articles} does not exist")
    return articles


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise QAError(f"cannot read {path}: {exc}") from exc


def _seed_cases(data: dict) -> list[Case]:
    cases = [Case(q["id"], q["question"], tuple(q["answers"]), (q["support"],) if q.get("support") else (),
                  bool(q.get("all")), tuple(q.get("forbid", ()))) for q in data["questions"]]
    for f in data.get("followups", []):
        cases.append(Case(f["id"], f["question"], tuple(f["answers"]), (f["support"],) if f.get("support") else (),
                          bool(f.get("all")), tuple(f.get("forbid", ())), tuple(tuple(t) for t in f["history"])))
    return cases


def split_cases(cases: list[Case], split: str) -> list[Case]:
    titles = list(dict.fromkeys(c.article_title for c in cases))
    if split not in SPLITS or titles == [None]:
        raise QAError(f"--split {split}: only a SQuAD file splits, into {', '.join(SPLITS)}")
    keep = set(titles[:FIT_ARTICLES] if split == "fit" else titles[FIT_ARTICLES:])
    return [c for c in cases if c.article_title in keep]


def _squad_cases(data: dict) -> list[Case]:
    cases = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                golds = tuple(dict.fromkeys(a["text"] for a in qa["answers"])) if not qa.get("is_impossible") else ()
                cases.append(Case(qa["id"], qa["question"], golds, golds, article_title=article["title"]))
    return cases


def articles_index(path: Path, settings: Settings) -> Path:
    """The articles an eval file is asked of (a SQuAD file, or a folder of article files) in one index,
    cached by content and settings so repeated runs are quick."""
    from .index import FORMAT_VERSION, read_manifest
    from .pipeline import add_articles

    key = hashlib.sha256()
    for source in file_sources([path]):
        key.update(f"{source.relative if path.is_dir() else ''}\0".encode() + source.path.read_bytes())
    key.update(f"{settings.embedder}/{settings.chunk_chars}/{settings.chunk_overlap_chars}/"
               f"{FORMAT_VERSION}".encode())
    directory = settings.cache / f"eval-{key.hexdigest()[:16]}"
    if read_manifest(directory) is None:
        from .progress import bars

        add_articles(_source_articles(path, settings), replace(settings, index=directory), bars())
    return directory


def _source_articles(path: Path, settings: Settings) -> list[Article]:
    if path.is_dir():
        articles, skipped = load_sources([path], settings.max_article_bytes)
        if skipped:
            raise QAError(f"{path}: cannot index {skipped[0].reason}")
        if not articles:
            raise QAError(f"{path}: no .txt, .md, .html or .pdf files")
        return articles
    return [make_article(slugify(a["title"]), "\n\n".join(p["context"] for p in a["paragraphs"]),
                         a["title"].replace("_", " "))
            for a in _read(path)["data"]]


def select_cases(path: Path, limit: int | None = None, split: str = "all") -> tuple[str, list[Case], Path | None]:
    """load_cases, keeping the split's articles and then, of a SQuAD file, a seeded sample of `limit` (else
    SQUAD_SAMPLE) questions, of any other file its first `limit`."""
    dataset, cases, articles = load_cases(path)
    if split != "all":
        cases = split_cases(cases, split)
    if dataset == "squad_v2":
        cases = random.Random(0).sample(cases, min(limit or SQUAD_SAMPLE, len(cases)))
    elif limit:
        cases = cases[:limit]
    return dataset, cases, articles


def evaluate(path: Path, settings: Settings, limit: int | None = None, index_given: bool = False,
             split: str = "all", progress: Progress = quiet) -> Report:
    dataset, cases, articles = select_cases(path, limit, split)
    if articles is not None and not index_given:
        settings = replace(settings, index=articles_index(articles, settings))
    else:  # an explicit command, like `qa serve`: the bundled folder is indexed as it stands
        from .pipeline import sync_bundled

        sync_bundled(settings)
    results = []
    for case in cases:
        results.append(_run(case, settings))
        progress("answering", len(results), len(cases))
    from .pipeline import answerer_for

    limits = answerer_for(settings).thresholds
    report = Report(dataset if split == "all" else f"{dataset} ({split} articles)", limits.gate, results,
                    check_threshold=limits.check)
    report.metrics = metrics(results, report.threshold)
    report.sweep = [dict(threshold=t, **_operating_point(results, t)) for t in SWEEP]
    return report


def _run(case: Case, settings: Settings) -> Result:
    from . import grounding, pipeline

    history = []
    for question, reply in case.history:  # None: whatever the system answers to that turn
        history.append((question, reply if reply is not None else pipeline.answer(question, settings=settings).text))
    # Always generate: one run gives the whole sweep over the abstention threshold.
    # The stages below read no threshold, so the same Answerer (and its loaded index) serves them.
    ungated = pipeline.answerer_for(replace(settings, abstain_threshold=float("-inf")))
    query = ungated.query(case.question, history)
    passages = ungated.retrieve(query, RECALL_K)
    wanted = case.support or case.answers
    recalled = any(contains(p.text, w) for p in passages for w in wanted)
    evidence = ungated.evidence(query, passages[:settings.k], judge=False)
    start, first = time.perf_counter(), None
    for event in ungated.stream(case.question, history):
        first = first if first is not None else time.perf_counter() - start
        answer = event
    seconds = time.perf_counter() - start
    n_claims = len(grounding.claims(answer.raw_text))
    features = {**grounding.features(evidence), "judge": answer.answerability, "verified": n_claims > len(answer.rejected)}
    score = answer.answerability if answer.answerability is not None else float("-inf")  # off-topic, or no evidence of the kind asked for
    return Result(case, answer, score, seconds, first, recalled, n_claims, len(answer.rejected), features)


def _operating_point(results: list[Result], threshold: float) -> dict:
    answerable = [r for r in results if r.case.answers]
    unanswerable = [r for r in results if not r.case.answers]
    answered = [r for r in results if not abstains(r, threshold)]
    abstained = [r for r in results if abstains(r, threshold)]
    return {
        "answered_right_of_answerable": _ratio(sum(right(r, threshold) for r in answerable), len(answerable)),
        "abstained_of_unanswerable": _ratio(sum(abstains(r, threshold) for r in unanswerable), len(unanswerable)),
        "answered_precision": _ratio(sum(right(r, threshold) for r in answered), len(answered)),
        "coverage": _ratio(len(answered), len(results)),
        "abstention_precision": _ratio(sum(not r.case.answers for r in abstained), len(abstained)),
        "misleading": sum(misleading(r, threshold) for r in results),
        "misleading_rate": _ratio(sum(misleading(r, threshold) for r in results), len(results)),
    }


def metrics(results: list[Result], threshold: float) -> dict:
    answerable = [r for r in results if r.case.answers]
    answered = [r for r in answerable if not abstains(r, threshold)]
    answered_all = [r for r in results if not abstains(r, threshold)]
    seconds = sorted(r.seconds for r in results)
    squad = [max((f1(answer_only(r.answer.text), a) for a in r.case.answers), default=0.0) if r.case.answers and
             not abstains(r, threshold) else float(not r.case.answers and abstains(r, threshold)) for r in results]
    em = [float(any(normalise_answer(answer_only(r.answer.text)) == normalise_answer(a) for a in r.case.answers))
          if r.case.answers and not abstains(r, threshold) else float(not r.case.answers and abstains(r, threshold))
          for r in results]
    cited = [(c, r.case) for r in answered for c in r.answer.citations]
    progress = sorted(r.first_progress for r in results if r.first_progress is not None)
    return {
        "questions": len(results),
        "answerable": len(answerable),
        f"retrieval_recall@{RECALL_K}": _ratio(sum(r.recalled for r in answerable), len(answerable)),
        "accuracy": _ratio(sum(right(r, threshold) for r in results), len(results)),
        **_operating_point(results, threshold),
        "citation_precision": _ratio(sum(_cites(c, case) for c, case in cited), len(cited)),
        "citation_recall": _ratio(sum(citation_ok(r) for r in answered), len(answered)),
        "answered_correct_and_cited": _ratio(sum(right(r, threshold) and citation_ok(r) for r in answered),
                                             len(answered)),
        "model_sentences_rejected": _ratio(sum(r.rejected_sentences for r in results),
                                           sum(r.model_sentences for r in results)),
        "unsupported_sentence_rate": _ratio(sum(unsupported_sentences(r)[0] for r in answered_all),
                                            sum(unsupported_sentences(r)[1] for r in answered_all)),
        "squad_em": _ratio(sum(em), len(em)),
        "squad_f1": _ratio(sum(squad), len(squad)),
        "latency_p50_s": _percentile(seconds, 0.5),
        "latency_p90_s": _percentile(seconds, 0.9),
        "first_progress_p50_s": _percentile(progress, 0.5),
        "first_progress_p90_s": _percentile(progress, 0.9),
    }


def _ratio(a: float, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)


def format_report(report: Report) -> str:
    lines = [f"# {report.dataset}: {len(report.results)} questions, abstain threshold {report.threshold}, "
             f"answer check {report.check_threshold}", "",
             "| id | right | cited | abst. | score | answer |", "|---|---|---|---|---|---|"]
    verdict = {True: "yes", False: "NO"}
    for r in report.results:
        text = r.answer.text.replace("|", "/").replace("\n", " ")[:90]
        score = f"{r.answerability:.2f}" if r.answerability > -1e9 else "not judged"
        ok = "MISLEADING" if misleading(r, report.threshold) else verdict[right(r, report.threshold)]
        lines.append(f"| {r.case.id[:10]} | {ok} | "
                     f"{'yes' if citation_ok(r) else '-'} | {'yes' if abstains(r, report.threshold) else ''} | "
                     f"{score} | {text} |")
    lines += ["", "| metric | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in report.metrics.items()]
    lines += ["", "| threshold | answered right / answerable | abstained / unanswerable | misleading | "
              "answered precision | coverage |", "|---|---|---|---|---|---|"]
    lines += [f"| {p['threshold']} | {p['answered_right_of_answerable']} | {p['abstained_of_unanswerable']} | "
              f"{p['misleading']} | {p['answered_precision']} | {p['coverage']} |" for p in report.sweep]
    return "\n".join(lines)
