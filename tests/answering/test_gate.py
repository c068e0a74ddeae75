"""The gate stage: what the judge reads."""
from qa.answering import gate
from qa.types import Passage

from .helpers import evidence_for


def test_judge_context_is_the_best_sentence_with_neighbours():
    evidence, _ = evidence_for("Who reported the deal?")
    context = gate.context(evidence)
    assert context == "Bloomberg reported the deal on Monday."


def test_a_follow_up_is_judged_with_the_sentence_that_answered_the_earlier_question():
    evidence, _ = evidence_for("How many aircraft?")
    told = Passage("news", "News", "Bloomberg reported the deal on Monday.", 0, 10, 1.0)
    assert gate.context(evidence, told) == (
        "Bloomberg reported the deal on Monday. The meeting participants announced plans to acquire 40 aircraft "
        "from Boeing Co.")
