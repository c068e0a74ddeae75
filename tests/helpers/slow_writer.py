"""Runs `qa index ...` in a child process with a slow fake embedder, so a test can kill -9 it mid-write."""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from qa import pipeline  # noqa: E402
from qa.cli import main  # noqa: E402
from tests.conftest import FakeEmbedder  # noqa: E402


class SlowEmbedder(FakeEmbedder):
    def encode(self, texts, progress=False):
        time.sleep(0.01 * len(texts))
        return super().encode(texts)


embedder = SlowEmbedder()
pipeline.embedder_for = lambda settings: embedder
sys.exit(main(sys.argv[1:]))
