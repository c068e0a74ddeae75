"""decide: every rule that turns into an abstention or a dropped sentence."""
import pytest

from qa.answering import decide
from qa.answering.calibration import Calibration, Placed
from qa.answering.kinds import answer_kind
from qa.settings import Settings

CALIBRATION = Calibration("m", "0" * 64, (1.0, 1.0), 0.0, 0.0, "d", "1" * 64, 1,
                          (Placed(Settings().reader, 0.75, 2.5, "fit"), Placed("other", 9.0, 9.0, "fit")))


@pytest.mark.parametrize("question, text, new, expected", [
    ("How many ferries?", "They ordered six ferries.", {"6"}, True),
    ("How many ferries?", "They ordered ferries.", {"order"}, False),
    ("When did they meet?", "They met in June.", {"june"}, True),
    ("Who reported it?", "It was reported by Bloomberg.", {"bloomberg"}, True),
    ("Who reported it?", "It was reported widely.", {"widely"}, False),
    ("Why did they go?", "To trade.", {"trade"}, True),
    ("How much will the aircraft cost?", "They will buy 40 aircraft.", {"40", "buy"}, False),
    ("How much will the aircraft cost?", "The 40 aircraft cost $12 billion.", {"40", "12"}, True),
    ("How much will the ferries cost?", "The deal for six ferries is worth 2.1 billion.", {"6", "2.1"}, True),
    ("How much did the council pay?", "It paid 400 million kroner.", {"400"}, True),
    ("How much did prices rise?", "Prices rose 4%.", {"4", "rose"}, True),
    ("How many empires were there?", "They number in the dozens.", {"number", "dozen"}, True),
    ("Which wildly popular show was green lit for a new season?", "The South Korean show is back.", {"south"}, False),
    ("Which wildly popular show was green lit for a new season?", "Squid Game is back.", {"squid", "game"}, True),
    ("Which product remains hard to find?", "Baby formula is still scarce.", {"babi", "formula"}, True),
])
def test_answer_kinds(question, text, new, expected):
    assert decide.adds_kind(answer_kind(question), text, new) is expected


def test_thresholds_are_the_settings_else_the_ones_placed_for_the_reader():
    assert decide.thresholds(Settings(), CALIBRATION) == decide.Thresholds(0.75, 2.5)
    assert decide.thresholds(Settings(check_threshold=1.0), CALIBRATION) == decide.Thresholds(0.75, 1.0)
    assert decide.thresholds(Settings(abstain_threshold=-1.0, check_threshold=0.0), CALIBRATION) == \
        decide.Thresholds(-1.0, 0.0)


def test_only_on_topic_evidence_of_the_kind_asked_for_is_judged():
    assert decide.not_worth_judging(0.5, True, False, 0.3) is None
    assert decide.not_worth_judging(0.1, True, False, 0.3) == decide.OFF_TOPIC
    assert decide.not_worth_judging(0.1, True, True, 0.3) is None  # a follow-up to an on-topic question
    assert decide.not_worth_judging(0.9, False, False, 0.3) == decide.WRONG_KIND


def test_the_gate_lets_through_only_judged_evidence_at_or_above_it():
    limits = decide.Thresholds(0.5, 0.0)
    assert decide.answerable(0.5, limits)
    assert not decide.answerable(0.49, limits)
    assert not decide.answerable(None, limits)  # never judged: off-topic
