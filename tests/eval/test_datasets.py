"""Eval sets: formats, the SQuAD split, the cached index of an eval set's articles."""
import json

import pytest

from qa.errors import QAError
from qa.eval.datasets import Case, load_cases, split_cases
from qa.index import read_manifest

from ..conftest import write


def test_squad_splits_by_article_and_other_files_refuse_to_split():
    cases = [Case(str(i), "q", (), (), article_title=f"T{i % 10}") for i in range(30)]
    fit, report = split_cases(cases, "fit"), split_cases(cases, "report")
    assert {c.article_title for c in fit} == {f"T{i}" for i in range(8)} and len(fit) + len(report) == 30
    assert not {c.article_title for c in fit} & {c.article_title for c in report}
    with pytest.raises(QAError, match="only a SQuAD file, or one whose questions say when they were asked, splits"):
        split_cases([Case("a", "q", (), ())], "fit")


def test_an_eval_file_may_name_a_folder_of_articles_which_is_indexed_once(tmp_path, settings):
    from qa.eval.datasets import articles_index

    write(tmp_path / "news" / "ferry.txt", "The council ordered nine electric ferries from Damen on Tuesday.")
    asked = tmp_path / "questions.json"
    asked.write_text(json.dumps({"articles": "news", "questions": [
        {"id": "a", "question": "Who builds the ferries?", "answers": ["Damen"], "support": "from Damen"}]}))
    folder = load_cases(asked)[2]
    assert folder == tmp_path / "news"
    index = articles_index(folder, settings).index
    assert [a.id for a in read_manifest(index).articles] == ["ferry"]
    assert articles_index(folder, settings).index == index  # same content: the cached index
    write(tmp_path / "news" / "bad.txt", b"\x00\x01")
    with pytest.raises(QAError, match="bad.txt: binary file"):
        articles_index(folder, settings)


def test_questions_that_say_when_they_were_asked_split_at_the_fixed_day():
    cases = [Case("a", "q", ("x",), (), asked="2022-08-31"), Case("b", "q", (), (), asked="2022-09-01"),
             Case("c", "q", ("y",), (), asked="2022-12-24")]
    assert [c.id for c in split_cases(cases, "fit")] == ["a"]
    assert [c.id for c in split_cases(cases, "report")] == ["b", "c"]


def test_the_real_news_file_splits_into_the_counts_it_promises():
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "shared" / "eval" / "realtime_news.json"
    if not path.exists():
        pytest.skip("../shared/eval/realtime_news.json is not here")
    _, cases, articles = load_cases(path)
    fit, report = split_cases(cases, "fit"), split_cases(cases, "report")
    assert (sum(bool(c.answers) for c in fit), sum(not c.answers for c in fit)) == (39, 4)
    assert (sum(bool(c.answers) for c in report), sum(not c.answers for c in report)) == (41, 8)
    assert articles.is_dir()

