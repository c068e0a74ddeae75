from pathlib import Path

import pytest

from qa.errors import ArticleError
from qa.ingest import load_sources, normalise, slugify
from qa.ingest.markdown import to_text
from qa.ingest.sources import FileSource, read_file
from qa.ingest.text import is_furniture
from qa.ingest.web import USER_AGENT, fetch_article

from .conftest import ARTICLE, write
from .helpers.news_server import news_server

LIMIT = 1_000_000


def read(path: Path, limit: int = LIMIT):
    return read_file(FileSource(path, Path(path.name)), limit)


def test_bundled_article_gets_file_name_title_because_first_line_is_a_sentence():
    article = read(ARTICLE)
    assert article.id == "c5-summit-critical-minerals"
    assert article.title == "C5 Summit Critical Minerals"
    assert "40 aircraft from Boeing" in article.text
    assert len(article.hash) == 64 and article.origin == ARTICLE.resolve().as_posix()


# --- Markdown ---------------------------------------------------------------------------------------------

def test_markdown_front_matter_is_yaml_and_markup_never_reaches_the_text(tmp_path):
    path = write(tmp_path / "Deal News.md", '---\ntitle: "Big deal: the sequel"\ndate: 7 November 2025\n'
                 "source: AP\nauthor: Jo Reporter\ntags: [mining, trade]\nurl: https://example.org/x\n---\n"
                 "# Heading\n\nThe **fund** bought a *70%* stake, [Reuters](https://reuters.com/a) reported.\n\n"
                 "- first point\n- second `point`\n")
    article = read(path)
    assert (article.id, article.title, article.date, article.source) == ("deal-news", "Big deal: the sequel",
                                                                         "2025-11-07", "AP")
    assert (article.url, article.author, article.tags) == ("https://example.org/x", "Jo Reporter", ("mining", "trade"))
    assert "The fund bought a 70% stake, Reuters reported." in article.text
    assert not any(mark in article.text for mark in ("**", "*70", "](", "title:", "`"))
    assert article.text.startswith("# Heading") and "- first point" in article.text


def test_markdown_heading_is_title_without_front_matter():
    assert to_text("# The Heading\n\nSome _body_.") == "# The Heading\n\nSome body."


@pytest.mark.parametrize("front, message", [
    ("title: [unclosed\n", "not valid YAML"),
    ("- just\n- a list\n", "key: value"),
])
def test_bad_front_matter_is_a_clear_error(tmp_path, front, message):
    with pytest.raises(ArticleError, match=message):
        read(write(tmp_path / "bad.md", f"---\n{front}---\nBody.\n"))


def test_an_unreadable_date_is_dropped_not_invented(tmp_path):
    assert read(write(tmp_path / "d.md", "---\ndate: sometime soon\n---\nBody text.\n")).date is None


# --- HTML -------------------------------------------------------------------------------------------------

def test_html_main_text_without_scripts_styles_or_navigation(tmp_path):
    html = ("<html><head><title>Minerals summit</title><style>p{color:red}</style><script>var secret=1;</script>"
            "</head><body><nav>Home | About | Login</nav><article><h1>Minerals summit</h1>"
            "<p>The leaders met at the White House to discuss critical minerals and supply chains.</p>"
            "<p>They also announced plans to acquire 40 aircraft from Boeing in a separate deal.</p>"
            "</article><footer>Copyright</footer></body></html>")
    article = read(write(tmp_path / "page.html", html))
    assert "40 aircraft from Boeing" in article.text
    assert "secret" not in article.text and "color:red" not in article.text
    assert article.title == "Minerals summit"


@pytest.mark.parametrize("meta, date", [
    ("", None),
    ('<meta property="article:published_time" content="2025-05-02T10:00:00Z">', "2025-05-02"),
])
def test_html_date_is_the_declared_one_never_a_year_guessed_from_the_text(tmp_path, meta, date):
    html = (f"<html><head><title>Reef</title>{meta}</head><body><article><h1>Coral bleaching</h1>"
            "<p>Scientists said 40 percent of the Great Barrier Reef was bleached in 2024, the worst year.</p>"
            "<p>The study was led by Dr. Mara Lind of James Cook University.</p></article></body></html>")
    assert read(write(tmp_path / "reef.html", html)).date == date


