import json
import socket

import pytest

from qa import ui
from qa.errors import SettingsError
from qa.answering import decide
from qa.types import KEPT, Answer, ClaimCheck, Citation, Judged, Passage, Sentence, Trace

from .conftest import write


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(bundled):
    app = ui.create_app(bundled)
    port = _free_port()
    app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def test_blocks_build_without_a_server(bundled):
    app = ui.create_app(bundled)
    assert app.__class__.__name__ == "Blocks"
    assert "/ask" in {f"/{d.api_name}" for d in app.fns.values() if d.api_name}


def test_a_users_own_model_without_a_calibration_is_named_on_the_page(bundled):
    from dataclasses import replace

    assert ui.calibration_warning(bundled) is None
    warning = ui.calibration_warning(replace(bundled, llm="/models/mine.gguf"))
    assert "has no calibration of its own" in warning
    page = ui.create_app(replace(bundled, llm="/models/mine.gguf"))
    assert any(getattr(b, "elem_id", None) == "calibration-warning" for b in page.blocks.values())


def test_sources_highlight_exactly_the_cited_span():
    passage = Passage("a", "T", "First sentence. The <cited> one. Last.", 100, 139, 1.0, "2025-01-02")
    citation = Citation(1, "a", "T", 116, 132, "The <cited> one.", "2025-01-02")
    out = ui.sources_html(Answer("x [1].", False, [citation], [passage]))
    assert "<mark>The &lt;cited&gt; one.</mark>" in out and "First sentence. " in out and "2025-01-02" in out
    assert "No sources" in ui.sources_html(Answer("The articles don't say.", True))


def test_feedback_is_appended_as_json_lines(tmp_path):
    path = tmp_path / "fb" / "feedback.jsonl"
    turn = {"question": "q", "text": "a [1].", "citations": [{"number": 1}]}
    ui.record_feedback(path, turn, True)
    ui.record_feedback(path, turn, False)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["liked"] for r in rows] == [True, False] and rows[0]["question"] == "q"


def test_uploads_get_safe_names_and_bad_files_a_message(bundled, tmp_path):
    good = write(tmp_path / "up" / "..%2F..%2Fevil name.txt", "The harbour opened a ferry terminal in March.")
    bad = write(tmp_path / "up" / "broken.txt", b"\x00\x01")
    message = ui.add_uploads([str(good), str(bad)], bundled)
    assert "added 1" in message and "broken.txt: binary" in message
    ids = [row[4] for row in ui.article_rows(bundled)]
    assert "2f-2fevil-name" in ids or any("evil-name" in i for i in ids)
    assert all("/" not in i and ".." not in i for i in ids)
    assert not any(p.name.startswith("..") for p in (bundled.index / "texts").iterdir())


def test_a_pdf_upload_is_indexed_and_a_corrected_upload_of_the_same_name_updates_it(bundled, tmp_path):
    from .test_ingest import PAGES, make_pdf

    pdf = make_pdf(tmp_path / "up1" / "gazette.pdf")
    assert "added 1" in ui.add_uploads([str(pdf)], bundled)
    row = next(r for r in ui.article_rows(bundled) if r[4] == "gazette")
    assert row[0] == "Council approves ferries" and row[2] == "upload:gazette.pdf"
    fixed = [[[line.replace("61 million", "16 million") for line in para] for para in page] for page in PAGES]
    message = ui.add_uploads([str(make_pdf(tmp_path / "up2" / "gazette.pdf", pages=fixed))], bundled)
    assert "added 0, updated 1" in message
    assert "16 million" in ui.article_html("gazette", [], bundled)


def test_a_page_is_added_by_url_and_a_bad_url_gets_one_line(bundled):
    from .helpers.news_server import news_server

    with news_server() as (_, base):
        assert "added 1" in ui.add_url(f"{base}/news/ferries.html", bundled)
        assert "unchanged 1" in ui.add_url(f"{base}/news/ferries.html", bundled)
        message = ui.add_url(f"{base}/gone.html", bundled)
    assert message.startswith("⚠️ skipped") and "404" in message and "\n" not in message
    assert "Council approves two electric ferries" in [r[0] for r in ui.article_rows(bundled)]


