"""`qa calibrate`: fitting the answerability calibration (qa.answering.calibration) from committed inputs, the fit
sets (FIT_SETS, led by news): per judge model, the logistic weights that turn the judge's reading of a candidate
sentence into log-odds that it answers the question; per reader model, the abstention and answer-check thresholds
placed on its whole answers to the same questions. Written with the model's and the data's hashes; the fit answers
are stored beside the calibration with their set's content hash, the code commit and the settings."""
from __future__ import annotations

import hashlib
import json
import logging
import math
import statistics
import subprocess
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..answering.calibration import FOLDER, Calibration, Placed
from ..errors import ModelError, QAError
from ..progress import Progress, quiet

RIDGE = 1e-2
# A misleading answer costs this many right ones when the thresholds are placed (place_thresholds).
MISLEADING_COST = 2.0
log = logging.getLogger(__name__)
PROJECT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FitSet:
    """Questions fitted on: a set's fit part (SQuAD: its fit articles, a seeded sample; real news: the questions
    asked before the split day), never its report part."""
    path: Path
    split: str = "all"
    sample: int | None = None

    @property
    def name(self) -> str:
        return self.path.name


# Led by news: real news quiz questions asked before the split day, the fictional news-style fit set, and SQuAD's
# fit articles as a minority (each set weighs the same in every fit).
FIT_SETS = (FitSet(PROJECT.parent / "shared" / "eval" / "realtime_news.json", "fit"),
            FitSet(PROJECT / "bench" / "fit_news.json"),
            FitSet(PROJECT.parent / "shared" / "eval" / "squad_v2_dev15.json", "fit", 100))


def fit_cases(fit: FitSet) -> tuple[list, Path | None]:
    from .datasets import select_cases

    if not fit.path.exists():
        raise QAError(f"fit set {fit.path} does not exist")
    _, cases, articles = select_cases(fit.path, fit.sample, fit.split)
    return cases, articles


def fit_logistic(rows: list[list[float]], labels: list[int], weights: list[float] | None = None,
                 monotone: tuple[int, ...] = ()) -> tuple[list[float], float]:
    """Weights and bias of a ridge-penalised, optionally row-weighted logistic regression, by Newton's method. The
    features named in `monotone` may only raise the log-odds: one fitted below zero is held at zero and the rest
    refitted (an active set), so more relevant evidence never lowers answerability."""
    import numpy as np

    x = np.hstack([np.asarray(rows, dtype=float), np.ones((len(rows), 1))])
    y = np.asarray(labels, dtype=float)
    r = np.ones(len(rows)) if weights is None else np.asarray(weights, dtype=float)
    held: set[int] = set()
    while True:
        free = [i for i in range(x.shape[1]) if i not in held]
        w = np.zeros(x.shape[1])
        w[free] = _newton(x[:, free], y, r)
        negative = [i for i in monotone if i not in held and w[i] < 0]
        if not negative:
            return [float(v) for v in w[:-1]], float(w[-1])
        held.add(min(negative, key=lambda i: w[i]))


