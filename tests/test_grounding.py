import pytest

from qa import grounding
from qa.ingest import make_article
from qa.grounding import claims, supports
from qa.lexical import stem
from qa.prompts import ABSTENTION, entailment
from qa.types import Passage, Query

from .conftest import FakeEmbedder, FakeGenerator

TEXT = ("Cove Capital LLC acquired 70% of the shares in two deposits. The fund will retain 30% of the shares. "
        "The meeting participants announced plans to acquire 40 aircraft from Boeing Co. "
        "Bloomberg reported the deal on Monday.")
ART = make_article("news", TEXT, "News")


def _evidence(question, budget=4, text=ART.text):
    passage = Passage("news", "News", text, 0, len(text), 1.0)
    texts = {"news": text}
    idf = grounding.idf_table([text])
    query = question if isinstance(question, Query) else Query(question)
    return grounding.select_evidence(query, [passage], texts, FakeEmbedder(), idf, budget), texts


@pytest.mark.parametrize("text, marked", [("It rose 5%.", "It rose 5% [2]."), ("Did it?", "Did it [2]?"),
                                          ("Talks with the U.S.", "Talks with the U.S. [2]."),
                                          ("Talks with the U.S..", "Talks with the U.S. [2]."),
                                          ("“It rose.”", "“It rose.” [2].")])
def test_the_marker_goes_before_one_closing_mark_and_an_initialism_keeps_its_dots(text, marked):
    assert grounding._with_marker(text, 2) == marked


def test_claims_parse_markers_and_trailing_markers():
    parsed = claims("Boeing sells 40 aircraft [1]. The fund keeps 30% [2, 3]. [4]")
    assert [(c.text, c.markers) for c in parsed] == [("Boeing sells 40 aircraft.", (1,)),
                                                    ("The fund keeps 30%.", (2, 3, 4))]


def test_a_claim_needs_its_names_and_numbers_in_the_cited_text():
    text = "Plans to acquire 40 aircraft from Boeing Co."
    assert supports("Boeing sells 40 aircraft.", {stem("Boeing"), stem("sells")}, text) == 0.5
    assert supports("Airbus sells 40 aircraft.", {stem("Airbus")}, text) == 0.0
    assert supports("Boeing sells 50 aircraft.", {"50"}, text) == 0.0


def test_supported_sentence_is_kept_and_citation_narrowed_to_its_sentence():
    evidence, texts = _evidence("How many aircraft from Boeing?")
    raw = "They will acquire 40 aircraft from Boeing [1]."
    answer = grounding.ground("How many aircraft from Boeing?", raw, evidence, texts)
    assert not answer.abstained and "40" in answer.text and answer.text.endswith("[1].")
    (citation,) = answer.citations
    assert citation.quote == "The meeting participants announced plans to acquire 40 aircraft from Boeing Co."
    assert texts["news"][citation.start:citation.end] == citation.quote
    assert answer.raw_text == raw


def _check(triples):
    return FakeGenerator().judge([entailment(*triple) for triple in triples])


def test_a_true_claim_that_does_not_answer_the_question_is_dropped_for_the_best_sentence_if_it_checks_out():
    evidence, texts = _evidence("Who reported the deal?")
    answer = grounding.ground("Who reported the deal?", "Participants will acquire 40 aircraft from Boeing [1].",
                              evidence, texts, _check)
    assert answer.text == "“Bloomberg reported the deal on Monday.” [1]."
    assert answer.rejected == ("Participants will acquire 40 aircraft from Boeing.",)
    strict = grounding.ground("Who reported the deal?", "Participants will acquire 40 aircraft from Boeing [1].",
                              evidence, texts, _check, check_threshold=1.5)
    assert strict.abstained and strict.text == ABSTENTION and strict.citations == []


def test_a_quote_that_lacks_the_kind_of_answer_asked_for_is_never_checked_or_shown():
    evidence, texts = _evidence("Who will retain 30% of the shares?")
    asked = []
    answer = grounding.ground("Who will retain 30% of the shares?", "Nothing [1].", evidence, texts,
                              lambda triples: asked.extend(triples) or [5.0] * len(triples))
    assert answer.abstained and asked == []


