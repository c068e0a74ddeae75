"""`qa eval`: an eval set asked of the real Answerer, each question once, scored off its answer and trace:
retrieval recall, answer accuracy, misleading answers, citation precision, abstention quality, latency, and the
answerability threshold sweep behind the abstention setting."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..progress import Progress, quiet
from ..settings import Settings
from .datasets import Case, articles_index, select_cases
from .metrics import SWEEP, Result, abstains, citation_ok, contains, metrics, misleading, operating_point, right


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
                               "trace": r.answer.trace.to_json() if r.answer.trace else None}
                              for r in self.results]}


def evaluate(path: Path, settings: Settings, limit: int | None = None, index_given: bool = False,
             split: str = "all", progress: Progress = quiet) -> Report:
    dataset, cases, articles = select_cases(path, limit, split)
    if articles is not None and not index_given:
        settings = articles_index(articles, settings)
    else:  # an explicit command, like `qa serve`: the bundled folder is indexed as it stands
        from ..pipeline import sync_bundled

        sync_bundled(settings)
    results = []
    for case in cases:
        results.append(_run(case, settings))
        progress("answering", len(results), len(cases))
    from ..pipeline import answerer_for

    limits = answerer_for(settings).thresholds
    report = Report(dataset if split == "all" else f"{dataset} ({split} articles)", limits.gate, results,
                    check_threshold=limits.check)
    report.metrics = metrics(results, report.threshold)
    report.sweep = [dict(threshold=t, **operating_point(results, t)) for t in SWEEP]
    return report


def _run(case: Case, settings: Settings) -> Result:
    from .. import pipeline

    history = []
    for question, reply in case.history:  # None: whatever the system answers to that turn
        history.append((question, reply if reply is not None else pipeline.answer(question, settings=settings).text))
    # Always generate: one run gives the whole sweep over the abstention threshold. Everything scored here is
    # read off the answer's trace: the questions are asked once.
    ungated = pipeline.answerer_for(replace(settings, abstain_threshold=float("-inf")))
    start, first = time.perf_counter(), None
    for event in ungated.stream(case.question, history, case.asked):
        first = first if first is not None else time.perf_counter() - start
        answer = event
    seconds = time.perf_counter() - start
    wanted = case.support or case.answers
    recalled = any(contains(p.text, w) for p in answer.trace.passages for w in wanted)
    score = answer.answerability if answer.answerability is not None else float("-inf")  # off-topic, or no evidence of the kind asked for
    return Result(case, answer, score, seconds, first, recalled)


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