def _newton(x, y, r):
    import numpy as np

    w = np.zeros(x.shape[1])
    penalty = RIDGE * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        gradient = x.T @ (r * (p - y)) + penalty @ w
        hessian = (x * (r * p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


@dataclass(frozen=True)
class Outcome:
    """One fit question answered with no gate and no check: what the gate and the check saw, and whether
    the answer was right (+1), misleading (-1) or an abstention anyway (0). `weight`: its share of the
    worth (see weighted)."""
    answerability: float
    check: float
    score: int
    weight: float = 1.0


def weighted(groups: dict[str, list[Outcome]]) -> list[Outcome]:
    """All fit answers, each fit set weighing the same in total: the SQuAD fit articles have many more
    questions, but the product's own setting (news prose) matters as much."""
    total = sum(len(g) for g in groups.values())
    return [replace(o, weight=total / (len(groups) * len(g))) for g in groups.values() for o in g]


def _value(o: Outcome, gate: float, check: float, cost: float) -> float:
    if not o.score or o.answerability < gate or o.check < check:
        return 0.0
    return o.weight if o.score > 0 else -cost * o.weight


def utility(outcomes: list[Outcome], gate: float, check: float, cost: float = MISLEADING_COST) -> float:
    """Right answers minus `cost` × misleading ones among those both thresholds let through."""
    return sum(_value(o, gate, check, cost) for o in outcomes)


def _answered(outcomes: list[Outcome], gate: float, check: float) -> float:
    return sum(o.weight for o in outcomes if o.score and o.answerability >= gate and o.check >= check)


def place_thresholds(outcomes: list[Outcome], cost: float = MISLEADING_COST) -> tuple[float, float]:
    """The (abstention, answer check) thresholds that answer the most questions while worth within one standard
    error of the best pair (a one-standard-error rule). The fit questions are few and partly adversarial (SQuAD
    v2's unanswerable questions are written to look answerable), so a stricter pair that is only noisily better
    there is not worth the answers it refuses elsewhere. Of equals: the more worth, then the stricter pair (the fit
    answers cannot tell them apart, and a wrong answer costs more than an abstention)."""
    gates = sorted({o.answerability for o in outcomes if o.score})
    checks = sorted({o.check for o in outcomes if o.score})
    grid = {(g, c): utility(outcomes, g, c, cost) for g in gates for c in checks}
    if not grid or max(grid.values()) <= 0:
        raise ModelError(f"on the fit questions no thresholds make this model's answers worth more than "
                         f"abstaining (a misleading answer costing {cost} right ones)")
    (gate, check), top = max(grid.items(), key=lambda item: (item[1], -item[0][0], -item[0][1]))
    values = [_value(o, gate, check, cost) for o in outcomes]
    margin = statistics.pstdev(values) * math.sqrt(len(values))
    _, _, gate, check = max((_answered(outcomes, g, c), u, g, c) for (g, c), u in grid.items() if u >= top - margin)
    return round(gate - 1e-3, 3), round(check - 1e-3, 3)


def fit_outcomes(fit: FitSet, settings, progress: Progress = quiet) -> list[Outcome]:
    """Answer the questions of a fit set end to end with the stored weights, with no gate and no check, and
    record what each would have seen."""
    from .evaluate import evaluate
    from .metrics import misleading, right

    ungated = replace(settings, abstain_threshold=float("-inf"), check_threshold=float("-inf"))
    report = evaluate(fit.path, ungated, limit=fit.sample, split=fit.split, progress=progress)
    gate = float("-inf")
    return [Outcome(r.answerability, r.answer.check if r.answer.check is not None else float("-inf"),
                    1 if r.case.answers and right(r, gate) else -1 if misleading(r, gate) else 0)
            for r in report.results]


def answers_key(fit: FitSet, settings) -> dict:
    """What a set's stored fit answers were made from: the set's content (with its articles), the code, the
    settings that shape an answer. Stored answers are reused only when all of it matches."""
    shaping = ("embedder", "profile", "chunk_chars", "chunk_overlap_chars", "k", "candidates", "prompt_sentences",
               "max_new_tokens", "relevance_floor")
    return {"sha256": _digest(fit), "split": fit.split, "sample": fit.sample, "commit": _commit(),
            "settings": {name: getattr(settings, name) for name in shaping}}


def _same(stored: dict, key: dict) -> bool:
    return {k: v for k, v in stored.items() if k != "commit"} == {k: v for k, v in key.items() if k != "commit"}


def _commit() -> str:
    try:
        # "-dirty" when the answering code had uncommitted changes: those answers are not that commit's
        return subprocess.run(["git", "describe", "--always", "--abbrev=40", "--dirty", "--exclude=*"], cwd=PROJECT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def save_outcomes(groups: dict[str, tuple[dict, list[Outcome]]], model: str, reader: str,
                  folder: Path = FOLDER) -> Path:
    """Store one reader's fit answers (judged by `model`) beside the other readers', each set's with its key."""
    path = folder / f"{model}.outcomes.json"
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    stored[reader] = {name: {"key": key, "outcomes": [{k: v for k, v in asdict(o).items() if k != "weight"}
                                                      for o in group]}
                      for name, (key, group) in groups.items()}
    path.write_text(json.dumps(stored) + "\n", encoding="utf-8")
    return path


def load_outcomes(model: str, reader: str, folder: Path = FOLDER) -> dict[str, tuple[dict, list[Outcome]]]:
    """The stored fit answers of `reader` judged by `model`, per fit set (by file name) with their key."""
    path = folder / f"{model}.outcomes.json"
    if not path.exists():
        return {}
    stored = json.loads(path.read_text(encoding="utf-8")).get(reader, {})
    return {name: (entry["key"], [Outcome(**o) for o in entry["outcomes"]]) for name, entry in stored.items()}


def with_thresholds(fitted: Calibration, fit_sets: tuple[FitSet, ...], settings, progress: Progress = quiet,
                    reuse: bool = False) -> Calibration:
    """`fitted` with the abstention and answer-check thresholds of the reader of `settings` placed on its whole
    answers to the fit sets (place_thresholds, each set weighing the same). The fit answers are stored beside the
    calibration; `reuse` answers again only the sets whose stored answers were made from other content or
    settings (the code commit is recorded, not compared: reusing answers is a choice to trust them)."""
    from .. import pipeline

    stored = load_outcomes(fitted.model, settings.reader) if reuse else {}
    keys = {fit.name: answers_key(fit, settings) for fit in fit_sets}
    missing = [fit for fit in fit_sets if fit.name not in stored or not _same(stored[fit.name][0], keys[fit.name])]
    if missing:
        fitted.save()  # the answerer reads the calibration of its judge model from its file
        pipeline.forget_answerers()
    answered = {fit.name: (keys[fit.name], fit_outcomes(fit, settings, progress)) for fit in missing}
    groups = {fit.name: answered.get(fit.name) or stored[fit.name] for fit in fit_sets}
    save_outcomes(groups, fitted.model, settings.reader)
    outcomes = weighted({name: group for name, (_, group) in groups.items()})
    for cost in (1.0, 1.5, 2.0, 3.0):
        log.warning("misleading cost %s: thresholds %s", cost, place_thresholds(outcomes, cost))
    threshold, check = place_thresholds(outcomes)
    data = "; ".join(f"{fit.name} ({fit.split}, {len(groups[fit.name][1])} answers, sha256 "
                     f"{groups[fit.name][0]['sha256']})" for fit in fit_sets)
    return fitted.with_placement(Placed(settings.reader, threshold, check, data))


def _digest(fit: FitSet) -> str:
    """sha256 of a fit set with the article files it names (a SQuAD file holds its own)."""
    from .datasets import load_cases

    digest = hashlib.sha256(fit.path.read_bytes())
    articles = load_cases(fit.path)[2]
    if articles is not None and articles != fit.path:
        for path in sorted(articles.rglob("*") if articles.is_dir() else [articles]):
            if path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _model_sha256(settings) -> str:
    """The judge's weights' hash: a packaged model's, a user's own .gguf file's, else unknown (a hub id)."""
    from ..models import packaged, sha256_file

    if not settings.llm:
        return packaged(settings.judge).sha256
    path = Path(settings.llm).expanduser()
    return sha256_file(path) if path.is_file() else ""


def calibrate(fit_sets: tuple[FitSet, ...], settings, progress: Progress = quiet) -> Calibration:
    """Fit the judge model of `settings` on the fit sets' questions: each candidate sentence the gate would read
    (gate.candidates) is a row of the judge's log-odds and the sentence's relevance, labelled by whether it holds
    a gold answer of an answerable question. Each set weighs the same. The abstention and answer-check thresholds
    are placed afterwards, on whole answers (with_thresholds)."""
    rows, labels, weights, digests = [], [], [], []
    for fit in fit_sets:
        found, found_labels = _candidate_rows(fit, settings, progress)
        rows += found
        labels += found_labels
        weights += [1.0 / max(len(found), 1)] * len(found)
        digests.append(f"{fit.name}: {_digest(fit)}")
    monotone = tuple(range(len(rows[0]))) if rows else ()
    fitted, bias = fit_logistic(rows, labels, [w * len(rows) / len(fit_sets) for w in weights], monotone)
    data = "; ".join(f"{fit.name} ({fit.split}{f', {fit.sample} seeded' if fit.sample else ''})" for fit in fit_sets)
    return Calibration(model=settings.judge, model_sha256=_model_sha256(settings),
                       weights=tuple(round(w, 4) for w in fitted[:-1]), relevance=round(fitted[-1], 4),
                       bias=round(bias, 4), data=f"candidate sentences of {data}",
                       data_sha256=hashlib.sha256("; ".join(digests).encode()).hexdigest(), questions=len(rows))


def _candidate_rows(fit: FitSet, settings, progress: Progress) -> tuple[list[list[float]], list[int]]:
    """The gate's candidates for each question of a fit set, as (judge log-odds…, relevance) rows and labels."""
    from .. import pipeline
    from ..answering import decide, gate
    from ..types import Query
    from .datasets import articles_index
    from .metrics import contains

    cases, articles = fit_cases(fit)
    answerer = pipeline.answerer_for(articles_index(articles, settings) if articles is not None else settings)
    rows, labels = [], []
    for n, case in enumerate(cases):
        query = Query(case.question, as_of=case.asked)
        evidence = answerer.evidence(query)
        if decide.not_worth_judging(evidence.relevance, evidence.fits, False, settings.relevance_floor) is None:
            chosen = gate.candidates(evidence)
            for sentence, scores in zip(chosen, gate.scores(answerer.judge, query.text, chosen, None)):
                rows.append([*scores, sentence.relevance])
                labels.append(int(any(contains(sentence.text, a) for a in case.answers)))
        progress(f"calibrating on {fit.name}", n + 1, len(cases))
    return rows, labels