def test_a_claim_backed_by_other_evidence_than_the_best_sentence_stands_when_it_answers():
    question = "Who reported the deal on Monday and what will the fund keep?"
    evidence, texts = _evidence(question)
    best, i = evidence.best
    assert best.sentences[i].text.startswith("Bloomberg")
    answer = grounding.ground(question,
                              "The fund will retain 30% of the shares [2].", evidence, texts, _check)
    assert answer.text == "The fund will retain 30% of the shares [1]." and "retain 30%" in answer.citations[0].quote


@pytest.mark.parametrize("raw", ["The participants did not announce plans to acquire 40 aircraft from Boeing [1].",
                                 "They never planned to acquire 40 aircraft from Boeing [1]."])
def test_a_claim_denying_what_its_span_states_is_rejected_even_without_the_model(raw):
    evidence, texts = _evidence("How many aircraft will be acquired from Boeing?")
    answer = grounding.ground("How many aircraft will be acquired from Boeing?", raw, evidence, texts)
    assert answer.abstained and len(answer.rejected) == 1


def test_wrong_citation_is_reattributed_to_the_supporting_passage():
    other = make_article("other", "Bloomberg reported the aircraft deal with Boeing on Monday.", "Other")
    texts = {"news": ART.text, "other": other.text}
    passages = [Passage("other", "Other", other.text, 0, len(other.text), 1.0),
                Passage("news", "News", ART.text, 0, len(ART.text), 0.5)]
    question = "How many aircraft will be acquired from Boeing?"
    evidence = grounding.select_evidence(Query(question), passages, texts, FakeEmbedder(),
                                         grounding.idf_table(list(texts.values())), 6)
    boeing = next(s.number for s in evidence.shown if "40 aircraft" in s.passage.text)
    wrong = next(s.number for s in evidence.shown if s.number != boeing)
    answer = grounding.ground(question, f"They will acquire 40 aircraft from Boeing [{wrong}].", evidence, texts)
    assert answer.text == "They will acquire 40 aircraft from Boeing [1]."
    assert "40 aircraft from Boeing" in answer.citations[0].quote and answer.citations[0].article_id == "news"


def test_a_supported_claim_about_other_evidence_than_the_question_is_rejected_by_the_check():
    evidence, texts = _evidence("Who reported the deal?")
    answer = grounding.ground("Who reported the deal?", "The fund will retain 30% of the shares [1].", evidence,
                              texts, _check)
    assert answer.rejected == ("The fund will retain 30% of the shares.",) and "30%" not in answer.text


def test_unsupported_sentence_is_dropped_and_kept_in_rejected():
    evidence, texts = _evidence("How many aircraft from Boeing?")
    raw = "They will acquire 40 aircraft from Boeing [1]. The aircraft cost $5 billion [1]."
    answer = grounding.ground("How many aircraft from Boeing?", raw, evidence, texts)
    assert "billion" not in answer.text and answer.rejected == ("The aircraft cost $5 billion.",)


def test_nothing_supported_abstains_and_never_quotes_an_unchecked_sentence():
    evidence, texts = _evidence("Which company sells the aircraft?")
    answer = grounding.ground("Which company sells the aircraft?", "Airbus sells them [1].", evidence, texts)
    assert answer.abstained and answer.citations == [] and answer.raw_text == "Airbus sells them [1]."


def test_a_model_refusal_abstains_with_no_citations():
    evidence, texts = _evidence("What is the capital of Peru?")
    answer = grounding.ground("What is the capital of Peru?", "The passages do not mention it.", evidence, texts)
    assert answer.abstained and answer.text == ABSTENTION and answer.citations == []


def test_a_supported_claim_that_does_not_answer_the_kind_of_question_abstains():
    evidence, texts = _evidence("How many aircraft will be bought from Boeing?")
    answer = grounding.ground("How many aircraft will be bought from Boeing?",
                              "The meeting participants announced plans [1].", evidence, texts)
    assert answer.abstained and answer.rejected == ("The meeting participants announced plans.",)


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
])
def test_answer_kinds(question, text, new, expected):
    assert grounding.answers_type(grounding.answer_kind(question), text, new) is expected


def test_the_best_sentence_lacking_the_kind_asked_for_yields_to_its_neighbour():
    evidence, _ = _evidence("What stake does the fund keep in the deal Bloomberg reported?",
                            text="Bloomberg reported the tungsten deal on Monday. The fund will retain 30% of the "
                                 "shares. Boeing sold 40 aircraft to the airline.")
    shown, i = evidence.best
    assert "30%" in shown.sentences[i].text and evidence.fits


