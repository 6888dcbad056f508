import subprocess
import sys

import tidings


def test_all_is_sorted_and_importable():
    assert tidings.__all__ == sorted(tidings.__all__)
    for name in tidings.__all__:
        assert getattr(tidings, name) is not None, name


def test_extract_is_a_public_function():
    article = tidings.extract(
        "<html><head><title>Ferry aground</title></head><body><article><h1>Ferry aground</h1>"
        + "<p>The ferry ran aground near the island on Tuesday night with 212 people on board, "
        "and lifeboats from three harbours took every passenger off in calm seas.</p>"
        * 3
        + "</article></body></html>",
        url="https://example.com/ferry",
    )
    assert isinstance(article, tidings.Article)
    assert article.title == "Ferry aground" and "212 people" in article.text


def test_importing_tidings_stays_light():
    code = (
        "import sys, tidings; heavy = [m for m in ('torch', 'sentence_transformers', "
        "'usearch', 'trafilatura', 'fastapi') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
