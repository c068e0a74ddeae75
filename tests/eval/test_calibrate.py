import json
import math

import pytest

from qa.eval import calibrate
from qa.errors import ModelError


def test_logistic_fit_recovers_a_separating_direction():
    rows = [[x, 0.0] for x in (-3, -2, -1, -0.5, 0.5, 1, 2, 3)]
    labels = [0, 0, 0, 1, 0, 1, 1, 1]
    weights, bias = calibrate.fit_logistic(rows, labels)
    assert weights[0] > 0.5 and abs(weights[1]) < 1e-6 and abs(bias) < 0.5


def _o(gate, check, score):
    return calibrate.Outcome(gate, check, score)


def test_utility_counts_what_both_thresholds_let_through():
    outcomes = [_o(-1.0, 0.5, -1), _o(-0.5, 3.0, 1), _o(0.0, 1.0, -1), _o(0.2, 2.5, 1), _o(0.9, 2.0, 0),
                _o(1.5, 1.5, -1), _o(2.0, 3.5, 1), _o(float("-inf"), float("-inf"), 0)]
    assert calibrate.utility(outcomes, -1.0, 2.5) == 3
    assert calibrate.utility(outcomes, -1.0, 0.5, cost=2.0) == 3 - 6
    assert calibrate.utility(outcomes, 1.0, 0.0) == 1 - 2


def test_a_gate_only_noisily_better_gives_way_to_the_lowest_gate_within_one_standard_error():
    # The high gate is worth 30. Gate 0.0 adds 2 right and 2 misleading answers (30 + 2 - 2 x 2 = 28), within one
    # standard error of 30, so the lowest gate is taken, with the check that still stops the five others.
    outcomes = [_o(2.0, 3.0, 1)] * 30 + [_o(0.0, 3.0, 1)] * 2 + [_o(0.0, 3.0, -1)] * 2 + [_o(0.5, 0.0, -1)] * 5
    assert calibrate.utility(outcomes, 1.0, 1.0) == 30 and calibrate.utility(outcomes, 0.0, 1.0) == 28
    assert calibrate.place_thresholds(outcomes) == (-0.001, 2.999)  # within one SE: the check still stops five


def test_a_gate_that_clearly_pays_is_kept():
    outcomes = [_o(2.0, 3.0, 1)] * 30 + [_o(0.0, 3.0, -1)] * 15 + [_o(0.0, 3.0, 1)] * 2
    assert calibrate.place_thresholds(outcomes) == (1.999, 2.999)


def test_thresholds_that_make_nothing_worth_answering_are_an_error():
    with pytest.raises(ModelError, match="worth more than abstaining"):
        calibrate.place_thresholds([_o(0.5, 1.0, -1), _o(1.0, 2.0, -1)])


def test_each_fit_set_weighs_the_same_however_many_questions_it_has():
    groups = {"squad": [_o(1.0, 1.0, -1)] * 30, "news": [_o(1.0, 1.0, 1)] * 10}
    outcomes = calibrate.weighted(groups)
    assert len(outcomes) == 40
    assert math.isclose(calibrate.utility(outcomes, 0.0, 0.0, cost=1.0), 0.0)  # 20 lost, 20 won
    assert math.isclose(sum(o.weight for o in outcomes), 40)


def test_the_fit_answers_are_stored_per_reader_and_set_with_their_key_and_a_missing_store_is_empty(tmp_path):
    key = {"sha256": "ab", "split": "fit", "sample": None, "commit": "c1", "settings": {"k": 4}}
    groups = {"a.json": (key, [_o(0.5, 1.0, 1)]), "b.json": (key, [_o(-1.0, float("-inf"), 0)])}
    others = {"a.json": (key, [_o(2.0, 2.0, -1)])}
    calibrate.save_outcomes(groups, "m", "small", tmp_path)
    calibrate.save_outcomes(others, "m", "large", tmp_path)
    assert calibrate.load_outcomes("m", "small", tmp_path) == groups
    assert calibrate.load_outcomes("m", "large", tmp_path) == others
    assert calibrate.load_outcomes("m", "third", tmp_path) == {}
    assert calibrate.load_outcomes("other", "small", tmp_path) == {}


def test_stored_answers_are_reused_only_for_the_same_content_and_settings_whatever_the_commit():
    key = {"sha256": "ab", "split": "fit", "sample": None, "commit": "c1", "settings": {"k": 4}}
    assert calibrate._same(key, {**key, "commit": "c2"})
    assert not calibrate._same(key, {**key, "sha256": "cd"})
    assert not calibrate._same(key, {**key, "settings": {"k": 5}})


def test_a_fit_sets_hash_covers_the_articles_it_names(tmp_path):
    (tmp_path / "fit").mkdir()
    article = tmp_path / "fit" / "a.txt"
    article.write_text("The council voted 41 to 26.")
    questions = tmp_path / "q.json"
    questions.write_text(json.dumps({"articles": "fit", "questions": [
        {"id": "x", "question": "What was the vote?", "answers": ["41 to 26"]}]}))
    before = calibrate._digest(calibrate.FitSet(questions))
    article.write_text("The council voted 40 to 27.")
    assert calibrate._digest(calibrate.FitSet(questions)) != before


def test_a_feature_held_monotone_never_gets_a_negative_weight():
    """Unanswerable fit questions written to overlap the text make relevance look like evidence against answering;
    held monotone, its weight stays at zero and the other features carry the fit."""
    rows = [[j, r] for j, r in ((2, 0.2), (1.5, 0.3), (1, 0.25), (-1, 0.9), (-2, 0.8), (-1.5, 0.95), (0.5, 0.4))]
    labels = [1, 1, 1, 0, 0, 0, 1]
    free, _ = calibrate.fit_logistic(rows, labels)
    held, _ = calibrate.fit_logistic(rows, labels, monotone=(0, 1))
    assert free[1] < 0 and held[1] == 0.0 and held[0] > 0


@pytest.mark.parametrize("judge", ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"])
def test_the_shipped_thresholds_are_the_ones_placed_on_the_shipped_fit_answers(judge):
    """What `qa calibrate` wrote: each reader's thresholds are place_thresholds of its stored fit answers, every fit
    set of FIT_SETS answered, each recorded with its set's content hash."""
    from qa.answering import calibration

    fitted = calibration.load(judge)
    assert fitted.placed
    for placed in fitted.placed:
        stored = calibrate.load_outcomes(judge, placed.reader)
        assert list(stored) == [fit.name for fit in calibrate.FIT_SETS]
        assert all(len(key["sha256"]) == 64 and key["sha256"] in placed.data for key, _ in stored.values())
        outcomes = calibrate.weighted({name: group for name, (_, group) in stored.items()})
        assert calibrate.place_thresholds(outcomes) == (placed.gate, placed.check)
