"""What the gate before the writer is worth, and what other gates would be, on the fit sets only:
`QA_PROFILE=accurate .venv/bin/python bench/gate_variants.py`. The stored fit answers
(qa/calibration/<judge>.outcomes.json, written by `qa calibrate`) were answered with no gate, so a different gate
changes only which of them are let through: each variant recomputes the gate's log-odds per fit question and
places both thresholds with `qa calibrate`'s own rule, for every reader stored. Variants: the judge on the best
evidence sentence (what the answerer does), the larger of the judge on the best and the second best sentence,
the judge on a best sentence that refers back read with the sentence before it, the evidence relevance alone, no
gate. Follow-up questions keep their stored log-odds. Slow: two judge calls per fit question."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import pipeline, prompts  # noqa: E402
from qa.answering import evidence as evidence_stage  # noqa: E402
from qa.answering import decide  # noqa: E402
from qa.eval.calibrate import ANSWERED, load_outcomes, place_thresholds, utility, weighted  # noqa: E402
from qa.errors import ModelError  # noqa: E402
from qa.eval.datasets import articles_index, load_cases, select_cases  # noqa: E402
from qa.settings import Settings  # noqa: E402

FIT_SETS = (ROOT.parent / "shared" / "eval" / "squad_v2_dev15.json", ROOT / "bench" / "fit_news.json")
VARIANTS = ("best sentence (now)", "best two, the larger", "with the sentence referred back to", "relevance alone",
            "no gate")


def gates(source: Path, settings: Settings) -> list[tuple[float, ...] | None]:
    """Per fit question, in the order qa calibrate answered them: the gate's log-odds under each variant, or
    None where the stored one stands (a follow-up, or evidence not worth judging)."""
    squad = load_cases(source)[0] == "squad_v2"  # the questions calibrate.fit_outcomes answers
    _, cases, articles = select_cases(source, ANSWERED if squad else None, "fit" if squad else "all")
    answerer = pipeline.answerer_for(replace(settings, index=articles_index(articles, settings)))
    articles_text = answerer.index().texts
    found = []
    for case in cases:
        query = answerer.query(case.question)
        passages = answerer.retrieve(query)
        evidence = answerer.evidence(query, passages)
        if case.history or decide.not_worth_judging(evidence.relevance, evidence.fits, False,
                                                    settings.relevance_floor) is not None:
            found.append(None)
            continue
        ranked = sorted((x for shown in evidence.shown for x in shown.sentences), key=lambda x: -x.relevance)
        shown, i = evidence.best
        best = shown.sentences[i]
        before = _before(best, passages, articles_text)

        def judged(text: str) -> float:
            return answerer.calibration.answerability(answerer.judge.judge(prompts.judges(query.text, text)),
                                                      evidence.relevance)

        now = judged(best.text)
        second = ranked[1] if len(ranked) > 1 and ranked[1] is not best else None
        found.append((now, max(now, judged(second.text)) if second else now,
                      judged(f"{before} {best.text}") if before else now, evidence.relevance, 0.0))
    return found


def _before(best, passages, texts: dict[str, str]) -> str:
    """The sentence a best sentence refers back to, as the evidence ranking reads it (evidence._refers_back)."""
    candidates = evidence_stage._candidate_sentences(passages, texts)
    n = next(n for n, (p, start, _) in enumerate(candidates) if (p.article_id, start) == (best.article_id, best.start))
    if not evidence_stage._refers_back(candidates, n, texts):
        return ""
    passage, start, end = candidates[n - 1]
    return texts[passage.article_id][start:end]


def main() -> None:
    settings = replace(Settings.from_env(), abstain_threshold=float("-inf"), check_threshold=float("-inf"))
    variants = {source.name: gates(source, settings) for source in FIT_SETS}
    for reader, groups in _stored(settings.judge).items():
        for n, name in enumerate(VARIANTS):
            chosen = {set_name: [o if v is None or o.answerability == float("-inf") else replace(o, answerability=v[n])
                                 for o, v in zip(group, variants[set_name])] for set_name, group in groups.items()}
            outcomes = weighted(chosen)
            try:
                gate, check = place_thresholds(outcomes)
            except ModelError as exc:
                print(f"{reader} | {name}: {exc}")
                continue
            let = [o for o in outcomes if o.score and o.answerability >= gate and o.check >= check]
            print(f"{reader} | {name}: gate {gate}, check {check}: worth {utility(outcomes, gate, check):.1f}, "
                  f"right {sum(o.weight for o in let if o.score > 0):.1f}, "
                  f"misleading {sum(o.weight for o in let if o.score < 0):.1f}")


def _stored(judge: str) -> dict:
    from qa.settings import PROFILES

    readers = {reader for reader, judged_by in PROFILES.values() if judged_by == judge}
    return {reader: groups for reader in sorted(readers) if (groups := load_outcomes(judge, reader))}


if __name__ == "__main__":
    main()
