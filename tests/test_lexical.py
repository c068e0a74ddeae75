from hypothesis import given
from hypothesis import strategies as st

from qa.lexical import content_stems, names


def test_names_are_capitalised_words_inside_a_sentence_and_numbers():
    assert names("The summit ended. Putin met “Xi” in June with six leaders.") == {"xi", "june", "6"}


def test_abbreviations_and_codes_yield_only_words_a_citation_can_contain():
    # "U.S." and "C5+1" once yielded stems no cited text could hold, so every claim naming them was rejected.
    assert names('Trump hosted the "C5+1" group in U.S. efforts.') == {"5", "1"}


@given(st.text(alphabet="AbCd5+.,:!? \"'’-xYz", max_size=60))
def test_every_name_is_among_the_texts_own_words(text):
    assert names(text) <= set(content_stems(text))


def test_inflections_and_irregular_past_forms_share_a_stem():
    pairs = [("criticised", "criticized"), ("organisation", "organization"), ("labour", "labor"),
             ("centres", "centers"), ("harbour", "harbor"), ("vote", "voted"), ("ferry", "ferries"),
             ("build", "built"), ("sell", "sold"), ("acquire", "acquired")]
    assert all(content_stems(a) == content_stems(b) for a, b in pairs)
    assert content_stems("six ferries") == content_stems("6 ferry")
