from pathlib import Path

import pytest

from qa.articles import load_articles, normalise, parse, read_article, slugify
from qa.errors import ArticleError

from .conftest import ARTICLE, write

LIMIT = 1_000_000


def test_bundled_article_gets_file_name_title_because_first_line_is_a_sentence():
    article = read_article(ARTICLE, LIMIT)
    assert article.id == "c5-summit-critical-minerals"
    assert article.title == "C5 Summit Critical Minerals"
    assert "40 aircraft from Boeing" in article.text
    assert len(article.hash) == 64


def test_markdown_front_matter_gives_metadata_and_is_not_text(tmp_path):
    path = write(tmp_path / "Deal News.md", "---\ntitle: \"Big deal\"\ndate: 2025-11-07\nsource: AP\n"
                 "url: https://example.org/x\n---\n# Heading\n\nBody text here.\n")
    article = read_article(path, LIMIT)
    assert (article.id, article.title, article.date, article.source) == ("deal-news", "Big deal", "2025-11-07", "AP")
    assert article.url == "https://example.org/x"
    assert "title:" not in article.text and article.text.startswith("# Heading")


def test_markdown_heading_is_title_without_front_matter():
    assert parse("x.md", "# The Heading\n\nSome body.", ".md").title == "The Heading"


def test_html_main_text_without_scripts_styles_or_navigation(tmp_path):
    html = ("<html><head><title>Minerals summit</title><style>p{color:red}</style><script>var secret=1;</script>"
            "</head><body><nav>Home | About | Login</nav><article><h1>Minerals summit</h1>"
            "<p>The leaders met at the White House to discuss critical minerals and supply chains.</p>"
            "<p>They also announced plans to acquire 40 aircraft from Boeing in a separate deal.</p>"
            "</article><footer>Copyright</footer></body></html>")
    article = read_article(write(tmp_path / "page.html", html), LIMIT)
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
    assert read_article(write(tmp_path / "reef.html", html), LIMIT).date == date


def test_normalise_folds_whitespace_and_composes_unicode():
    assert normalise("Cafe\u0301  costs\t5 \r\n\n\n\nNext\x00 line ") == "Café costs 5\n\nNext line"


def test_non_utf8_text_is_decoded_not_rejected(tmp_path):
    path = write(tmp_path / "latin.txt", "Der Präsident sagte, dass die Gespräche über Mineralien "
                 "fortgesetzt werden, und die Minister stimmten zu.".encode("latin-1"))
    assert "Präsident" in read_article(path, LIMIT).text


@pytest.mark.parametrize("name,data,message", [
    ("empty.txt", b"   \n", "empty"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
    ("image.png", b"abc", "unsupported type"),
])
def test_bad_files_are_refused_with_a_reason(tmp_path, name, data, message):
    with pytest.raises(ArticleError, match=message):
        read_article(write(tmp_path / name, data), LIMIT)


def test_size_limit(tmp_path):
    with pytest.raises(ArticleError, match="limit"):
        read_article(write(tmp_path / "big.txt", "word " * 100), 50)


def test_folder_walk_reports_bad_files_and_keeps_good_ones(tmp_path):
    write(tmp_path / "a" / "good.txt", "A good article about minerals.")
    write(tmp_path / "a" / "nested" / "other.md", "Another article.")
    write(tmp_path / "a" / "junk.bin", b"\x00\x01")
    write(tmp_path / "a" / "broken.txt", b"\x00\x00binary")
    write(tmp_path / "b" / "good.txt", "Same id as the first good one.")
    articles, skipped = load_articles([tmp_path / "a", tmp_path / "b", tmp_path / "missing.txt"], LIMIT)
    assert sorted(a.id for a in articles) == ["good", "other"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "binary" in reasons["broken.txt"] and "same id" in reasons["good.txt"]
    assert "no such file" in reasons["missing.txt"] and "junk.bin" not in reasons


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "/abs/path", "a/../../b", "", "Ünïcode Nämé"])
def test_ids_never_escape_the_index_folder(name):
    slug = slugify(name)
    assert slug and "/" not in slug and ".." not in slug and not slug.startswith(".")


def test_cyrillic_legacy_encoding_is_not_mistaken_for_western(tmp_path):
    path = write(tmp_path / "ru.txt", "Президент встретился с лидерами стран Центральной Азии в Белом доме.".encode("cp1251"))
    assert "Президент" in read_article(path, LIMIT).text
