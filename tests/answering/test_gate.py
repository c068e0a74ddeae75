"""The gate stage: the judge reads the best few sentences, each after what it leans on, in one batch."""
from qa import prompts
from qa.answering import gate
from qa.answering.calibration import Calibration
from qa.ingest import make_article
from qa.types import Passage

from .helpers import evidence_for, evidence_of

KESSING = make_article("kessing", "Kessing approves second bridge over the Marl\n\nThe Kessing town council on Thursday "
                       "approved a second road bridge over the river Marl, ending a four-year dispute with the regional "
                       "government. The bridge will cost 7.5 million euros and is due to open in 2028, the mayor, Ilse "
                       "Brandt, told reporters. Construction work is expected to start next spring.", date="2026-11-20")
CALIBRATION = Calibration("m", "0" * 64, (2.0,), 1.0, 0.0, "d", "1" * 64, 1)


class CountingJudge:
    def __init__(self):
        self.calls = []

    def judge(self, prompts):
        self.calls.append(prompts)
        return [1.0 if "7.5 million" in p.user else -1.0 for p in prompts]


def test_a_candidate_is_read_after_its_title_date_and_the_sentences_it_leans_on():
    evidence, _ = evidence_of("How much will the new bridge over the Marl cost?", KESSING)
    bridge = next(x for x in evidence.sentences if x.text.startswith("The bridge will cost"))
    assert gate.context(bridge) == ("Kessing approves second bridge over the Marl (2026-11-20). The Kessing town "
                                    "council on Thursday approved a second road bridge over the river Marl, ending a "
                                    "four-year dispute with the regional government. " + bridge.text)


def test_a_follow_up_is_judged_with_the_sentence_that_answered_the_earlier_question():
    evidence, _ = evidence_for("How many aircraft?")
    best = evidence.sentences[0]
    told = Passage("news", "News", "Bloomberg reported the deal on Monday.", 0, 10, 1.0)
    assert gate.context(best, told).startswith("Bloomberg reported the deal on Monday. News.")
    assert gate.context(best, told).endswith(best.text)


def test_the_best_few_candidates_are_judged_in_one_batch_and_the_best_reading_leads():
    evidence, _ = evidence_of("How much will the new bridge over the Marl cost?", KESSING)
    judge = CountingJudge()
    reading = gate.read(judge, CALIBRATION, "How much will the new bridge over the Marl cost?", evidence, None)
    assert len(judge.calls) == 1 and len(judge.calls[0]) == len(prompts.JUDGES) * len(reading.readings)
    assert 1 <= len(reading.readings) <= gate.CANDIDATES and all(x.fits for x in gate.candidates(evidence))
    assert reading.best.sentence.text.startswith("The bridge will cost 7.5 million euros")
    assert reading.answerability == 2.0 + reading.best.sentence.relevance
    assert [r.answerability for r in reading.readings] == sorted((r.answerability for r in reading.readings),
                                                                 reverse=True)
