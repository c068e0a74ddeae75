"""The cite stage: what stands becomes the Answer, with exact spans; conflicting sources; markers."""
import pytest

from qa.answering import cite
from qa.ingest import make_article
from qa.types import Passage, Query

from .helpers import ART, evidence_for, evidence_of, ground
from qa.answering.evidence import select_evidence
from qa.index.search import idf_table
from ..conftest import FakeEmbedder


@pytest.mark.parametrize("text, marked", [("It rose 5%.", "It rose 5% [2]."), ("Did it?", "Did it [2]?"),
                                          ("Talks with the U.S.", "Talks with the U.S. [2]."),
                                          ("Talks with the U.S..", "Talks with the U.S. [2]."),
                                          ("“It rose.”", "“It rose.” [2].")])
def test_the_marker_goes_before_one_closing_mark_and_an_initialism_keeps_its_dots(text, marked):
    assert cite._with_marker(text, 2) == marked


def test_supported_sentence_is_kept_and_citation_narrowed_to_its_sentence():
    evidence, texts = evidence_for("How many aircraft from Boeing?")
    raw = "They will acquire 40 aircraft from Boeing [1]."
    answer = ground("How many aircraft from Boeing?", raw, evidence, texts)
    assert not answer.abstained and "40" in answer.text and answer.text.endswith("[1].")
    (citation,) = answer.citations
    assert citation.quote == "The meeting participants announced plans to acquire 40 aircraft from Boeing Co."
    assert texts["news"][citation.start:citation.end] == citation.quote
    assert answer.raw_text == raw


def test_wrong_citation_is_reattributed_to_the_supporting_passage():
    other = make_article("other", "Bloomberg reported the aircraft deal with Boeing on Monday.", "Other")
    texts = {"news": ART.text, "other": other.text}
    passages = [Passage("other", "Other", other.text, 0, len(other.text), 1.0),
                Passage("news", "News", ART.text, 0, len(ART.text), 0.5)]
    question = "How many aircraft will be acquired from Boeing?"
    evidence = select_evidence(Query(question), passages, texts, FakeEmbedder(),
                                         idf_table(list(texts.values())), 6)
    boeing = next(s.number for s in evidence.shown if "40 aircraft" in s.passage.text)
    wrong = next(s.number for s in evidence.shown if s.number != boeing)
    answer = ground(question, f"They will acquire 40 aircraft from Boeing [{wrong}].", evidence, texts)
    assert answer.text == "They will acquire 40 aircraft from Boeing [1]."
    assert "40 aircraft from Boeing" in answer.citations[0].quote and answer.citations[0].article_id == "news"


def test_conflicting_sources_are_both_cited_newest_first():
    old = make_article("old", "The port of Bergen ordered six electric ferries from Damen.", "Port news", "2026-03-02")
    new = make_article("new", "The port of Bergen ordered nine electric ferries from Damen.", "Correction", "2026-03-09")
    evidence, texts = evidence_of("How many electric ferries did Bergen order?", old, new)
    old_number = next(s.number for s in evidence.shown if s.passage.article_id == "old")
    raw = f"Bergen ordered six electric ferries [{old_number}]."
    answer = ground("How many electric ferries did Bergen order?", raw, evidence, texts,
                              lambda triples: [2.0] * len(triples), 0.0)
    assert answer.text.startswith("The sources differ.")
    assert [c.article_id for c in answer.citations] == ["new", "old"]
    assert answer.text.index("nine") < answer.text.index("six") and "2026-03-09" in answer.text


def test_the_other_source_of_a_conflict_is_quoted_only_when_the_check_reads_it_as_an_answer():
    old = make_article("old", "The port of Bergen ordered six electric ferries from Damen.", "Port news", "2026-03-02")
    new = make_article("new", "The port of Bergen ordered nine electric ferries from Damen.", "Correction", "2026-03-09")
    question = "How many electric ferries did Bergen order?"
    evidence, texts = evidence_of(question, old, new)
    old_number = next(s.number for s in evidence.shown if s.passage.article_id == "old")
    raw = f"Bergen ordered six electric ferries [{old_number}]."
    read = []

    def entails(asked):  # the check reads the answer as stated; the other article's sentence, not
        read.extend(asked)
        return [-2.0 if "nine" in c.span else 2.0 for c in asked]

    answer = ground(question, raw, evidence, texts, entails, 0.0)
    assert "differ" not in answer.text and [c.article_id for c in answer.citations] == ["old"]
    assert any("nine" in c.span for c in read)  # it was read, and refused
    passing = ground(question, raw, evidence, texts, lambda triples: [2.0] * len(triples), 0.0)
    assert passing.text.startswith("The sources differ.")


def test_agreeing_sources_are_not_a_conflict():
    a = make_article("a", "The port of Bergen ordered six electric ferries from Damen.", "A", "2026-03-02")
    b = make_article("b", "The port of Bergen ordered six electric ferries from Damen.", "B", "2026-03-09")
    evidence, texts = evidence_of("How many ferries?", a, b)
    answer = ground("How many ferries?", "Bergen ordered six electric ferries [1].", evidence, texts)
    assert "differ" not in answer.text and len(answer.citations) == 1


def test_a_two_part_answer_keeps_each_part_with_a_citation_of_its_own_passage():
    """A question in two parts: each part of the answer is checked against, and cites, the
    passage it comes from; a marker the model got wrong is re-attributed."""
    a = make_article("a", "The shipyard Damen will build the nine electric ferries.", "Ferries", "2026-03-02")
    b = make_article("b", "The first electric ferry arrives in Bergen in 2027.", "Timetable", "2026-03-09")
    question = "Who builds the electric ferries, and when does the first ferry arrive?"
    evidence, texts = evidence_of(question, a, b)
    number = {s.passage.article_id: s.number for s in evidence.shown}
    raw = f"The ferries will be built by Damen [{number['a']}]. The first ferry arrives in 2027 [{number['a']}]."
    answer = ground(question, raw, evidence, texts)
    assert [(c.number, c.article_id) for c in answer.citations] == [(1, "a"), (2, "b")]
    assert answer.text == "The ferries will be built by Damen [1]. The first ferry arrives in 2027 [2]."


def test_an_answer_to_a_question_about_this_week_says_when_its_source_reported_it():
    article = make_article("port", "The port of Bergen ordered nine electric ferries from Damen.", "Port", "2022-09-22")
    question = "How many electric ferries did the port of Bergen order this week?"
    evidence, texts = evidence_of(question, article)
    answer = ground(question, "The port ordered nine electric ferries [1].", evidence, texts)
    assert answer.text == "The port ordered nine electric ferries [1], reported on 22 September 2022."
    plain = ground(question.replace(" this week", ""), "The port ordered nine electric ferries [1].", evidence, texts)
    assert plain.text == "The port ordered nine electric ferries [1]."
