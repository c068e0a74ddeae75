from dataclasses import replace

import numpy as np

from qa import answer, pipeline
from qa.index import read_manifest, vectors
from qa.ingest import make_article

from .conftest import ARTICLE, load_index, write


def test_milvus_lite_serves_the_same_index_interface(settings):
    settings = replace(settings, vector_store="milvus-lite")
    write(settings.index / "articles" / ARTICLE.name, ARTICLE.read_text())
    pipeline.sync_bundled(settings)
    result = answer("How many aircraft will be bought from Boeing?", settings=settings)
    assert any("40 aircraft from Boeing" in c.quote for c in result.citations)
    manifest = read_manifest(settings.index)
    assert manifest.vectors.startswith("milvus:") and (settings.index / "milvus.db").exists()
    assert not list(settings.index.glob("vectors-*.faiss"))

    pipeline.add_articles([make_article("ferries", "The port ordered six electric ferries from Damen.")], settings)
    pipeline.remove_articles(["c5-summit-critical-minerals"], settings)
    loaded = load_index(settings.index, settings)
    assert [a.id for a in loaded.manifest.articles] == ["ferries"] and loaded.vectors.ntotal == len(loaded.chunks)
    client = vectors._client(vectors.milvus_uri("milvus-lite", settings.index))
    assert client.list_collections() == [loaded.manifest.vectors.removeprefix("milvus:")]  # old generations dropped


def test_milvus_search_matches_exact_faiss(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((300, 16)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    milvus = vectors.MilvusVectors.create(str(tmp_path / "m.db"), "t", data)
    exact = vectors.build_faiss(data, 16)
    queries = data[:5] + 0.01
    assert (milvus.search(queries, 5)[1] == exact.search(queries, 5)[1]).all()
    assert np.allclose(milvus.reconstruct_n(0, 300), data, atol=1e-6)
