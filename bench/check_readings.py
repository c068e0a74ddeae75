"""How well each reading of the answer check separates right answers from misleading ones, on the fit sets
only: `.venv/bin/python bench/check_readings.py`. Answers the fit questions (the SQuAD dev15 fit articles'
seeded sample and bench/fit_news.json) with no gate and no check, then asks the judge model each reading of
each answer and prints the ROC AUC per fit set: prompts.ENTAILMENT, prompts.STATED and the lower of the two
(what verify.check_readings uses). Slow: every question runs the real models."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import pipeline, prompts  # noqa: E402
from qa.eval.calibrate import ANSWERED  # noqa: E402
from qa.eval.datasets import load_cases  # noqa: E402
from qa.eval.evaluate import evaluate  # noqa: E402
from qa.eval.metrics import misleading, right  # noqa: E402
from qa.answering.verify import MARKER  # noqa: E402
from qa.settings import Settings  # noqa: E402

FIT_SETS = (ROOT.parent / "shared" / "eval" / "squad_v2_dev15.json", ROOT / "bench" / "fit_news.json")


def answered(source: Path, settings: Settings) -> list[tuple[str, str, str, int]]:
    """(question, cited span, answer, +1 right / -1 misleading) of every answer given."""
    squad = load_cases(source)[0] == "squad_v2"
    report = evaluate(source, settings, limit=ANSWERED if squad else None, split="fit" if squad else "all")
    found = []
    for r in report.results:
        if r.answer.abstained or not r.answer.citations:
            continue
        label = 1 if r.case.answers and right(r, float("-inf")) else -1 if misleading(r, float("-inf")) else 0
        if label:
            found.append((r.case.question, r.answer.citations[0].quote, MARKER.sub("", r.answer.text).strip(), label))
    return found


def auc(scores: list[float], labels: list[int]) -> float:
    pos = [s for s, y in zip(scores, labels) if y > 0]
    neg = [s for s, y in zip(scores, labels) if y < 0]
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / max(len(pos) * len(neg), 1)


def main() -> None:
    settings = replace(Settings.from_env(), abstain_threshold=float("-inf"), check_threshold=float("-inf"))
    judge = pipeline.answerer_for(settings).judge
    for source in FIT_SETS:
        rows = answered(source, settings)
        labels = [y for *_, y in rows]
        answer = judge.judge([prompts.entailment(q, span, claim) for q, span, claim, _ in rows])
        stated = judge.judge([prompts.stated(span, claim) for _, span, claim, _ in rows])
        print(f"{source.name}: {len(rows)} answers, {labels.count(1)} right; ROC AUC "
              f"ENTAILMENT {auc(answer, labels):.3f}, STATED {auc(stated, labels):.3f}, "
              f"lower of the two {auc([min(a, s) for a, s in zip(answer, stated)], labels):.3f}")


if __name__ == "__main__":
    main()
