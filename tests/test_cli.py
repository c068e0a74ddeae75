import json
from pathlib import Path

import pytest

from qa.cli import main

from .conftest import ARTICLE, write


@pytest.fixture
def index_dir(settings, monkeypatch):
    monkeypatch.setenv("QA_EMBEDDER", settings.embedder)
    monkeypatch.setenv("QA_CACHE", str(settings.cache))
    monkeypatch.setenv("QA_ABSTAIN_THRESHOLD", "-0.5")
    monkeypatch.setenv("QA_RELEVANCE_FLOOR", "0.2")
    monkeypatch.setenv("QA_CHECK_THRESHOLD", str(settings.check_threshold))
    monkeypatch.setenv("QA_PROFILE", settings.profile)
    return str(settings.index)


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_add_list_ask_remove_round_trip(index_dir, tmp_path, capsys):
    assert main(["index", "add", str(ARTICLE), "--index", index_dir]) == 0
    assert "added 1" in capsys.readouterr().out
    assert main(["index", "add", str(ARTICLE), "--index", index_dir]) == 0
    assert "unchanged 1" in capsys.readouterr().out
    assert main(["index", "list", "--json", "--index", index_dir]) == 0
    (row,) = _json(capsys)
    assert row["id"] == "c5-summit-critical-minerals" and row["chunks"] > 1 and len(row["hash"]) == 64
    assert main(["ask", "How many aircraft will be bought from Boeing?", "--json", "--index", index_dir]) == 0
    result = _json(capsys)
    assert set(result) == {"text", "abstained", "citations", "trace"} and not result["abstained"]
    assert result["trace"]["decided_by"] == "kept" and result["trace"]["evidence"] and result["trace"]["claims"]
    assert {"number", "article_id", "title", "start", "end", "quote"} <= set(result["citations"][0])
    assert any("40 aircraft from Boeing" in c["quote"] for c in result["citations"])
    assert main(["index", "remove", "c5-summit-critical-minerals", "--index", index_dir]) == 0
    capsys.readouterr()
    assert main(["index", "list", "--json", "--index", index_dir]) == 0
    assert _json(capsys) == []


def test_rebuild(index_dir, capsys):
    main(["index", "add", str(ARTICLE), "--index", index_dir])
    assert main(["index", "rebuild", "--index", index_dir]) == 0
    assert "rebuilt 1 article(s)" in capsys.readouterr().out


def test_bad_files_get_one_line_each_and_good_ones_are_indexed(index_dir, tmp_path, capsys):
    good = write(tmp_path / "in" / "good.txt", "The harbour opened a new ferry terminal in March.")
    write(tmp_path / "in" / "bad.txt", b"\x00\x01\x02")
    assert main(["index", "add", str(tmp_path / "in"), "--index", index_dir]) == 1
    out, err = capsys.readouterr()
    assert "added 1" in out and "bad.txt: binary file" in err and good.name not in err


@pytest.mark.parametrize("argv,message", [
    (["ask", "   "], "the question is empty"),
    (["ask", "???"], "the question has no words to search for: '???'"),
    (["index", "remove", "nope"], "no article 'nope'"),
    (["index", "add", "/nonexistent/file.txt"], "no such file"),
    (["ask", "And the stake?", "--history", '{"q": "a"}'], "--history must be a JSON list"),
    (["ask", "And the stake?", "--history", '["Who reported it?"]'], "[question, answer] pairs"),
    (["ask", "And the stake?", "--history", "[[1, 2]"], "--history is not valid JSON"),
    (["index", "add", "https://example.com/a b"], "https://example.com/a b: not a valid URL"),
    (["ask", "How many aircraft?", "--as-of", "last week"], "as_of must be a day as YYYY-MM-DD"),
    (["index", "add", "http://[::1/story.html"], "http://[::1/story.html: not a valid URL"),
])
def test_bad_input_is_one_line_and_non_zero(index_dir, capsys, argv, message):
    main(["index", "add", str(ARTICLE), "--index", index_dir])
    capsys.readouterr()
    assert main([*argv, "--index", index_dir]) != 0
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_mismatched_index_says_how_to_fix(index_dir, capsys, monkeypatch):
    main(["index", "add", str(ARTICLE), "--index", index_dir])
    monkeypatch.setenv("QA_EMBEDDER", "some-other-model")
    from qa import pipeline

    pipeline.forget_answerers()
    assert main(["index", "list", "--index", index_dir]) == 1
    assert "qa index rebuild" in capsys.readouterr().err


