"""`make run`: build the index and the model on first use (with progress), then serve the chat."""
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.pipeline import warm_up  # noqa: E402
from qa.ui import create_app, launch_options  # noqa: E402

if __name__ == "__main__":
    warm_up()
    create_app().queue(default_concurrency_limit=1).launch(**launch_options())
