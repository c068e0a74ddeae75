"""`qa calibrate`: fitting the answerability calibration (qa.answering.calibration) from committed inputs: per
judge model, the logistic weights on the SQuAD dev15 file's fit articles; per reader model, the abstention and
answer-check thresholds on its whole answers to those and to bench/fit_news.json. Written with the model's and the
data's hashes."""
from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import statistics
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..answering.calibration import FOLDER, Calibration, Placed
from ..errors import ModelError
from ..progress import Progress, quiet

SAMPLE = 300  # fit questions: the judge is the cost
RIDGE = 1e-2
ANSWERED = 200  # fit questions answered end to end to place the two thresholds
# A misleading answer costs this many right ones when the thresholds are placed (place_thresholds).
MISLEADING_COST = 2.0
log = logging.getLogger(__name__)


def fit_logistic(rows: list[list[float]], labels: list[int]) -> tuple[list[float], float]:
    """Weights and bias of a ridge-penalised logistic regression, by Newton's method."""
    import numpy as np

    x = np.hstack([np.asarray(rows, dtype=float), np.ones((len(rows), 1))])
    y = np.asarray(labels, dtype=float)
    w = np.zeros(x.shape[1])
    penalty = RIDGE * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return [float(v) for v in w[:-1]], float(w[-1])


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


def fit_outcomes(source: Path, settings, sample: int = ANSWERED, progress: Progress = quiet) -> list[Outcome]:
    """Answer the questions of a fit set end to end with the stored weights, with no gate and no check, and
    record what each would have seen. A SQuAD file: `sample` questions of its fit articles only."""
    from .datasets import load_cases
    from .evaluate import evaluate
    from .metrics import misleading, right

    ungated = replace(settings, abstain_threshold=float("-inf"), check_threshold=float("-inf"))
    squad = load_cases(source)[0] == "squad_v2"
    report = evaluate(source, ungated, limit=sample if squad else None, split="fit" if squad else "all",
                      progress=progress)
    gate = float("-inf")
    return [Outcome(r.answerability, r.answer.check if r.answer.check is not None else float("-inf"),
                    1 if r.case.answers and right(r, gate) else -1 if misleading(r, gate) else 0)
            for r in report.results]


def save_outcomes(groups: dict[str, list[Outcome]], model: str, reader: str, folder: Path = FOLDER) -> Path:
    """Store one reader's fit answers (judged by `model`) beside the other readers'."""
    path = folder / f"{model}.outcomes.json"
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    stored[reader] = {name: [{k: v for k, v in asdict(o).items() if k != "weight"} for o in group]
                      for name, group in groups.items()}
    path.write_text(json.dumps(stored) + "\n", encoding="utf-8")
    return path


def load_outcomes(model: str, reader: str, folder: Path = FOLDER) -> dict[str, list[Outcome]]:
    """The stored fit answers of `reader` judged by `model`, per fit set (by file name); none stored: empty."""
    path = folder / f"{model}.outcomes.json"
    if not path.exists():
        return {}
    stored = json.loads(path.read_text(encoding="utf-8")).get(reader, {})
    return {name: [Outcome(**o) for o in group] for name, group in stored.items()}


def with_thresholds(fitted: Calibration, sources: list[Path], settings, sample: int = ANSWERED,
                    progress: Progress = quiet, reuse: bool = False) -> Calibration:
    """`fitted` with the abstention and answer-check thresholds of the reader of `settings` placed on its whole
    answers to the fit sets (place_thresholds, each set weighing the same). The fit answers are stored beside the
    calibration, so `reuse` answers only the sets not stored yet."""
    from .. import pipeline

    groups = load_outcomes(fitted.model, settings.reader) if reuse else {}
    missing = [source for source in sources if source.name not in groups]
    if missing:
        fitted.save()  # the answerer reads the calibration of its judge model from its file
        pipeline.forget_answerers()
    for source in missing:
        groups[source.name] = fit_outcomes(source, settings, sample, progress)
    groups = {source.name: groups[source.name] for source in sources}
    save_outcomes(groups, fitted.model, settings.reader)
    outcomes = weighted(groups)
    for cost in (1.0, 1.5, 2.0, 3.0):
        log.warning("misleading cost %s: thresholds %s", cost, place_thresholds(outcomes, cost))
    threshold, check = place_thresholds(outcomes)
    data = "; ".join(f"{s.name} ({len(groups[s.name])} answers, sha256 {_digest(s)})" for s in sources)
    return fitted.with_placement(Placed(settings.reader, threshold, check, data))


def _digest(source: Path) -> str:
    """sha256 of a fit set with the article files it names (a SQuAD file holds its own)."""
    from .datasets import load_cases

    digest = hashlib.sha256(source.read_bytes())
    articles = load_cases(source)[2]
    if articles is not None and articles != source:
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


def calibrate(squad: Path, settings, sample: int = SAMPLE, progress: Progress = quiet) -> Calibration:
    """Fit the judge model of `settings` on `sample` questions of the fit articles of `squad`: the answerability
    weights. The abstention and answer-check thresholds are placed afterwards, on whole answers
    (with_thresholds)."""
    from .. import pipeline
    from ..answering import decide, gate
    from ..types import Query
    from .datasets import articles_index, load_cases, split_cases

    _, cases, _ = load_cases(squad)
    cases = random.Random(1).sample(split_cases(cases, "fit"), sample)
    answerer = pipeline.answerer_for(replace(settings, index=articles_index(squad, settings)))
    rows, labels = [], []
    for n, case in enumerate(cases):
        query = Query(case.question)
        evidence = answerer.evidence(query)
        if decide.not_worth_judging(evidence.relevance, evidence.fits, False, settings.relevance_floor) is None:
            rows.append([*gate.scores(answerer.judge, query.text, evidence, None), evidence.relevance])
            labels.append(int(bool(case.answers)))
        progress("calibrating", n + 1, len(cases))
    weights, bias = fit_logistic(rows, labels)
    digest = hashlib.sha256(squad.read_bytes())
    digest.update(" ".join(c.id for c in cases).encode())
    return Calibration(model=settings.judge, model_sha256=_model_sha256(settings), weights=tuple(round(w, 4) for w in weights[:-1]),
                       relevance=round(weights[-1], 4), bias=round(bias, 4),  # thresholds: with_thresholds
                       data=f"{squad.name}: {sample} questions of its first fit articles (qa.eval.datasets.FIT_ARTICLES), "
                            f"seed 1", data_sha256=digest.hexdigest(), questions=sample)