def test_two_files_of_the_same_name_are_two_articles_and_a_copy_is_reported(index_dir, tmp_path, capsys):
    a = write(tmp_path / "a" / "report.txt", "The council bought two electric ferries from Damen.")
    b = write(tmp_path / "b" / "report.txt", "The mayor resigned after losing a vote of no confidence.")
    copy = write(tmp_path / "copy.txt", a.read_text())
    assert main(["index", "add", str(a), "--index", index_dir]) == 0
    assert main(["index", "add", str(b), "--index", index_dir]) == 0
    assert main(["index", "add", str(copy), "--index", index_dir]) == 0
    out = capsys.readouterr().out
    assert f"{copy.resolve()} is the same text as 'report', not indexed twice" in out
    assert main(["index", "list", "--json", "--index", index_dir]) == 0
    rows = {r["id"]: r for r in _json(capsys)}
    assert set(rows) == {"report", "report-2"} and rows["report-2"]["source"] == b.resolve().as_posix()
    write(b, "Correction: the mayor did not resign; the vote of no confidence failed.")
    assert main(["index", "add", str(b), "--index", index_dir]) == 0
    assert "added 0, updated 1" in capsys.readouterr().out


def test_a_web_page_is_added_by_url_and_listed_with_its_source(index_dir, capsys):
    from .helpers.news_server import news_server

    with news_server() as (_, base):
        url = f"{base}/news/ferries.html"
        assert main(["index", "add", url, "--index", index_dir]) == 0
        assert "added 1" in capsys.readouterr().out
        assert main(["index", "add", url, "--index", index_dir]) == 0
        assert "unchanged 1" in capsys.readouterr().out
        assert main(["index", "add", f"{base}/data.json", "--index", index_dir]) == 1
        assert "not HTML" in capsys.readouterr().err
    assert main(["index", "list", "--index", index_dir]) == 0
    line = capsys.readouterr().out.strip()
    assert line == f"127-0-0-1-news-ferries\t2026-11-30\tCouncil approves two electric ferries\t{url}"


@pytest.mark.parametrize("variable, value, message", [
    ("QA_K", "four", "QA_K must be a whole number, e.g. 4; got 'four'"),
    ("QA_THREADS", "-2", "QA_THREADS must be a whole number, e.g. 4 and not negative; got '-2'"),
    ("QA_ABSTAIN_THRESHOLD", "high", "QA_ABSTAIN_THRESHOLD must be a number, e.g. 0.5; got 'high'"),
    ("QA_K", "0", "QA_K must be at least 1; got 0"),
    ("QA_PROMPT_SENTENCES", "0", "QA_PROMPT_SENTENCES must be at least 1; got 0"),
    ("QA_MAX_NEW_TOKENS", "0", "QA_MAX_NEW_TOKENS must be at least 1; got 0"),
    ("QA_URL_TIMEOUT_S", "0", "QA_URL_TIMEOUT_S must be at least 0.001; got 0.0"),
    ("QA_CHUNK_OVERLAP_CHARS", "700", "QA_CHUNK_OVERLAP_CHARS must be less than QA_CHUNK_CHARS (700); got 700"),
    ("QA_VECTOR_STORE", "fiass", "QA_VECTOR_STORE must be faiss or milvus-lite, or a Milvus server as milvus://HOST:PORT"),
    ("QA_PROFILE", "fasst", "QA_PROFILE must be one of fast, mixed, accurate; got 'fasst'"),
    ("QA_BACKEND", "onnx", "QA_BACKEND must be one of auto, ctranslate2, transformers; got 'onnx'"),
])
@pytest.mark.parametrize("command", [["ask", "How many aircraft?"], ["index", "list"]])
def test_a_bad_setting_is_one_line_before_anything_loads(index_dir, capsys, monkeypatch, variable, value, message,
                                                         command):
    from qa import pipeline

    monkeypatch.setattr(pipeline, "answerer_for", lambda settings: pytest.fail("loaded with a bad setting"))
    monkeypatch.setenv(variable, value)
    assert main([*command, "--index", index_dir]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"qa: error: {message}") and len(err.strip().splitlines()) == 1