def test_the_article_view_highlights_the_cited_spans(bundled):
    result = ui.pipeline.answer("How many aircraft will be bought from Boeing?", settings=bundled)
    article_id, spans = ui.cited_spans(result.to_json())
    page = ui.article_html(article_id, spans, bundled)
    marked = page.split("<mark>")[1].split("</mark>")[0]
    assert "40 aircraft from Boeing" in marked and marked == result.citations[0].quote
    assert page.count("<mark>") == len(spans) and "No article" in ui.article_html("nope", [], bundled)
    assert ui.cited_spans({"citations": []}) == (None, [])


def test_paste_and_remove(bundled):
    assert "added 1" in ui.add_pasted("Port news", "The port ordered six ferries.", bundled)
    assert "port-news" in [r[4] for r in ui.article_rows(bundled)]
    assert "removed" in ui.remove_article("port-news", bundled)
    assert "port-news" not in [r[4] for r in ui.article_rows(bundled)]
    assert "title" in ui.add_pasted("", "text", bundled)


def test_two_pasted_articles_with_one_title_are_two_articles_and_the_same_paste_again_is_unchanged(bundled):
    assert "added 1" in ui.add_pasted("Port news", "The port ordered six ferries.", bundled)
    assert "added 1, updated 0" in ui.add_pasted("Port news", "The mayor opened a new bridge.", bundled)
    assert "unchanged 1" in ui.add_pasted("Port news", "The port ordered six ferries.", bundled)
    assert {"port-news", "port-news-2"} <= {r[4] for r in ui.article_rows(bundled)}


def test_launch_options_default_to_localhost_and_parse_auth(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.setenv("QA_AUTH", "ann:s3cret")
    options = ui.launch_options()
    assert options["server_name"] == "127.0.0.1" and options["auth"] == ("ann", "s3cret")
    monkeypatch.setenv("QA_AUTH", "nopassword")
    with pytest.raises(SettingsError, match="user:password"):
        ui.launch_options()


def test_ask_endpoint_through_gradio_client(served):
    from gradio_client import Client

    client = Client(served, verbose=False)
    result = client.predict("How many aircraft will be bought from Boeing?", api_name="/ask")
    assert set(result) >= {"text", "abstained", "citations"} and not result["abstained"]
    assert any("40 aircraft from Boeing" in c["quote"] for c in result["citations"])
    follow = client.predict("And who reported it?", [["How many aircraft from Boeing?", "40 [1]."]], api_name="/ask")
    assert "error" not in follow and not follow["abstained"] and follow["citations"]  # the history was taken
    empty = client.predict("   ", api_name="/ask")
    assert empty["error"] == "the question is empty"
    malformed = client.predict("And the stake?", [["a", "b", "c"]], api_name="/ask")
    assert "[question, answer] pairs" in malformed["error"]


def test_the_why_panel_renders_the_trace_of_a_refused_draft():
    trace = Trace("Who sells?", "Who sells?", draft="Boeing <b>x</b> [1].", decided_by=decide.NOTHING_LEFT,
                  claims=(ClaimCheck("Boeing <b>x</b>.", decide.NO_SPAN),))
    out = ui.sources_html(Answer("The articles don't say.", True, raw_text=trace.draft, trace=trace))
    assert "model draft" in out and "Boeing &lt;b&gt;x&lt;/b&gt; [1]." in out and "<li>Boeing &lt;b&gt;" in out
    assert f"decided by: {decide.NOTHING_LEFT}" in out and decide.NO_SPAN in out and "not judged" in out


def test_the_why_panel_shows_the_search_the_evidence_and_the_scores_that_decided():
    best = Sentence("a", 0, 20, "Boeing sells 40 aircraft.", 0.81, 0.7, 0.9)
    trace = Trace("And from whom?", "How many aircraft? And from whom?", evidence=(best,), relevance=0.81,
                  judged=(Judged(best, (1.0, 2.0), 1.25),), draft="Boeing [1].", decided_by=decide.ANSWERED,
                  claims=(ClaimCheck("Boeing.", KEPT, ("a", 0, 20), 3.5),))
    out = ui.sources_html(Answer("Boeing [1].", False, raw_text="Boeing [1].", question="And from whom?", trace=trace))
    assert "searched as “How many aircraft? And from whom?”" in out and "Boeing sells 40 aircraft." in out
    assert "answerability +1.25" in out and "answer check +3.50" in out and "relevance 0.81" in out
    early = ui.sources_html(Answer("The articles don't say.", True, question="q",
                                   trace=Trace("q", "q", judged=(Judged(best, (-1.0, -1.0), -2.0),),
                                               decided_by=decide.GATE)))
    assert "answerability -2.00" in early and "searched as" not in early and "model draft" not in early


def test_login_is_enforced_when_qa_auth_is_set(bundled, monkeypatch):
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    monkeypatch.setenv("QA_AUTH", "ann:s3cret")
    options = ui.launch_options()
    app = ui.create_app(bundled)
    port = _free_port()
    app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                       auth=options["auth"])
    url = f"http://127.0.0.1:{port}/"
    try:
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(url, verbose=False).predict("How many aircraft will be bought from Boeing?", api_name="/ask")
        with pytest.raises(ValueError, match="Could not login"):
            Client(url, auth=("ann", "wrong"), verbose=False)
        result = Client(url, auth=("ann", "s3cret"), verbose=False).predict(
            "How many aircraft will be bought from Boeing?", api_name="/ask")
        assert not result["abstained"]
    finally:
        app.close()


