from hypothesis import given, settings
from hypothesis import strategies as st

from qa.ingest import make_article, normalise
from qa.chunking import chunk_article, sentence_spans

from .conftest import ARTICLE


def _article():
    return make_article("c5", ARTICLE.read_text(encoding="utf-8"))


def test_sentences_respect_abbreviations_and_offsets():
    text = "Trump met the U.S. leaders. Cove Capital LLC acquired 70% of the shares. Next one"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["Trump met the U.S. leaders.",
                                             "Cove Capital LLC acquired 70% of the shares.", "Next one"]


def test_chunks_are_whole_sentences_within_size_and_overlap():
    article = _article()
    chunks = chunk_article(article, size=400, overlap=120)
    starts = {s for s, _ in sentence_spans(article.text)}
    ends = {e for _, e in sentence_spans(article.text)}
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text == article.text[chunk.start:chunk.end]
        assert chunk.start in starts and chunk.end in ends  # no chunk cuts a sentence
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:]))  # overlap carries context over
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for s, e in sentence_spans(article.text) for i in range(s, e))


def test_run_on_text_without_punctuation_is_still_cut():
    article = make_article("x", "word " * 2000)
    chunks = chunk_article(article, size=300, overlap=50)
    assert len(chunks) > 5 and max(c.end - c.start for c in chunks) <= 300


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(list("abcxyz .!?\n\t,'\"ÉéU0123456789\u0301") + ["Mr. ", "e.g. ", "U.S. ", "..."]),
                min_size=1, max_size=300).map("".join),
       st.integers(min_value=20, max_value=300), st.integers(min_value=0, max_value=100))
def test_offsets_always_slice_back_to_the_chunk_text(raw, size, overlap):
    text = normalise(raw)
    if not text:
        return
    article = make_article("p", text)
    for chunk in chunk_article(article, size, overlap):
        assert article.text[chunk.start:chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
