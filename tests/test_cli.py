"""The `tidings` command, driven for real: click's runner in-process and subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tidings.cli import main

from .test_engine import BANK, BANK_FOLLOWUP, FERRY, FERRY_FOLLOWUP


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


ROWS = [
    {
        "url": "https://wire.example/ferry",
        "title": "Ferry runs aground off Skarra",
        "text": FERRY,
        "published": "2026-11-03T09:00:00Z",
        "source": "Meridian Wire",
    },
    {
        "url": "https://wire.example/ferry-2",
        "title": "Stranded ferry refloated",
        "text": FERRY_FOLLOWUP,
        "published": "2026-11-05T09:00:00Z",
        "source": "Meridian Wire",
    },
    {
        "url": "https://wire.example/rates",
        "title": "Estova holds rates",
        "text": BANK,
        "published": 1793696400000,
        "source": "Valley Ledger",
    },
    {
        "url": "https://wire.example/mortgages",
        "title": "Mortgage pain as rates stay high",
        "text": BANK_FOLLOWUP,
        "published": "2026-11-05T09:00:00Z",
        "source": "Valley Ledger",
    },
    {
        "url": "https://feedhub.example/ferry",
        "title": "Ferry grounded",
        "text": FERRY,
        "published": "2026-11-03T10:00:00Z",
        "source": "FeedHub",
    },
]


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory):
    """A database filled through `tidings ingest` (in-process)."""
    root = tmp_path_factory.mktemp("cli")
    items = write_jsonl(root / "items.jsonl", ROWS)
    data = root / "data"
    result = CliRunner().invoke(main, ["--data-dir", str(data), "ingest", str(items), "--json"])
    assert result.exit_code == 0, result.output
    return data, json.loads(result.output)


def run(data, *args):
    result = CliRunner().invoke(main, ["--data-dir", str(data), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_ingest_summary_counts(cli_db):
    data, summary = cli_db
    assert (summary["new"], summary["duplicate"], summary["failed"]) == (4, 1, [])
    assert summary["database"]["originals"] == 4


def test_search_related_stories_export(cli_db):
    data, _ = cli_db
    hits = json.loads(run(data, "search", "ship aground", "--mode", "semantic", "--json"))
    assert hits[0]["url"] == "https://wire.example/ferry"
    assert hits[0]["also_published_by"] == ["FeedHub"]
    keyword = json.loads(run(data, "search", "repayments", "--mode", "keyword", "--json"))
    assert [h["url"] for h in keyword] == ["https://wire.example/mortgages"]
    related = json.loads(run(data, "related", str(hits[0]["id"]), "--json"))
    assert related[0]["url"] == "https://wire.example/ferry-2" and related[0]["same_story"]
    assert "https://feedhub.example/ferry" not in {r["url"] for r in related}
    shown = run(data, "related", str(hits[0]["id"]))
    assert related[0]["shared"] and f"also mentions: {', '.join(related[0]['shared'])}" in shown
    stories = json.loads(run(data, "stories", "--json"))
    assert sorted(s["size"] for s in stories) == [2, 2]
    rows = [json.loads(line) for line in run(data, "export", "--format", "jsonl").splitlines()]
    assert len(rows) == 5
    assert set(rows[0]) == {"id", "url", "title", "published", "source", "story_id", "duplicate_of"}
    copy = next(r for r in rows if r["source"] == "FeedHub")
    assert copy["duplicate_of"] == hits[0]["id"]
    rates = next(r for r in rows if r["url"] == "https://wire.example/rates")
    assert rates["published"].startswith("2026-11-03")  # epoch milliseconds understood
    text = run(data, "search", "ferry", "--mode", "keyword")
    assert "Ferry runs aground off Skarra" in text and "also published by: FeedHub" in text


def test_errors_are_clear(cli_db, tmp_path):
    data, _ = cli_db
    result = CliRunner().invoke(main, ["--data-dir", str(data), "related", "99999"])
    assert result.exit_code != 0 and "no article with id 99999" in result.output
    bad = CliRunner().invoke(main, ["--data-dir", str(data), "search", "x", "--mode", "fuzzy"])
    assert bad.exit_code != 0
    missing = CliRunner().invoke(
        main, ["--data-dir", str(data), "extract", str(tmp_path / "nope.html")]
    )
    assert missing.exit_code != 0 and "no such file" in missing.output


def test_extract_json_prints_the_article(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Ferry runs aground | Harbourline</title>"
        "<link rel='canonical' href='https://harbourline.example/ferry'>"
        "<meta property='article:published_time' content='2026-11-03T09:00:00Z'>"
        "<meta name='author' content='Maren Holt'></head><body><nav>Home News Sport</nav>"
        f"<article><h1>Ferry runs aground</h1><p>{FERRY}</p><p>{FERRY_FOLLOWUP}</p>"
        "<p>Visited 12 times, 3 visit(s) today</p></article>"
        "<footer>© Harbourline</footer></body></html>"
    )
    result = CliRunner().invoke(main, ["extract", str(page), "--json"])
    assert result.exit_code == 0, result.output
    article = json.loads(result.output)
    assert article["title"] == "Ferry runs aground"
    assert article["canonical_url"] == "https://harbourline.example/ferry"
    assert article["author"] == "Maren Holt"
    assert article["published"].startswith("2026-11-03T09:00")
    assert "Selkie Dawn" in article["text"] and "Visited 12 times" not in article["text"]


def test_data_dir_from_environment_and_real_process(tmp_path):
    """The installed console script, a real process, TIDINGS_DATA_DIR honoured."""
    items = write_jsonl(tmp_path / "items.jsonl", ROWS[:2])
    env = {**os.environ, "TIDINGS_DATA_DIR": str(tmp_path / "envdata")}
    done = subprocess.run(
        [sys.executable, "-m", "tidings.cli", "ingest", str(items)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "ingested: 2 new, 0 duplicate" in done.stdout
    assert (tmp_path / "envdata" / "tidings.db").exists()
    again = subprocess.run(
        [sys.executable, "-m", "tidings.cli", "ingest", str(items)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "0 new, 0 duplicate, 2 unchanged" in again.stdout


def test_serve_runs_the_api_on_the_given_port(cli_db):
    import socket
    import time

    import httpx

    data, _ = cli_db
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tidings.cli",
            "--data-dir",
            str(data),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        stats = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                stats = httpx.get(f"http://127.0.0.1:{port}/api/stats", timeout=2).json()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert stats is not None, "server did not come up"
        assert stats["originals"] == 4 and stats["duplicates"] == 1
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output
