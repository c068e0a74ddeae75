import json

import pytest

from qa import store
from qa.articles import make_article
from qa.errors import IndexLockedError, IndexMismatchError, IndexMissingError

from .conftest import FakeEmbedder


def _writer(directory, embedder=None, fresh=False):
    return store.IndexWriter(directory, embedder or FakeEmbedder(), chunk_chars=200, overlap_chars=50, fresh=fresh)


def _add(directory, *articles):
    with _writer(directory) as writer:
        change = writer.add(list(articles))
        writer.commit()
    return change


A = make_article("alpha", "Alpha Corp bought a mine in Peru. The mine produces copper. " * 5, "Alpha")
B = make_article("beta", "Beta Ltd sold ships to Norway. The ships are new.", "Beta")


def test_add_list_and_load(tmp_path):
    change = _add(tmp_path, A, B)
    assert change.added == ("alpha", "beta")
    loaded = store.load(tmp_path, FakeEmbedder.id)
    assert [a.id for a in loaded.manifest.articles] == ["alpha", "beta"]
    assert loaded.vectors.ntotal == len(loaded.chunks) == sum(a.chunks for a in loaded.manifest.articles)
    for chunk in loaded.chunks:
        assert loaded.texts[chunk.article_id][chunk.start:chunk.end] == chunk.text
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format_version"] == store.FORMAT_VERSION and manifest["dimension"] == 256
    assert manifest["embedder"] == FakeEmbedder.id


def test_unchanged_content_is_a_no_op(tmp_path):
    _add(tmp_path, A)
    before = store.read_manifest(tmp_path)
    change = _add(tmp_path, A)
    assert change.unchanged == ("alpha",) and not change.changed
    assert store.read_manifest(tmp_path) == before


def test_changed_content_replaces_every_old_chunk(tmp_path):
    _add(tmp_path, A, B)
    new_a = make_article("alpha", "Alpha Corp now owns a gold mine in Chile.", "Alpha")
    assert _add(tmp_path, new_a).updated == ("alpha",)
    loaded = store.load(tmp_path, FakeEmbedder.id)
    alpha_chunks = [c for c in loaded.chunks if c.article_id == "alpha"]
    assert [c.text for c in alpha_chunks] == ["Alpha Corp now owns a gold mine in Chile."]
    assert not any("Peru" in c.text for c in loaded.chunks)
    assert len(list((tmp_path / "texts").glob("alpha-*.txt"))) == 1  # the old text file is cleaned up


def test_remove_and_rebuild(tmp_path):
    _add(tmp_path, A, B)
    with _writer(tmp_path) as writer:
        writer.remove("alpha")
        writer.commit()
    loaded = store.load(tmp_path, FakeEmbedder.id)
    assert [a.id for a in loaded.manifest.articles] == ["beta"]
    assert all(c.article_id == "beta" for c in loaded.chunks)
    with _writer(tmp_path, fresh=True) as writer:
        writer.rebuild()
        writer.commit()
    assert [c.text for c in store.load(tmp_path, FakeEmbedder.id).chunks] == [c.text for c in loaded.chunks]


def test_removing_an_unknown_id_says_so(tmp_path):
    _add(tmp_path, A)
    with pytest.raises(Exception, match="no article 'nope'"):
        with _writer(tmp_path) as writer:
            writer.remove("nope")


def test_other_embedder_is_refused_with_rebuild_hint_and_rebuild_fixes_it(tmp_path):
    _add(tmp_path, A)
    with pytest.raises(IndexMismatchError, match="qa index rebuild"):
        store.load(tmp_path, "another-embedder")

    with _writer(tmp_path, FakeEmbedder("another-embedder"), fresh=True) as writer:
        writer.rebuild()
        writer.commit()
    assert store.load(tmp_path, "another-embedder").manifest.embedder == "another-embedder"


def test_other_format_is_refused(tmp_path):
    _add(tmp_path, A)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["format_version"] = 999
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format 999"):
        store.load(tmp_path, FakeEmbedder.id)


def test_missing_index(tmp_path):
    with pytest.raises(IndexMissingError, match="qa index add"):
        store.load(tmp_path / "none", FakeEmbedder.id)


def test_crash_while_writing_leaves_previous_index_loadable(tmp_path, monkeypatch):
    _add(tmp_path, A)

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr(store, "_fsync_dir", boom)
    with pytest.raises(OSError):
        _add(tmp_path, B)
    monkeypatch.undo()
    loaded = store.load(tmp_path, FakeEmbedder.id)
    assert [a.id for a in loaded.manifest.articles] == ["alpha"]
    assert _add(tmp_path, B).added == ("beta",)


def test_second_writer_gets_a_clear_lock_error(tmp_path):
    with store.write_lock(tmp_path):
        with pytest.raises(IndexLockedError, match="another process"):
            with store.write_lock(tmp_path, timeout=0.2):
                pass


def test_large_indexes_switch_to_hnsw(monkeypatch):
    import numpy as np

    from qa import vectors

    monkeypatch.setattr(vectors, "HNSW_MIN_CHUNKS", 10)
    small = vectors.build_faiss(np.eye(4, 8, dtype="float32"), 8)
    large = vectors.build_faiss(np.random.default_rng(0).random((20, 8), dtype="float32"), 8)
    assert type(small).__name__ == "IndexFlatIP" and type(large).__name__ == "IndexHNSWFlat"
