"""A real browser (Debian's Chromium through Playwright) against the app with the real models."""
import json
import shutil
import socket
from pathlib import Path

import pytest

from qa import pipeline, ui
from qa.settings import Settings

from .conftest import ARTICLE, write

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def index(tmp_path):
    pipeline.forget_answerers()
    index = tmp_path / "index"
    shutil.copytree(ARTICLE.parent, index / "articles")
    pipeline.sync_bundled(Settings.from_env(index=index))
    return index


@pytest.fixture
def app_url(index):
    settings = Settings.from_env(index=index)
    pipeline.warm_up(settings)  # as `qa serve` does before it listens: on a first run, the models convert here
    app = ui.create_app(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                       css=ui.CSS)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture
def page():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser.new_page(viewport={"width": 1280, "height": 900})
        browser.close()


def _ask(page, question):
    before = page.locator("#sources .source, #sources .abstained").count()
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    return before


def test_streamed_answer_with_highlighted_sources_then_upload_and_ask(page, app_url, index, tmp_path):
    page.goto(app_url)
    _ask(page, "How many aircraft will be bought from Boeing?")
    page.wait_for_selector("#sources mark", timeout=120_000)
    assert "40 aircraft from Boeing" in page.locator("#sources mark").first.inner_text()
    bot = page.locator("#chat .message").last.inner_text()
    assert "40" in bot and "[1]" in bot
    assert page.locator("#sources mark").first.is_visible() and page.locator("#chat .message").last.is_visible()

    page.locator("#chat button[aria-label='Like']").last.click()
    feedback = index / "feedback.jsonl"
    for _ in range(50):  # the vote is written by the server a moment after the click
        if feedback.exists():
            break
        page.wait_for_timeout(100)
    vote = json.loads(feedback.read_text().splitlines()[-1])
    assert vote["liked"] is True and "Boeing" in vote["question"] and vote["citations"]

    page.locator("#open-cited").click()  # the cited sentence, highlighted in the whole article
    page.wait_for_selector("#article-view mark", timeout=30_000)
    assert "40 aircraft from Boeing" in page.locator("#article-view mark").first.inner_text()
    assert "C5 Summit Critical Minerals" in page.locator("#article-view h3").inner_text()

    article = write(tmp_path / "upload" / "harbour-news.txt",
                    "The port of Bergen ordered six electric ferries from the Damen shipyard on Tuesday.")
    page.locator("#upload input[type=file]").set_input_files(str(article))
    page.locator("#add-files").click()
    page.wait_for_function("document.querySelector('#article-status').innerText.includes('added 1')",
                           timeout=60_000)
    assert "harbour-news" in page.locator("#articles").inner_text()

    page.get_by_role("tab", name="Chat").click()
    _ask(page, "How many electric ferries did the port of Bergen order?")
    page.wait_for_function("[...document.querySelectorAll('#sources mark')].some(m => m.innerText.includes('ferries'))",
                           timeout=120_000)
    assert "six electric ferries" in page.locator("#sources").inner_text()
