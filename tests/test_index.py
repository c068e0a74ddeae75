import json

import pytest

from qa.errors import IndexLockedError, IndexMismatchError, IndexMissingError
from qa.index import Chunking, FolderStore, IndexWriter, load, read_manifest, writer as index_writer
from qa.index.layout import FORMAT_VERSION
from qa.ingest import make_article

from .conftest import FakeEmbedder

CHUNKING = Chunking(200, 50)


def _writer(directory, embedder=None, fresh=False, chunking=CHUNKING):
    return IndexWriter(FolderStore(directory), embedder or FakeEmbedder(), chunking, fresh=fresh)


def _load(directory, embedder_id=FakeEmbedder.id, chunking=CHUNKING):
    return load(directory, embedder_id, chunking)


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
    loaded = _load(tmp_path)
    assert [a.id for a in loaded.manifest.articles] == ["alpha", "beta"]
    assert loaded.vectors.ntotal == len(loaded.chunks) == sum(a.chunks for a in loaded.manifest.articles)
    for chunk in loaded.chunks:
        assert loaded.texts[chunk.article_id][chunk.start:chunk.end] == chunk.text
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION and manifest["dimension"] == 256
    assert manifest["embedder"] == FakeEmbedder.id


def test_unchanged_content_is_a_no_op(tmp_path):
    _add(tmp_path, A)
    before = read_manifest(tmp_path)
    change = _add(tmp_path, A)
    assert change.unchanged == ("alpha",) and not change.changed
    assert read_manifest(tmp_path) == before


def test_changed_content_replaces_every_old_chunk(tmp_path):
    _add(tmp_path, A, B)
    new_a = make_article("alpha", "Alpha Corp now owns a gold mine in Chile.", "Alpha")
    assert _add(tmp_path, new_a).updated == ("alpha",)
    loaded = _load(tmp_path)
    alpha_chunks = [c for c in loaded.chunks if c.article_id == "alpha"]
    assert [c.text for c in alpha_chunks] == ["Alpha Corp now owns a gold mine in Chile."]
    assert not any("Peru" in c.text for c in loaded.chunks)
    assert len(list((tmp_path / "texts").glob("alpha-*.txt"))) == 1  # the old text file is cleaned up


def test_remove_and_rebuild(tmp_path):
    _add(tmp_path, A, B)
    with _writer(tmp_path) as writer:
        writer.remove("alpha")
        writer.commit()
    loaded = _load(tmp_path)
    assert [a.id for a in loaded.manifest.articles] == ["beta"]
    assert all(c.article_id == "beta" for c in loaded.chunks)
    with _writer(tmp_path, fresh=True) as writer:
        writer.rebuild()
        writer.commit()
    assert [c.text for c in _load(tmp_path).chunks] == [c.text for c in loaded.chunks]


def test_removing_an_unknown_id_says_so(tmp_path):
    _add(tmp_path, A)
    with pytest.raises(Exception, match="no article 'nope'"):
        with _writer(tmp_path) as writer:
            writer.remove("nope")


def test_other_embedder_is_refused_with_rebuild_hint_and_rebuild_fixes_it(tmp_path):
    _add(tmp_path, A)
    with pytest.raises(IndexMismatchError, match="qa index rebuild"):
        _load(tmp_path, "another-embedder")

    with _writer(tmp_path, FakeEmbedder("another-embedder"), fresh=True) as writer:
        writer.rebuild()
        writer.commit()
    assert _load(tmp_path, "another-embedder").manifest.embedder == "another-embedder"


def test_other_format_is_refused(tmp_path):
    _add(tmp_path, A)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["format_version"] = 999
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format 999"):
        _load(tmp_path)


def test_missing_index(tmp_path):
    with pytest.raises(IndexMissingError, match="qa index add"):
        _load(tmp_path / "none")


def test_crash_while_writing_leaves_previous_index_loadable(tmp_path, monkeypatch):
    _add(tmp_path, A)

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr(index_writer, "_fsync_dir", boom)
    with pytest.raises(OSError):
        _add(tmp_path, B)
    monkeypatch.undo()
    loaded = _load(tmp_path)
    assert [a.id for a in loaded.manifest.articles] == ["alpha"]
    assert _add(tmp_path, B).added == ("beta",)


def test_second_writer_gets_a_clear_lock_error(tmp_path):
    with index_writer.write_lock(tmp_path):
        with pytest.raises(IndexLockedError, match="another process"):
            with index_writer.write_lock(tmp_path, timeout=0.2):
                pass


def test_large_indexes_switch_to_hnsw(monkeypatch):
    import numpy as np

    from qa.index import vectors

    monkeypatch.setattr(vectors, "HNSW_MIN_CHUNKS", 10)
    small = vectors.build_faiss(np.eye(4, 8, dtype="float32"), 8)
    large = vectors.build_faiss(np.random.default_rng(0).random((20, 8), dtype="float32"), 8)
    assert type(small).__name__ == "IndexFlatIP" and type(large).__name__ == "IndexHNSWFlat"


