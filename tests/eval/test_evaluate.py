"""The runner: each question asked once of the real Answerer, scored off its trace."""


from qa.eval.datasets import Case
from qa.eval.metrics import (Result)
from qa.types import Answer, Citation

from ..conftest import tiny_eval_file


def _result(text, gold=("Boeing",), abstained=False, score=0.0, quote="plans to acquire 40 aircraft from Boeing Co."):
    citations = [] if abstained else [Citation(1, "a", "T", 0, len(quote), quote)]
    return Result(Case("q1", "Which company sells the aircraft?", gold, ("40 aircraft from Boeing",)),
                  Answer(text, abstained, citations), score, 1.0, 0.01, True)


def test_report_rows_keep_every_column_for_off_topic_questions():
    from qa.eval.evaluate import Report, format_report

    off_topic = _result("The articles don't say.", gold=(), abstained=True, score=float("-inf"))
    report = Report("seed_dev", -0.3, [off_topic, _result("Boeing [1].")], metrics={}, sweep=[])
    rows = [line for line in format_report(report).splitlines() if line.startswith("| q1 ")]
    assert len(rows) == 2 and all(row.count("|") == 7 for row in rows) and "not judged" in rows[0]


def test_qa_eval_runs_the_real_answerer_end_to_end_on_a_tiny_set(tmp_path, settings):
    from qa.eval.evaluate import evaluate, format_report

    report = evaluate(tiny_eval_file(tmp_path), settings)
    m = report.metrics
    assert m["questions"] == 2 and m["answered_right_of_answerable"] == 1.0 and m["abstained_of_unanswerable"] == 1.0
    assert m["misleading"] == 0 and m["citation_precision"] == 1.0 and m["citation_recall"] == 1.0
    assert m["first_progress_p50_s"] is not None and m["first_progress_p50_s"] <= m["latency_p50_s"]
    assert any(p["threshold"] == 0.0 for p in report.sweep) and "| a | yes | yes |" in format_report(report)