def test_serve_refuses_a_bad_port_before_loading_anything(index_dir, capsys, monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_PORT", "http")
    assert main(["serve", "--index", index_dir]) == 1
    assert "GRADIO_SERVER_PORT must be a port number" in capsys.readouterr().err


def test_serve_syncs_the_articles_folder_then_launches(index_dir, monkeypatch):
    from qa import pipeline, ui

    write(Path(index_dir) / "articles" / ARTICLE.name, ARTICLE.read_text())
    launched = {}
    monkeypatch.setattr(pipeline, "warm_up", lambda settings: pipeline.sync_bundled(settings))

    class App:
        def queue(self, **kwargs):
            return self

        def launch(self, **options):
            launched.update(options)

    monkeypatch.setattr(ui, "create_app", lambda settings: App())
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123", "--index", index_dir]) == 0
    assert (launched["server_name"], launched["server_port"]) == ("0.0.0.0", 8123)
    assert [a.id for a in pipeline.open_index(pipeline.Settings.from_env(index=Path(index_dir))).manifest.articles] \
        == ["c5-summit-critical-minerals"]


def test_verbose_logs_what_was_read(index_dir, tmp_path, capsys):
    import logging

    story = write(tmp_path / "story.md", "---\ntitle: Ferries\n---\nThe council bought two ferries.\n")
    try:
        assert main(["index", "add", str(story), "-v", "--index", index_dir]) == 0
        assert "read " in capsys.readouterr().err
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)


def test_bad_input_of_every_new_kind_is_one_line_each_and_leaves_the_index_as_it_was(index_dir, tmp_path, capsys,
                                                                                       monkeypatch):
    from .helpers.news_server import news_server
    from .test_ingest import make_pdf
    from .test_pipeline import _snapshot

    main(["index", "add", str(ARTICLE), "--index", index_dir])
    before = _snapshot(Path(index_dir))
    corrupt = write(tmp_path / "corrupt.pdf", b"%PDF-1.4\nnot really a pdf\n%%EOF")
    scanned = make_pdf(tmp_path / "scanned.pdf", text=False)
    monkeypatch.setenv("QA_URL_TIMEOUT_S", "0.5")
    with news_server() as (_, base):
        capsys.readouterr()
        assert main(["index", "add", str(corrupt), str(scanned), f"{base}/hang", f"{base}/nav.html",
                     "--index", index_dir]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and "Traceback" not in "".join(err)
    assert "not a readable PDF" in err[0] and "no text layer" in err[1]
    assert "no answer within 0.5 s" in err[2] and "no article text" in err[3]
    assert _snapshot(Path(index_dir)) == before


def test_calibrate_places_the_thresholds_of_the_profiles_reader(monkeypatch, tmp_path, capsys):
    from qa.answering import calibration
    from qa.eval import calibrate

    stored = calibrate.Calibration("qwen2.5-coder-1.5b", "0" * 64, (1.0, 0.5), 1.0, 0.0, "d", "1" * 64, 10,
                                   (calibrate.Placed("qwen2.5-coder-0.5b", -0.5, 1.5, "fit"),))
    seen = {}

    def answered(fitted, fit_sets, settings, progress, reuse):
        seen.update(reader=settings.reader, sets=[s.name for s in fit_sets], reuse=reuse)
        return fitted.with_placement(calibrate.Placed(settings.reader, 0.25, -0.5, "fit"))

    monkeypatch.setattr(calibration, "load", lambda model: stored)
    monkeypatch.setattr(calibrate, "with_thresholds", answered)
    monkeypatch.setattr(calibrate.Calibration, "save", lambda self: tmp_path / f"{self.model}.json")
    monkeypatch.setenv("QA_PROFILE", "accurate")
    assert main(["calibrate", "--threshold-only", "--reuse-answers"]) == 0
    assert seen == {"reader": "qwen2.5-coder-1.5b", "reuse": True,
                    "sets": ["realtime_news.json", "fit_news.json", "squad_v2_dev15.json"]}
    out = capsys.readouterr().out
    assert "for reader qwen2.5-coder-1.5b: threshold 0.25, answer check -0.5" in out


def test_reusing_fit_answers_is_refused_when_the_weights_are_refitted(capsys):
    assert main(["calibrate", "--reuse-answers"]) == 1
    assert "--reuse-answers goes with --threshold-only" in capsys.readouterr().err
