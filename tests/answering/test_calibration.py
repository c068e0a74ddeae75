"""The stored calibration the answering stages read: one file per judge model, thresholds per reader."""
import json
import math

import pytest

from qa.answering import calibration as calibrate
from qa.errors import ModelError
from qa.prompts import JUDGES


def test_a_calibration_round_trips_and_a_missing_one_names_the_command(tmp_path):
    fitted = calibrate.Calibration("m", "0" * 64, (0.5, 1.5), 2.0, -1.0, "d", "1" * 64, 10,
                                   (calibrate.Placed("r", -0.25, 1.5, "fit"),))
    fitted.save(tmp_path)
    assert calibrate.load("m", tmp_path) == fitted
    assert math.isclose(fitted.answerability([1.0, 1.0], 0.5), 0.5 + 1.5 + 1.0 - 1.0)
    with pytest.raises(ModelError, match="run `qa calibrate`"):
        calibrate.load("other", tmp_path)


@pytest.mark.parametrize("model", ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"])
def test_the_shipped_calibrations_name_their_model_and_data(model):
    data = json.loads((calibrate.FOLDER / f"{model}.json").read_text())
    from qa.models import packaged

    assert data["model"] == model and data["model_sha256"] == packaged(model).sha256
    assert len(data["data_sha256"]) == 64 and len(data["weights"]) == len(JUDGES) and data["questions"] > 0
    assert data["placed"] and all("fit_news.json" in p["data"] for p in data["placed"])


@pytest.mark.parametrize("model", ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"])
def test_the_shipped_calibration_rises_with_each_judge_and_never_falls_with_relevance(model):
    fitted = calibrate.load(model)
    zeros = [0.0] * len(JUDGES)
    base = fitted.answerability(zeros, 0.5)
    assert fitted.answerability(zeros, 0.8) >= base  # more relevant evidence never lowers answerability
    assert all(w >= 0 for w in fitted.weights) and fitted.answerability([1.0] * len(JUDGES), 0.5) > base
    with pytest.raises(ValueError):
        fitted.answerability([0.0] * (len(JUDGES) + 1), 0.5)  # the weights belong to prompts.JUDGES, one each


def test_each_reader_has_its_own_thresholds_and_a_missing_one_names_the_command():
    fitted = calibrate.Calibration("m", "0" * 64, (1.0, 1.0), 0.0, 0.0, "d", "1" * 64, 1)
    fitted = fitted.with_placement(calibrate.Placed("small", 0.5, 1.0, "fit"))
    fitted = fitted.with_placement(calibrate.Placed("large", -1.0, 2.0, "fit"))
    fitted = fitted.with_placement(calibrate.Placed("small", 0.25, 1.5, "refit"))
    assert fitted.placement("small") == calibrate.Placed("small", 0.25, 1.5, "refit")
    assert fitted.placement("large").gate == -1.0 and len(fitted.placed) == 2
    with pytest.raises(ModelError, match="qa calibrate --threshold-only"):
        fitted.placement("third")
