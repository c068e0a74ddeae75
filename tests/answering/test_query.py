"""The query stage: the question as searched; a follow-up carries the turns it leans on."""
from qa.answering import search_query
from qa.types import Query


def test_a_chain_of_follow_ups_keeps_the_topic_it_started_from():
    history = [("Who acquired the tungsten deposits in Kazakhstan?", "Cove Capital [1]."),
               ("And what share?", "70% [1].")]
    query = search_query("And when?", history)
    assert query.earlier == "Who acquired the tungsten deposits in Kazakhstan? And what share?"
    fresh = [("How many aircraft will Kazakhstan buy?", "40 [1]."), ("Who reported the tungsten deal?", "x")]
    assert search_query("And when?", fresh).earlier == "Who reported the tungsten deal?"


def test_follow_up_is_searched_with_the_previous_question():
    query = search_query("And what stake does the seller keep?", [("Who reported the tungsten deal?", "x")])
    assert query.text == "Who reported the tungsten deal? And what stake does the seller keep?"
    assert search_query("Who bought the aircraft from Boeing today?", [("Earlier?", "x")]) == Query(
        "Who bought the aircraft from Boeing today?")


def test_follow_up_to_an_empty_question_is_a_plain_question():
    assert search_query("And what stake?", [("  ", None)]) == Query("And what stake?")
