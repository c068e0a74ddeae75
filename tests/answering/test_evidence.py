"""The evidence stage: sentences scored, the best kept and numbered."""
import pytest

from qa.answering.evidence import select_evidence
from qa.index.search import idf_table
from qa.types import Passage, Query

from .helpers import ART, evidence_for
from ..conftest import FakeEmbedder


def test_the_best_sentence_lacking_the_kind_asked_for_yields_to_its_neighbour():
    evidence, _ = evidence_for("What stake does the fund keep in the deal Bloomberg reported?",
                            text="Bloomberg reported the tungsten deal on Monday. The fund will retain 30% of the "
                                 "shares. Boeing sold 40 aircraft to the airline.")
    shown, i = evidence.best
    assert "30%" in shown.sentences[i].text and evidence.fits


def test_a_number_far_from_the_best_sentence_does_not_answer():
    evidence, _ = evidence_for("How much did Cove Capital pay for the shares?",
                            text="Cove Capital bought 70% of the shares. The deal closed on Monday. The weather was "
                                 "mild. Separately, the city spent $4 million on parks.")
    assert evidence.kind == "money" and not evidence.fits


def test_a_follow_up_prefers_evidence_about_the_story_just_told():
    plain = Query("How many were acquired?")
    start = ART.text.index("The meeting")
    end = ART.text.index("Boeing Co.") + len("Boeing Co.")
    told = Passage("news", "News", ART.text[start:end], start, end, 1.0)
    follow_up = Query("How many were acquired?", "What did the meeting participants announce?", told)
    best = []
    for query in (plain, follow_up):
        shown, i = evidence_for(query)[0].best
        best.append(shown.sentences[i].text)
    assert "of the shares" in best[0] and "40 aircraft" in best[1]


def test_a_follow_up_is_ranked_by_its_own_words_within_the_story():
    text = ("The plague killed about 40% of Egypt's population. Half of Paris's population died. "
            "Egypt's population recovered slowly after the plague.")
    told = Passage("news", "News", text[:51], 0, 51, 1.0)
    query = Query("And of Paris?", "What share of Egypt's population did the plague kill?", told)
    shown, i = evidence_for(query, text=text)[0].best
    assert shown.sentences[i].text == "Half of Paris's population died."


def test_a_question_that_changes_the_story_is_not_pulled_back_to_it():
    told = Passage("news", "News", "Cove Capital LLC acquired 70% of the shares in two deposits.", 0, 60, 1.0)
    query = Query("How many aircraft will they buy from Boeing?", "Who bought the deposits?", told)
    shown, i = evidence_for(query)[0].best
    assert "40 aircraft" in shown.sentences[i].text


@pytest.mark.parametrize("text, title", [
    ("# Rover lands\n\nThe rover landed in Jezero crater on 18 February 2021.", "Mars news"),
    ("Rover lands\nThe rover landed in Jezero crater on 18 February 2021.", "Rover lands"),
])
def test_headings_are_neverevidence_for(text, title):
    passage = Passage("mars", title, text, 0, len(text), 1.0)
    evidence = select_evidence(Query("When did the rover land?"), [passage], {"mars": text},
                                         FakeEmbedder(), idf_table([text]), 4)
    assert [x.text for s in evidence.shown for x in s.sentences] == [
        "The rover landed in Jezero crater on 18 February 2021."]


def test_a_sentence_opening_with_a_pronoun_is_read_with_the_sentence_it_refers_to():
    text = ("Opposition leader Ola Nordmann criticised the decision. His party had proposed a smaller fleet of "
            "five ferries and a new bus depot near the old harbour in the west of the city.")
    shown, i = evidence_for("What did the opposition propose?", text=text)[0].best
    assert shown.sentences[i].text.startswith("His party")


def test_only_kinds_every_answer_has_steer_theevidence_for():
    evidence, _ = evidence_for("Who will retain the shares of the deal Bloomberg reported?")
    assert evidence.kind == "name" and all(x.fits for s in evidence.shown for x in s.sentences)


def test_evidence_without_the_kind_asked_for_does_not_fit():
    evidence, _ = evidence_for("How much will the Boeing aircraft cost?")
    assert evidence.kind == "money" and not evidence.fits


def test_evidence_keeps_the_most_relevant_sentences_within_budget():
    evidence, _ = evidence_for("Who reported the deal?", budget=1)
    assert len(evidence.shown) == 1 and "Bloomberg" in evidence.shown[0].passage.text
    related, _ = evidence_for("Who reported the deal?")
    unrelated, _ = evidence_for("What is the weather on Mars?")
    assert related.relevance > unrelated.relevance


def test_a_news_pages_furniture_is_never_evidence():
    text = ("Brenn, Austria Example Wire —\n\nThe tunnel is 61.4 kilometers long.\n\n"
            "Related: How the tunnel's length was measured\n\nPhoto: The tunnel's entrance at dawn.")
    passage = Passage("t", "Tunnel", text, 0, len(text), 1.0)
    evidence = select_evidence(Query("How long is the tunnel?"), [passage], {"t": text}, FakeEmbedder(),
                               idf_table([text]), 4)
    assert [x.text for x in evidence.sentences] == ["The tunnel is 61.4 kilometers long."]
