"""The whole index in Milvus: a real Milvus gRPC server (Milvus Lite's, started here on 127.0.0.1, or the one named by
QA_TEST_MILVUS_URI), the fake embedder and generator. Ranks are compared, never raw BM25 scores."""
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from qa import pipeline, ui
from qa.cli import main
from qa.errors import IndexStoreError
from qa.index import open_store
from qa.ingest import make_article

from ..conftest import ARTICLE, write
from ..helpers.milvus_server import free_port, milvus_server as start_milvus

HELPER = Path(__file__).resolve().parents[1] / "helpers" / "milvus_writer.py"
QUESTION = "How many aircraft will be bought from Boeing?"
FERRIES = "The port of Bergen ordered six electric ferries from the Damen shipyard on Tuesday."


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    """A Milvus server on a free port of 127.0.0.1 (helpers.milvus_server), or the one QA_TEST_MILVUS_URI names."""
    if os.environ.get("QA_TEST_MILVUS_URI"):
        yield os.environ["QA_TEST_MILVUS_URI"].replace("http://", "milvus://")
        return
    with start_milvus(tmp_path_factory.mktemp("milvus")) as uri:
        yield uri


@pytest.fixture
def milvus(settings, milvus_server, request):
    """Settings whose index lives in Milvus under a name of this test's own."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:60]
    return replace(settings, vector_store=f"{milvus_server}/{name}")


def _index_bundled_and_ferries(settings):
    write(settings.index / "articles" / ARTICLE.name, ARTICLE.read_text())
    pipeline.sync_bundled(settings)
    pipeline.add_articles([make_article("ferries", FERRIES, "Harbour news", "2026-03-02")], settings)


def test_with_the_local_folder_deleted_search_answer_and_chat_still_cite(milvus):
    _index_bundled_and_ferries(milvus)
    shutil.rmtree(milvus.index)
    pipeline.forget_answerers()
    assert not milvus.index.exists()
    assert "Cove Capital" in pipeline.search("Cove Capital tungsten shares", k=3, settings=milvus)[0].text
    result = pipeline.answer(QUESTION, settings=milvus)
    assert not result.abstained and any("40 aircraft from Boeing" in c.quote for c in result.citations)
    texts = pipeline.open_index(milvus).texts
    assert all(texts[c.article_id][c.start:c.end] == c.quote for c in result.citations)
    *_, (chat, _, turns) = ui.conversation_turn("How many electric ferries did the port of Bergen order?", [], [],
                                                milvus)
    assert "six" in chat[-1]["content"] and turns[0]["citations"][0]["article_id"] == "ferries"
    assert [r[4] for r in ui.article_rows(milvus)] == ["c5-summit-critical-minerals", "ferries"]


def test_an_answer_from_milvus_is_the_answer_from_the_local_index(milvus, tmp_path):
    local = replace(milvus, vector_store="faiss", index=tmp_path / "local")
    for settings in (milvus, local):
        _index_bundled_and_ferries(settings)
    for question in (QUESTION, "Who reported the tungsten deal?", "How many electric ferries did Bergen order?"):
        served, here = pipeline.answer(question, settings=milvus), pipeline.answer(question, settings=local)
        assert served.text == here.text and served.citations == here.citations


def test_another_process_sees_the_index_and_this_one_sees_its_update_after_the_switch(milvus):
    _index_bundled_and_ferries(milvus)
    answerer = pipeline.answerer_for(milvus)
    before = answerer.index().manifest.generation
    _run_writer(milvus, "bridge", "The town council of Kessing approved a second bridge over the river Marl.")
    after = answerer.index()
    assert after.manifest.generation == before + 1 and "bridge" in after.records
    cited = pipeline.answer("Which river will the second bridge of Kessing cross?", settings=milvus).citations
    assert cited and cited[0].article_id == "bridge"


def test_writers_in_two_processes_both_land(milvus):
    _index_bundled_and_ferries(milvus)
    writers = [_start_writer(milvus, f"story{i}", f"Story {i}: the harbour of Bergen opened dock {i}.")
               for i in range(2)]
    for writer in writers:
        assert writer.wait(timeout=120) == 0, writer.stderr.read()
    ids = {a.id for a in open_store(milvus.index, milvus.vector_store).current().articles}
    assert {"story0", "story1", "ferries", "c5-summit-critical-minerals"} <= ids


def test_kill_9_of_a_writer_in_the_middle_of_a_rebuild_leaves_the_old_generation_live(milvus):
    _index_bundled_and_ferries(milvus)
    store = open_store(milvus.index, milvus.vector_store)
    live = store.live()
    writer = _start_writer(milvus, "-", "-", "--slow")
    assert writer.stdout.readline().strip() == "inserting"  # its new generation is being written now
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert store.live() == live
    pipeline.forget_answerers()
    assert not pipeline.answer(QUESTION, settings=milvus).abstained
    pipeline.add_articles([make_article("after", "The harbour reopened after the storm.", "After")], milvus)
    assert "after" in {a.id for a in store.current().articles}


def test_a_removed_article_is_gone_from_both_routes_and_an_unchanged_one_is_a_no_op(milvus):
    _index_bundled_and_ferries(milvus)
    store = open_store(milvus.index, milvus.vector_store)
    generation = store.current().generation
    pipeline.add_articles([make_article("ferries", FERRIES, "Harbour news", "2026-03-02")], milvus)
    assert store.current().generation == generation  # the same article again: nothing written
    pipeline.remove_articles(["ferries"], milvus)
    collection = store.live()
    dense = store.client.search(collection, data=[pipeline.embedder_for(milvus).encode([FERRIES])[0].tolist()],
                                anns_field="dense", limit=50, output_fields=["article_id"])[0]
    sparse = store.client.search(collection, data=["electr ferri bergen"], anns_field="sparse", limit=50,
                                 output_fields=["article_id"])[0]
    assert dense and all(hit["entity"]["article_id"] != "ferries" for hit in [*dense, *sparse])


def test_migrate_copies_a_local_index_into_milvus_without_embedding_again(settings, milvus, capsys, monkeypatch):
    _index_bundled_and_ferries(settings)
    embedded = pipeline.embedder_for(settings).calls
    for variable, value in (("QA_EMBEDDER", settings.embedder), ("QA_PROFILE", settings.profile)):
        monkeypatch.setenv(variable, value)
    assert main(["index", "migrate", "--to", milvus.vector_store, "--index", str(settings.index)]) == 0
    assert pipeline.embedder_for(settings).calls == embedded
    monkeypatch.setenv("QA_VECTOR_STORE", milvus.vector_store)
    capsys.readouterr()
    assert main(["index", "list", "--index", str(settings.index)]) == 0
    out, err = capsys.readouterr()
    assert "c5-summit-critical-minerals" in out and "ferries" in out and "Milvus at http://127.0.0.1" in err
    assert pipeline.answer(QUESTION, settings=milvus).citations == pipeline.answer(QUESTION, settings=settings).citations


def test_an_unreachable_server_is_one_line_before_any_model_loads(settings, capsys, monkeypatch):
    monkeypatch.setenv("QA_VECTOR_STORE", f"milvus://127.0.0.1:{free_port()}")
    monkeypatch.setattr(pipeline.Answerer, "writer", property(lambda self: pytest.fail("a model loaded")))
    assert main(["ask", QUESTION, "--index", str(settings.index)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("qa: error: cannot reach Milvus at http://127.0.0.1:") and "\n" not in err
    with pytest.raises(IndexStoreError, match="letters, digits and _"):
        open_store(settings.index, "milvus://127.0.0.1:19530/bad-name")


def _start_writer(settings, *args):
    return subprocess.Popen([sys.executable, str(HELPER), settings.vector_store, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _run_writer(settings, *args) -> None:
    writer = _start_writer(settings, *args)
    assert writer.wait(timeout=120) == 0, writer.stderr.read()


def test_milvus_lite_keeps_the_whole_index_in_a_file_of_the_folder(settings):
    lite = replace(settings, vector_store="milvus-lite")
    _index_bundled_and_ferries(lite)
    assert (lite.index / "milvus.db").exists() and not list(lite.index.glob("*.faiss"))
    result = pipeline.answer(QUESTION, settings=lite)
    assert any("40 aircraft from Boeing" in c.quote for c in result.citations)
    pipeline.remove_articles(["ferries"], lite)
    assert [a.id for a in pipeline.open_index(lite).manifest.articles] == ["c5-summit-critical-minerals"]


@pytest.mark.e2e
def test_with_the_real_models_an_answer_from_milvus_is_the_local_answer(tmp_path):
    """On a server of its own, which no earlier test has killed a writer against."""
    from qa.settings import Settings

    pipeline.forget_answerers()
    with start_milvus(tmp_path / "milvus") as server:
        local = Settings.from_env(index=tmp_path / "local")
        served = replace(local, index=tmp_path / "served", vector_store=f"{server}/e2e")
        here, there = _answered_in_both(local, served)
    assert not here.abstained and there.text == here.text and there.citations == here.citations


def _answered_in_both(local, served):
    for settings in (local, served):
        write(settings.index / "articles" / ARTICLE.name, ARTICLE.read_text())
        pipeline.sync_bundled(settings)
    pipeline.answerer_for(local).warm_up()  # the models load (or convert, on a fresh machine) before any question
    return pipeline.answer(QUESTION, settings=local), pipeline.answer(QUESTION, settings=served)
