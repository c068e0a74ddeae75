"""The verify stage: each draft sentence against a tight span, its polarity, its kind and the judge's check."""
import pytest

from qa.answering.verify import claims, supports
from qa.lexical import content_stems, stem
from qa.prompts import ABSTENTION

from .helpers import evidence_for, evidence_of, fake_check, ground
from qa.ingest import make_article


def test_claims_parse_markers_and_trailing_markers():
    parsed = claims("Boeing sells 40 aircraft [1]. The fund keeps 30% [2, 3]. [4]")
    assert [(c.text, c.markers) for c in parsed] == [("Boeing sells 40 aircraft.", (1,)),
                                                    ("The fund keeps 30%.", (2, 3, 4))]


def test_a_claim_needs_its_names_and_numbers_in_the_cited_text():
    text = "Plans to acquire 40 aircraft from Boeing Co."
    assert supports("Boeing sells 40 aircraft.", {stem("Boeing"), stem("sells")}, text) == 0.5
    assert supports("Airbus sells 40 aircraft.", {stem("Airbus")}, text) == 0.0
    assert supports("Boeing sells 50 aircraft.", {"50"}, text) == 0.0


def test_a_true_claim_that_does_not_answer_the_question_is_dropped_for_the_best_sentence_if_it_checks_out():
    evidence, texts = evidence_for("Who reported the deal?")
    answer = ground("Who reported the deal?", "Participants will acquire 40 aircraft from Boeing [1].",
                              evidence, texts, fake_check)
    assert answer.text == "“Bloomberg reported the deal on Monday.” [1]."
    assert answer.rejected == ("Participants will acquire 40 aircraft from Boeing.",)
    strict = ground("Who reported the deal?", "Participants will acquire 40 aircraft from Boeing [1].",
                              evidence, texts, fake_check, check_threshold=1.5)
    assert strict.abstained and strict.text == ABSTENTION and strict.citations == []


def test_a_quote_that_lacks_the_kind_of_answer_asked_for_is_never_checked_or_shown():
    evidence, texts = evidence_for("Who will retain 30% of the shares?")
    asked = []
    answer = ground("Who will retain 30% of the shares?", "Nothing [1].", evidence, texts,
                              lambda triples: asked.extend(triples) or [5.0] * len(triples))
    assert answer.abstained and asked == []


def test_a_claim_backed_by_other_evidence_than_the_best_sentence_stands_when_it_answers():
    question = "Who reported the deal on Monday and what will the fund keep?"
    evidence, texts = evidence_for(question)
    best, i = evidence.best
    assert best.sentences[i].text.startswith("Bloomberg")
    answer = ground(question,
                              "The fund will retain 30% of the shares [2].", evidence, texts, fake_check)
    assert answer.text == "The fund will retain 30% of the shares [1]." and "retain 30%" in answer.citations[0].quote


@pytest.mark.parametrize("raw", ["The participants did not announce plans to acquire 40 aircraft from Boeing [1].",
                                 "They never planned to acquire 40 aircraft from Boeing [1]."])
def test_a_claim_denying_what_its_span_states_is_rejected_even_without_the_model(raw):
    evidence, texts = evidence_for("How many aircraft will be acquired from Boeing?")
    answer = ground("How many aircraft will be acquired from Boeing?", raw, evidence, texts)
    assert answer.abstained and len(answer.rejected) == 1


def test_a_supported_claim_about_other_evidence_than_the_question_is_rejected_by_the_check():
    evidence, texts = evidence_for("Who reported the deal?")
    answer = ground("Who reported the deal?", "The fund will retain 30% of the shares [1].", evidence,
                              texts, fake_check)
    assert answer.rejected == ("The fund will retain 30% of the shares.",) and "30%" not in answer.text


def test_unsupported_sentence_is_dropped_and_kept_in_rejected():
    evidence, texts = evidence_for("How many aircraft from Boeing?")
    raw = "They will acquire 40 aircraft from Boeing [1]. The aircraft cost $5 billion [1]."
    answer = ground("How many aircraft from Boeing?", raw, evidence, texts)
    assert "billion" not in answer.text and answer.rejected == ("The aircraft cost $5 billion.",)


def test_nothing_supported_abstains_and_never_quotes_an_unchecked_sentence():
    evidence, texts = evidence_for("Which company sells the aircraft?")
    answer = ground("Which company sells the aircraft?", "Airbus sells them [1].", evidence, texts)
    assert answer.abstained and answer.citations == [] and answer.raw_text == "Airbus sells them [1]."


def test_a_model_refusal_abstains_with_no_citations():
    evidence, texts = evidence_for("What is the capital of Peru?")
    answer = ground("What is the capital of Peru?", "The passages do not mention it.", evidence, texts)
    assert answer.abstained and answer.text == ABSTENTION and answer.citations == []


def test_a_supported_claim_that_does_not_answer_the_kind_of_question_abstains():
    evidence, texts = evidence_for("How many aircraft will be bought from Boeing?")
    answer = ground("How many aircraft will be bought from Boeing?",
                              "The meeting participants announced plans [1].", evidence, texts)
    assert answer.abstained and answer.rejected == ("The meeting participants announced plans.",)


def test_a_quoted_sentence_that_opens_with_a_quotation_mark_gets_no_second_one():
    article = make_article("q", '"A key aspect is the supply of tungsten," the minister said on Monday.', "Q")
    question = "What did the minister say about tungsten?"
    evidence, texts = evidence_of(question, article)
    answer = ground(question, "Nothing.", evidence, texts, lambda triples: [2.0] * len(triples), 0.0)
    assert answer.text.startswith('"A key aspect') and "“\"" not in answer.text and answer.citations


@pytest.mark.parametrize("claim, text, backed", [
    ("It was Saudi Arabia.", "Saudi Arabian officials cracked down on toys.", True),
    ("The fund is from Kazakh owners.", "The fund is from Kazakhstan.", True),
    ("The winner was John Smith.", "The winner was Johnson Smith.", False),
    ("The winner was Austria.", "The winner was Australia.", False),
])
def test_a_country_is_backed_by_its_peoples_name_and_no_other(claim, text, backed):
    new = set(content_stems(claim))
    assert (supports(claim, new, text) > 0) is backed


def test_a_quote_is_checked_as_it_will_be_shown_alone_not_with_what_it_leans_on():
    article = make_article("s", "Squid Game is coming back for a second season.\n\nThe show also won a top prize.", "S")
    question = "What also won a top prize?"
    evidence, texts = evidence_of(question, article)
    read = []

    def entails(asked):  # reads a passage as answering only when it names the show
        read.extend(asked)
        return [2.0 if "Squid" in c.passage else -2.0 for c in asked]

    answer = ground(question, "Nothing.", evidence, texts, entails, 0.0)
    assert answer.abstained and read and all("Squid" not in c.passage for c in read)
