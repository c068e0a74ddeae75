import json

import pytest

from qa.cli import main

from .conftest import ARTICLE, write


@pytest.fixture
def index_dir(settings, monkeypatch):
    monkeypatch.setenv("QA_EMBEDDER", settings.embedder)
    monkeypatch.setenv("QA_CACHE", str(settings.cache))
    monkeypatch.setenv("QA_ABSTAIN_THRESHOLD", "-0.5")
    monkeypatch.setenv("QA_RELEVANCE_FLOOR", "0.2")
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
    assert set(result) == {"text", "abstained", "citations"} and not result["abstained"]
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

    pipeline._cache.clear()
    assert main(["index", "list", "--index", index_dir]) == 1
    assert "qa index rebuild" in capsys.readouterr().err
