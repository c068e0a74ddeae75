"""A second process writing to an index in Milvus, as another machine's `qa index add` would, with the tests' fake
embedder. Usage: milvus_writer.py STORE ARTICLE_ID TEXT [--slow]; --slow rebuilds instead, announcing
"inserting" and then taking its time over every insert, so a test can kill it in the middle of a commit."""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pymilvus import MilvusClient  # noqa: E402

from qa import pipeline  # noqa: E402
from qa.index import milvus  # noqa: E402
from qa.ingest import make_article  # noqa: E402
from qa.settings import Settings  # noqa: E402
from tests.conftest import FakeEmbedder  # noqa: E402


def slow_inserts() -> None:
    milvus.INSERT_BATCH = 1
    insert = MilvusClient.insert

    def slowly(self, *args, **kwargs):
        print("inserting", flush=True)
        time.sleep(0.5)
        return insert(self, *args, **kwargs)

    MilvusClient.insert = slowly


def main() -> None:
    store, article_id, text = sys.argv[1:4]
    embedder = FakeEmbedder()
    pipeline.embedder_for = lambda settings: embedder
    settings = Settings(index=Path("/nonexistent-local-index"), embedder=FakeEmbedder.id, vector_store=store)
    if "--slow" in sys.argv:
        slow_inserts()
        pipeline.rebuild_index(settings)
    else:
        pipeline.add_articles([make_article(article_id, text, article_id.title())], settings)
    print("committed", flush=True)


if __name__ == "__main__":
    main()