# --- PDF --------------------------------------------------------------------------------------------------

PAGES = [
    [["The city council voted on Tuesday to buy two electric ferries for the",
      "harbour route, replacing diesel boats that have served the island since",
      "1994. The ferries will be built by the Dutch shipyard Damen under a con-",
      "struction contract worth 61 million euros."],
     ["Opposition leader Kari Holm said the contract was too expensive and",
      "asked for a new tender, but her motion was defeated by nineteen votes",
      "in the evening session."]],
    [["Residents of the island welcomed the decision. Many of them commute",
      "to the mainland every day and have complained about the noise and the",
      "smell of the old diesel boats for years."],
     ["The first ferry is expected to enter service in the spring of 2028."]],
]


def make_pdf(path: Path, text: bool = True, pages: list = PAGES) -> Path:
    from fpdf import FPDF

    class Paper(FPDF):
        def header(self):
            self.set_font("helvetica", size=8)
            self.cell(0, 6, "THE HARBOUR GAZETTE - Thursday 4 December 2026", new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            self.set_y(-12)
            self.set_font("helvetica", size=8)
            self.cell(0, 6, f"Page {self.page_no()}", align="C")

    pdf = Paper()
    pdf.set_title("Council approves ferries")
    for page in pages:
        pdf.add_page()
        if not text:
            pdf.rect(20, 40, 120, 80, style="F")  # a scanned page: a picture, no text layer
            continue
        pdf.set_font("helvetica", size=11)
        for paragraph in page:
            for line in paragraph:
                pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def test_pdf_lines_become_paragraphs_and_page_furniture_is_dropped(tmp_path):
    article = read(make_pdf(tmp_path / "gazette.pdf"))
    assert article.title == "Council approves ferries" and article.id == "gazette"
    assert "HARBOUR GAZETTE" not in article.text and "Page " not in article.text
    assert "under a construction contract worth 61 million euros." in article.text  # hyphenation undone
    assert ("The city council voted on Tuesday to buy two electric ferries for the harbour route, replacing diesel "
            "boats that have served the island since 1994.") in article.text
    paragraphs = article.text.split("\n\n")
    assert len(paragraphs) == 4 and paragraphs[1].startswith("Opposition leader Kari Holm said")
    assert paragraphs[3] == "The first ferry is expected to enter service in the spring of 2028."


def test_a_scanned_pdf_says_it_has_no_text_layer(tmp_path):
    with pytest.raises(ArticleError, match="no text layer"):
        read(make_pdf(tmp_path / "scan.pdf", text=False))


@pytest.mark.parametrize("data", [b"%PDF-1.4\nthis is not really a pdf\n%%EOF", b"\x00\x01garbage" * 10])
def test_a_corrupt_pdf_is_a_clear_error(tmp_path, data):
    with pytest.raises(ArticleError, match="not a readable PDF|no text layer"):
        read(write(tmp_path / "broken.pdf", data))


# --- web pages by URL -------------------------------------------------------------------------------------

def test_a_page_by_url_keeps_the_story_and_its_metadata_and_drops_the_boilerplate():
    with news_server() as (server, base):
        article = fetch_article(f"{base}/news/ferries.html#comments", 5, LIMIT)
    assert article.title == "Council approves two electric ferries"
    assert (article.date, article.author, article.source) == ("2026-11-30", "Ola Nordmann", "Harbour Gazette")
    assert article.url == article.origin == f"{base}/news/ferries.html"
    assert "built by the Dutch shipyard Damen" in article.text
    assert not any(junk in article.text for junk in ("newsletter", "Log in", "All rights reserved"))
    assert article.id == "127-0-0-1-news-ferries" and server.user_agents == [USER_AGENT]


@pytest.mark.parametrize("path, message", [
    ("/missing.html", "answered 404"),
    ("/data.json", "application/json, not HTML"),
    ("/big.html", "over the 1,000,000-byte limit"),
    ("/nav.html", "no article text"),
    ("/hang", "no answer within 0.5 s"),
])
def test_every_bad_page_is_one_clear_line(path, message):
    with news_server() as (_, base):
        with pytest.raises(ArticleError, match=message) as caught:
            fetch_article(base + path, 0.5, LIMIT)
    assert "\n" not in str(caught.value) and str(caught.value).startswith(base + path)


def test_an_unreachable_host_is_a_clear_error():
    with pytest.raises(ArticleError, match="cannot fetch"):
        fetch_article("http://127.0.0.1:9/x.html", 2, LIMIT)


# --- files and folders ------------------------------------------------------------------------------------

def test_normalise_folds_whitespace_and_composes_unicode():
    assert normalise("Cafe\u0301  costs\t5 \r\n\n\n\nNext\x00 line ") == "Café costs 5\n\nNext line"


def test_non_utf8_text_is_decoded_not_rejected(tmp_path):
    path = write(tmp_path / "latin.txt", "Der Präsident sagte, dass die Gespräche über Mineralien "
                 "fortgesetzt werden, und die Minister stimmten zu.".encode("latin-1"))
    assert "Präsident" in read(path).text


@pytest.mark.parametrize("name,data,message", [
    ("empty.txt", b"   \n", "empty"),
    ("empty.pdf", b"", "empty"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
    ("image.png", b"abc", "unsupported type"),
])
def test_bad_files_are_refused_with_a_reason(tmp_path, name, data, message):
    with pytest.raises(ArticleError, match=message):
        read(write(tmp_path / name, data))


def test_size_limit(tmp_path):
    with pytest.raises(ArticleError, match="limit"):
        read(write(tmp_path / "big.txt", "word " * 100), 50)


def test_folder_ids_come_from_the_path_inside_the_folder_and_bad_files_are_reported(tmp_path):
    write(tmp_path / "a" / "good.txt", "A good article about minerals.")
    write(tmp_path / "a" / "nested" / "other.md", "Another article.")
    write(tmp_path / "a" / "junk.bin", b"\x00\x01")
    write(tmp_path / "a" / "broken.txt", b"\x00\x00binary")
    write(tmp_path / "b" / "good.txt", "Another story in a file of the same name.")
    articles, skipped = load_sources([tmp_path / "a", tmp_path / "b", tmp_path / "missing.txt"], LIMIT)
    assert sorted(a.id for a in articles) == ["good", "good", "nested-other"]
    assert len({a.origin for a in articles}) == 3  # the writer keeps the two "good" apart by origin
    reasons = {Path(s.source).name: s.reason for s in skipped}
    assert "binary" in reasons["broken.txt"] and "no such file" in reasons["missing.txt"]
    assert "junk.bin" not in reasons


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "/abs/path", "a/../../b", "", "Ünïcode Nämé"])
def test_ids_never_escape_the_index_folder(name):
    slug = slugify(name)
    assert slug and "/" not in slug and ".." not in slug and not slug.startswith(".")