# --- identity: collisions, copies, corrections ----------------------------------------------------------

def _from(origin, text, id="report"):
    return make_article(id, text, origin=str(origin))


def _files(tmp_path, *names):
    """Real files, so that each origin is a path that exists (a missing one would read as a moved file)."""
    paths = [tmp_path / "news" / name for name in names]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    return [p.as_posix() for p in paths]


def test_a_different_article_whose_name_collides_never_replaces_the_other(tmp_path):
    first = _from("/news/a/report.txt", "The council bought two ferries from Damen.")
    second = _from("/news/b/report.txt", "The mayor resigned after a vote of no confidence.")
    assert _add(tmp_path, first).added == ("report",)
    change = _add(tmp_path, second)
    assert change.added == ("report-2",) and not change.updated
    records = {r.id: r for r in read_manifest(tmp_path).articles}
    assert records["report"].origin == "/news/a/report.txt" and records["report-2"].origin == "/news/b/report.txt"
    texts = _load(tmp_path).texts
    assert "ferries" in texts["report"] and "mayor" in texts["report-2"]


def test_the_same_source_with_new_text_is_a_correction_under_the_same_id(tmp_path):
    _add(tmp_path, _from("https://example.org/story", "The ferry will cost 61 million euros.", "example-story"))
    _add(tmp_path, _from("/elsewhere/other.txt", "An unrelated story about the weather.", "example-story"))
    corrected = _from("https://example.org/story", "Correction: the ferry will cost 16 million euros.",
                      "example-story")
    change = _add(tmp_path, corrected)
    assert change.updated == ("example-story",) and not change.added
    loaded = _load(tmp_path)
    assert "16 million" in loaded.texts["example-story"] and not any("61 million" in c.text for c in loaded.chunks)
    assert loaded.records["example-story-2"].origin == "/elsewhere/other.txt"


def test_the_same_text_from_another_source_is_a_duplicate_not_indexed_twice(tmp_path):
    text = "The council bought two ferries from Damen for 61 million euros."
    original, copy = _files(tmp_path, "a/report.txt", "copy-of-report.txt")
    _add(tmp_path / "index", _from(original, text))
    change = _add(tmp_path / "index", _from(copy, text, "copy-of-report"),
                  _from("https://example.org/same", text, "example-same"))
    assert not change.changed and [d.of for d in change.duplicates] == ["report", "report"]
    assert f"{copy} is the same text as 'report'" in change.summary()
    assert [r.id for r in read_manifest(tmp_path / "index").articles] == ["report"]


def test_copies_within_one_batch_are_caught_too(tmp_path):
    text = "The mayor resigned after a vote of no confidence."
    a, b = _files(tmp_path, "a.txt", "b.txt")
    change = _add(tmp_path / "index", _from(a, text, "a"), _from(b, text, "b"))
    assert change.added == ("a",) and change.duplicates[0].origin == b


def test_a_moved_file_keeps_its_id(tmp_path):
    gone = tmp_path / "old" / "story.txt"  # never created: the file is no longer where it was read
    _add(tmp_path / "index", _from(gone.as_posix(), "The harbour reopened on Monday.", "story"))
    here = tmp_path / "new" / "story.txt"
    here.parent.mkdir()
    here.write_text("x")
    change = _add(tmp_path / "index", _from(here.as_posix(), "The harbour reopened on Monday.", "new-story"))
    assert change.updated == ("story",) and read_manifest(tmp_path / "index").articles[0].origin == here.as_posix()


def test_other_chunking_is_refused_with_a_rebuild_hint(tmp_path):
    _add(tmp_path, A)
    assert read_manifest(tmp_path).chunking == CHUNKING
    with pytest.raises(IndexMismatchError, match=r"size/overlap 200/50 .* 300/50; run `qa index rebuild"):
        _load(tmp_path, chunking=Chunking(300, 50))
    with pytest.raises(IndexMismatchError, match="qa index rebuild"):
        with _writer(tmp_path, chunking=Chunking(300, 50)) as writer:
            writer.add([B])
    with _writer(tmp_path, fresh=True, chunking=Chunking(300, 50)) as writer:
        writer.rebuild()
        writer.commit()
    assert _load(tmp_path, chunking=Chunking(300, 50)).manifest.chunking == Chunking(300, 50)


def test_an_old_format_index_is_rebuilt_from_its_stored_texts(tmp_path):
    _add(tmp_path, A)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["format_version"] = 1
    del manifest["chunking"]
    for record in manifest["articles"]:
        del record["origin"], record["text_hash"], record["author"], record["tags"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format 1"):
        _load(tmp_path)
    with _writer(tmp_path, fresh=True) as writer:
        writer.rebuild()
        writer.commit()
    assert "Peru" in _load(tmp_path).texts["alpha"]