def test_a_number_far_from_the_best_sentence_does_not_answer():
    evidence, _ = _evidence("How much did Cove Capital pay for the shares?",
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
        shown, i = _evidence(query)[0].best
        best.append(shown.sentences[i].text)
    assert "of the shares" in best[0] and "40 aircraft" in best[1]


def test_a_follow_up_is_ranked_by_its_own_words_within_the_story():
    text = ("The plague killed about 40% of Egypt's population. Half of Paris's population died. "
            "Egypt's population recovered slowly after the plague.")
    told = Passage("news", "News", text[:51], 0, 51, 1.0)
    query = Query("And of Paris?", "What share of Egypt's population did the plague kill?", told)
    shown, i = _evidence(query, text=text)[0].best
    assert shown.sentences[i].text == "Half of Paris's population died."


def test_a_question_that_changes_the_story_is_not_pulled_back_to_it():
    told = Passage("news", "News", "Cove Capital LLC acquired 70% of the shares in two deposits.", 0, 60, 1.0)
    query = Query("How many aircraft will they buy from Boeing?", "Who bought the deposits?", told)
    shown, i = _evidence(query)[0].best
    assert "40 aircraft" in shown.sentences[i].text


@pytest.mark.parametrize("text, title", [
    ("# Rover lands\n\nThe rover landed in Jezero crater on 18 February 2021.", "Mars news"),
    ("Rover lands\nThe rover landed in Jezero crater on 18 February 2021.", "Rover lands"),
])
def test_headings_are_never_evidence(text, title):
    passage = Passage("mars", title, text, 0, len(text), 1.0)
    evidence = grounding.select_evidence(Query("When did the rover land?"), [passage], {"mars": text},
                                         FakeEmbedder(), grounding.idf_table([text]), 4)
    assert [x.text for s in evidence.shown for x in s.sentences] == [
        "The rover landed in Jezero crater on 18 February 2021."]


def test_a_sentence_opening_with_a_pronoun_is_read_with_the_sentence_it_refers_to():
    text = ("Opposition leader Ola Nordmann criticised the decision. His party had proposed a smaller fleet of "
            "five ferries and a new bus depot near the old harbour in the west of the city.")
    shown, i = _evidence("What did the opposition propose?", text=text)[0].best
    assert shown.sentences[i].text.startswith("His party")


def test_only_kinds_every_answer_has_steer_the_evidence():
    evidence, _ = _evidence("Who will retain the shares of the deal Bloomberg reported?")
    assert evidence.kind == "name" and all(x.fits for s in evidence.shown for x in s.sentences)


def test_evidence_without_the_kind_asked_for_does_not_fit():
    evidence, _ = _evidence("How much will the Boeing aircraft cost?")
    assert evidence.kind == "money" and not evidence.fits


def test_judge_context_is_the_best_sentence_with_neighbours():
    evidence, _ = _evidence("Who reported the deal?")
    context = grounding.judge_context(evidence)
    assert context == "Bloomberg reported the deal on Monday."


def test_a_follow_up_is_judged_with_the_sentence_that_answered_the_earlier_question():
    evidence, _ = _evidence("How many aircraft?")
    told = Passage("news", "News", "Bloomberg reported the deal on Monday.", 0, 10, 1.0)
    assert grounding.judge_context(evidence, told) == (
        "Bloomberg reported the deal on Monday. The meeting participants announced plans to acquire 40 aircraft "
        "from Boeing Co.")


def test_evidence_keeps_the_most_relevant_sentences_within_budget():
    evidence, _ = _evidence("Who reported the deal?", budget=1)
    assert len(evidence.shown) == 1 and "Bloomberg" in evidence.shown[0].passage.text
    related, _ = _evidence("Who reported the deal?")
    unrelated, _ = _evidence("What is the weather on Mars?")
    assert related.relevance > unrelated.relevance


def _evidence_of(question, *articles):
    """Evidence for `question` from whole articles, each retrieved as one passage."""
    texts = {a.id: a.text for a in articles}
    passages = [Passage(a.id, a.title, a.text, 0, len(a.text), 1.0, a.date) for a in articles]
    return grounding.select_evidence(Query(question), passages, texts, FakeEmbedder(),
                                     grounding.idf_table(list(texts.values())), 4), texts


def test_conflicting_sources_are_both_cited_newest_first():
    old = make_article("old", "The port of Bergen ordered six electric ferries from Damen.", "Port news", "2026-03-02")
    new = make_article("new", "The port of Bergen ordered nine electric ferries from Damen.", "Correction", "2026-03-09")
    evidence, texts = _evidence_of("How many electric ferries did Bergen order?", old, new)
    old_number = next(s.number for s in evidence.shown if s.passage.article_id == "old")
    raw = f"Bergen ordered six electric ferries [{old_number}]."
    answer = grounding.ground("How many electric ferries did Bergen order?", raw, evidence, texts,
                              lambda triples: [2.0] * len(triples), 0.0)
    assert answer.text.startswith("The sources differ.")
    assert [c.article_id for c in answer.citations] == ["new", "old"]
    assert answer.text.index("nine") < answer.text.index("six") and "2026-03-09" in answer.text


def test_the_other_source_of_a_conflict_is_quoted_only_when_the_check_reads_it_as_an_answer():
    old = make_article("old", "The port of Bergen ordered six electric ferries from Damen.", "Port news", "2026-03-02")
    new = make_article("new", "The port of Bergen ordered nine electric ferries from Damen.", "Correction", "2026-03-09")
    question = "How many electric ferries did Bergen order?"
    evidence, texts = _evidence_of(question, old, new)
    old_number = next(s.number for s in evidence.shown if s.passage.article_id == "old")
    raw = f"Bergen ordered six electric ferries [{old_number}]."
    read = []

    def entails(triples):  # the check reads the answer as stated; the other article's sentence, not
        read.extend(triples)
        return [-2.0 if "nine" in span else 2.0 for _, span, _ in triples]

    answer = grounding.ground(question, raw, evidence, texts, entails, 0.0)
    assert "differ" not in answer.text and [c.article_id for c in answer.citations] == ["old"]
    assert any("nine" in span for _, span, _ in read)  # it was read, and refused
    passing = grounding.ground(question, raw, evidence, texts, lambda triples: [2.0] * len(triples), 0.0)
    assert passing.text.startswith("The sources differ.")


def test_a_quoted_sentence_that_opens_with_a_quotation_mark_gets_no_second_one():
    article = make_article("q", '"A key aspect is the supply of tungsten," the minister said on Monday.', "Q")
    question = "What did the minister say about tungsten?"
    evidence, texts = _evidence_of(question, article)
    answer = grounding.ground(question, "Nothing.", evidence, texts, lambda triples: [2.0] * len(triples), 0.0)
    assert answer.text.startswith('"A key aspect') and "“\"" not in answer.text and answer.citations


def test_agreeing_sources_are_not_a_conflict():
    a = make_article("a", "The port of Bergen ordered six electric ferries from Damen.", "A", "2026-03-02")
    b = make_article("b", "The port of Bergen ordered six electric ferries from Damen.", "B", "2026-03-09")
    evidence, texts = _evidence_of("How many ferries?", a, b)
    answer = grounding.ground("How many ferries?", "Bergen ordered six electric ferries [1].", evidence, texts)
    assert "differ" not in answer.text and len(answer.citations) == 1


def test_a_two_part_answer_keeps_each_part_with_a_citation_of_its_own_passage():
    """A question in two parts: each part of the answer is checked against, and cites, the
    passage it comes from; a marker the model got wrong is re-attributed."""
    a = make_article("a", "The shipyard Damen will build the nine electric ferries.", "Ferries", "2026-03-02")
    b = make_article("b", "The first electric ferry arrives in Bergen in 2027.", "Timetable", "2026-03-09")
    question = "Who builds the electric ferries, and when does the first ferry arrive?"
    evidence, texts = _evidence_of(question, a, b)
    number = {s.passage.article_id: s.number for s in evidence.shown}
    raw = f"The ferries will be built by Damen [{number['a']}]. The first ferry arrives in 2027 [{number['a']}]."
    answer = grounding.ground(question, raw, evidence, texts)
    assert [(c.number, c.article_id) for c in answer.citations] == [(1, "a"), (2, "b")]
    assert answer.text == "The ferries will be built by Damen [1]. The first ferry arrives in 2027 [2]."