def test_cyrillic_legacy_encoding_is_not_mistaken_for_western(tmp_path):
    path = write(tmp_path / "ru.txt", "Президент встретился с лидерами стран Центральной Азии в Белом доме.".encode("cp1251"))
    assert "Президент" in read(path).text


@pytest.mark.parametrize("line, furniture", [
    ("CNN —", True), ("New York CNN Business —", True), ("Brenn, Austria Example Wire —", True),
    ("Related: How Europe's rail freight fell behind the roads", True), ("Photo: The team celebrates.", True),
    ("Video Ad Feedback Dr. Fauci explains the subvariant 04:58 - Source: CNN", True), ("READS OF THE WEEK", True),
    ("This story has been updated with new information.", True),
    ("More than half of the reefs showed bleaching.", False), ("NASA said on Monday the rocket would launch.", False),
    ("“I don’t know,” he said — and left.", False), ("Watch out for carbon monoxide, officials said.", False),
])
def test_a_news_pages_furniture_is_told_from_its_sentences(line, furniture):
    assert is_furniture(line) is furniture


def test_an_article_without_a_title_opening_with_a_dateline_is_named_by_its_url(tmp_path):
    page = write(tmp_path / "gas.md", '---\nurl: "https://www.cnn.com/2022/06/11/business/gas-prices-five-dollars-'
                                      'national-june/index.html"\ndate: "2022-06-11"\n---\n\nNew York CNN Business —\n\n'
                                      'For the first time ever, a gallon of regular gas now costs $5 on average.')
    (article,), _ = load_sources([str(page)], LIMIT)
    assert article.title == "Gas prices five dollars national june" and article.text.startswith("New York CNN")
