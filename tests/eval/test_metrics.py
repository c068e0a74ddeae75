"""Scoring: normalisation, right / misleading, citations, metrics."""
import json

import pytest

from qa.errors import QAError
from qa.eval.datasets import Case, load_cases
from qa.eval.metrics import (Result, answer_only, contains, f1, metrics, misleading, normalise_answer, right,
                             unsupported_sentences)
from qa.types import Answer, Citation



def _result(text, gold=("Boeing",), abstained=False, score=0.0, quote="plans to acquire 40 aircraft from Boeing Co."):
    citations = [] if abstained else [Citation(1, "a", "T", 0, len(quote), quote)]
    return Result(Case("q1", "Which company sells the aircraft?", gold, ("40 aircraft from Boeing",)),
                  Answer(text, abstained, citations), score, 1.0, 0.01, True)


def test_squad_normalisation_and_scores():
    assert normalise_answer("The  Boeing, Co.!") == "boeing co"
    assert contains("It is Boeing [1].", "boeing") and not contains("Boeings", "Boeing")
    assert f1("the Boeing company", "Boeing") == 2 * (1 / 2 * 1) / (1 / 2 + 1)


def test_containment_reads_possessives_digits_and_currency_signs_as_their_words():
    assert contains("Kazakhstan’s sovereign wealth fund", "Kazakhstan")
    assert contains("The State of Victoria has 8 electorates.", "eight") and contains("eight states", "8")
    assert not contains("eighty states", "8") and not contains("Kazakhstani fund", "Kazakhstan")
    assert contains("fees may rise up to €25,000 per year", "25,000") and contains("£5 million", "5 million")
    assert not contains("€250,000", "25,000")


def test_right_depends_on_gold_abstention_and_threshold():
    assert right(_result("Boeing sells them [1]."), -1.0)
    assert not right(_result("Boeing sells them [1].", score=-2.0), -1.0)  # gated: counts as abstained
    assert right(_result("The articles don't say.", gold=(), abstained=True), -1.0)
    assert not right(_result("Airbus [1]."), -1.0)


def test_a_wrong_answer_or_any_answer_to_the_unanswerable_is_misleading_and_counted():
    wrong, unanswerable = _result("Airbus [1]."), _result("Boeing [1].", gold=())
    assert misleading(wrong, -1.0) and misleading(unanswerable, -1.0)
    assert not misleading(_result("Boeing [1]."), -1.0) and not misleading(wrong, 0.5)  # gated: an abstention
    m = metrics([wrong, unanswerable, _result("Boeing [1].")], -1.0)
    assert m["misleading"] == 2 and m["misleading_rate"] == round(2 / 3, 4)


def test_em_and_f1_score_the_answer_without_markers_or_quotes():
    assert answer_only("“Boeing” [1], [2].") == "Boeing,." and normalise_answer(answer_only("Boeing [1].")) == "boeing"
    m = metrics([_result("Boeing [1].")], -1.0)
    assert m["squad_em"] == 1.0 and m["squad_f1"] == 1.0 and m["first_progress_p50_s"] == 0.01


def test_citation_precision_counts_citations_and_recall_counts_answers():
    quotes = ["plans to acquire 40 aircraft from Boeing Co.", "The summit was held in Washington."]
    r = _result("Boeing [1]. It met in Washington [2].")
    r = Result(r.case, Answer(r.answer.text, False, [Citation(i + 1, "a", "T", 0, len(q), q)
                                                     for i, q in enumerate(quotes)]), 0.0, 1.0, 0.01, True)
    m = metrics([r], -1.0)
    assert m["citation_precision"] == 0.5 and m["citation_recall"] == 1.0


def test_unsupported_sentences_are_counted_independently():
    assert unsupported_sentences(_result("Boeing sells 40 aircraft [1].")) == (0, 1)
    assert unsupported_sentences(_result("Airbus builds rockets in Toulouse [1].")) == (1, 1)


def test_metrics_and_both_file_formats(tmp_path):
    m = metrics([_result("Boeing [1]."), _result("No.", gold=(), abstained=True)], -1.0)
    assert m["accuracy"] == 1.0 and m["citation_precision"] == 1.0 and m["abstained_of_unanswerable"] == 1.0
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"questions": [{"id": "a", "question": "q?", "answers": ["x"], "support": "s"}],
                                "followups": [{"id": "f", "history": [["q?", None]], "question": "And?",
                                               "answers": ["y"], "support": None}]}))
    kind, cases, articles = load_cases(seed)
    assert kind == "seed_dev" and cases[1].history == (("q?", None),) and articles is None
    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps({"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [
        {"id": "1", "question": "q", "answers": [], "is_impossible": True}]}]}]}))
    kind, cases, articles = load_cases(squad)
    assert kind == "squad_v2" and cases[0].answers == () and articles == squad
    asked_of_squad = tmp_path / "followups.json"
    asked_of_squad.write_text(json.dumps({"articles": "squad.json", "questions": [], "followups": []}))
    assert load_cases(asked_of_squad)[2] == squad
    squad.unlink()
    with pytest.raises(QAError, match="squad.json does not exist"):
        load_cases(asked_of_squad)