def test_a_failed_exchange_still_adds_one_turn_so_votes_stay_aligned_with_replies(bundled):
    chat, turns = [], []
    for question in ("How many aircraft will be bought from Boeing?", "???", "Who reported the tungsten deal?"):
        *_, (chat, _, turns) = ui.conversation_turn(question, chat, turns, bundled)
    assert len(turns) == len(chat) // 2 == 3
    assert "error" in turns[1] and "no words to search for" in chat[3]["content"]
    assert turns[2]["question"] == "Who reported the tungsten deal?" == chat[4]["content"]


@pytest.mark.parametrize("failure", [RuntimeError("variable decoder/projection/weight_scale not found"),
                                     OSError(28, "No space left on device")])
def test_an_unexpected_failure_is_one_turn_too_and_later_votes_find_their_answers(bundled, monkeypatch, failure):
    answer_for = ui.pipeline.stream_answer

    def failing(question, **kwargs):
        if "tungsten" in question:
            yield ui.Stage("searching")
            raise failure
        yield from answer_for(question, **kwargs)

    monkeypatch.setattr(ui.pipeline, "stream_answer", failing)
    chat, turns = [], []
    for question in ("Who reported the tungsten deal?", "How many aircraft will be bought from Boeing?"):
        *_, (chat, _, turns) = ui.conversation_turn(question, chat, turns, bundled)
    assert len(turns) == len(chat) // 2 == 2
    assert "error" in turns[0] and type(failure).__name__ in chat[1]["content"]
    assert "40" in chat[3]["content"] and turns[1]["question"].startswith("How many aircraft")


def test_the_chat_shows_each_stage_and_never_the_unchecked_draft(bundled):
    shown = [chat[-1]["content"] for chat, _, _ in
             ui.conversation_turn("How many aircraft will be bought from Boeing?", [], [], bundled)]
    assert shown[1] == "_Searching the articles…_" and "_Checking the answer against its sources…_" in shown
    assert all(s.startswith("_") or s == "…" for s in shown[:-1]) and "[1]" in shown[-1]
