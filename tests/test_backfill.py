"""The backfill: HTML directories (plain and gzipped) and JSONL through read → extract →
embed → the ingest write path, in-process and on a local Ray; the same database as
`tidings ingest` of the same inputs, resumable after an interruption, clear errors."""

from __future__ import annotations

import gzip
import json
import shutil
import sys

import pytest
from click.testing import CliRunner

from tidings.scale import BackfillError, plan_shards, run_backfill

from .conftest import make_settings
from .test_embed_onnx import onnx_cache  # noqa: F401  (a fixture)
from .test_engine import BANK, BANK_FOLLOWUP, FERRY, FERRY_FOLLOWUP
from .test_warc import write_warc

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:title" content="{title}"><meta property="og:site_name" content="{site}">
<meta property="article:published_time" content="2026-11-0{day}T09:00:00Z"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav><article><h1>{title}</h1>
{paragraphs}</article><footer>© {site}</footer></body></html>"""

INDEX_PAGE = """<!doctype html><html><head><title>Front page</title></head><body><ul>
""" + "".join(f'<li><a href="/story/{i}">Headline number {i}</a></li>' for i in range(40)) + """
</ul></body></html>"""


def page(title: str, text: str, day: int, site: str = "Harbour Times") -> str:
    sentences = text.split(". ")
    paragraphs = "".join(
        f"<p>{'. '.join(sentences[i : i + 2])}.</p>" for i in range(0, len(sentences), 2)
    )
    return PAGE.format(title=title, site=site, day=day, paragraphs=paragraphs)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Two events in HTML (a copy among them, one gzipped page, an index page and a broken
    .gz) and in a JSONL dump with a syndicated copy of a page; a WARC crawl of two more."""
    root = tmp_path_factory.mktemp("backfill") / "archive"
    (root / "site-a").mkdir(parents=True)
    (root / "site-b").mkdir()
    (root / "site-a" / "ferry.html").write_text(page("Ferry runs aground off Skarra", FERRY, 3))
    (root / "site-a" / "refloated.html").write_text(
        page("Stranded ferry refloated", FERRY_FOLLOWUP, 5)
    )
    (root / "site-a" / "index.html").write_text(INDEX_PAGE)
    (root / "site-b" / "rates.html.gz").write_bytes(
        gzip.compress(page("Estova holds rates at 4.25%", BANK, 4, "Valley Ledger").encode())
    )
    (root / "site-b" / "ferry-copy.html").write_text(
        page("Island ferry grounded", FERRY, 3, "FeedHub")
    )
    (root / "site-b" / "broken.html.gz").write_bytes(b"\x1f\x8bnot really gzip")
    write_warc(root / "site-b" / "crawl.warc.gz")  # 2 pages, 3 ignored records, 1 failure
    records = [
        {"url": "https://ledger.example/mortgages", "title": "Mortgage pain as rates stay high",
         "text": BANK_FOLLOWUP, "published": "2026-11-05T09:00:00Z", "source": "Valley Ledger"},
        {"url": "https://wire.example/rates-copy", "title": "Estova keeps rates on hold",
         "text": BANK, "published": "2026-11-04T10:00:00Z", "source": "Wire"},
    ]
    (root / "dump.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records) + "\n{not json}\n"
    )
    return root


def outcome(engine) -> dict:
    """What a reader sees, independent of ids: each article with the URL it is a copy of,
    and the stories as sets of URLs."""
    articles = list(engine.store.iter_articles())
    url_of = {a.id: a.url for a in articles}
    stories: dict[int, set[str]] = {}
    for a in articles:
        stories.setdefault(a.story_id, set()).add(a.url.rsplit("/", 1)[-1])
    return {
        "copies": {a.url.rsplit("/", 1)[-1]: url_of.get(a.duplicate_of, "").rsplit("/", 1)[-1]
                   for a in articles},
        "stories": sorted(sorted(s) for s in stories.values()),
        "vectors": len(engine.vectors),
    }


@pytest.fixture(scope="module")
def ingested(archive, embedder, tmp_path_factory):
    from tidings.engine import Engine

    with Engine(make_settings(tmp_path_factory.mktemp("by-ingest")), embedder=embedder) as e:
        e.ingest([str(archive)])
        return outcome(e)


def test_local_backfill_writes_what_ingest_writes(archive, make_engine, tmp_path, ingested):
    engine = make_engine(tmp_path / "by-backfill")
    result = run_backfill(engine, [str(archive)], "local", batch_size=3)
    r = result.ingest
    assert (r.new, r.duplicate) == (6, 2)
    assert sorted(p.item.rsplit("/", 1)[-1] for p in r.skipped) == ["index.html"]
    assert sorted(p.reason.split(":")[0] for p in r.failed) == [
        "corrupt gzip", "invalid JSON", "target URI is not an http(s) URL"
    ]
    assert r.ignored == {"WARC non-HTML responses": 1, "WARC non-200 responses": 1,
                         "WARC revisit records": 1}
    # the JSONL file, two runs of HTML files and the WARC file between them
    assert result.pages == 15 and result.shards == 4
    got = outcome(engine)
    assert got == ingested
    assert got["copies"]["ferry-copy.html"] == "ferry.html"
    assert got["copies"]["rates.html.gz"] == "rates-copy"  # the dump is read first
    assert ["ferry-copy.html", "ferry.html", "refloated.html"] in got["stories"]
    assert engine.search("ship aground", mode="semantic")[0].article.title.startswith("Ferry")


def test_an_interrupted_backfill_resumes_where_it_stopped(archive, make_engine, tmp_path,
                                                          ingested):
    data = tmp_path / "resumed"
    engine = make_engine(data)
    writes = []

    def interrupt(result):
        writes.append(result.pages)
        if len(writes) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_backfill(engine, [str(archive)], "local", batch_size=2, progress=interrupt,
                     html_per_shard=2)
    stored = engine.stats()["originals"] + engine.stats()["duplicates"]
    assert 0 < stored < 8
    done_before = (data / "backfill.done").read_text().split()
    assert len(done_before) >= 1
    engine.close()

    engine = make_engine(data)
    result = run_backfill(engine, [str(archive)], "local", batch_size=2, html_per_shard=2)
    assert result.shards_done_before == len(done_before)
    assert result.ingest.new + result.ingest.duplicate == 8 - stored
    assert outcome(engine) == ingested
    again = run_backfill(engine, [str(archive)], "local", html_per_shard=2)
    assert again.pages == 0 and again.shards_done_before == again.shards == 5


def test_backfill_on_local_ray(archive, tmp_path, ingested, onnx_cache):  # noqa: F811
    """The embedding actors run the ONNX fp32 export (no torch to import in them): its
    vectors are the torch model's, so the database is the one ingest made."""
    pytest.importorskip("ray.data")
    from tidings.engine import Engine

    settings = make_settings(tmp_path / "by-ray", embed_backend="onnx",
                             embed_cache_dir=str(onnx_cache))
    engine = Engine(settings)
    result = run_backfill(engine, [str(archive)], "ray", batch_size=4, html_per_shard=3)
    assert (result.ingest.new, result.ingest.duplicate) == (6, 2)
    assert len(result.ingest.skipped) == 1 and len(result.ingest.failed) == 3
    assert sum(result.ingest.ignored.values()) == 3
    assert (tmp_path / "by-ray" / "backfill.done").read_text().count("\n") == result.shards
    assert outcome(engine) == ingested
    engine.close()


def test_without_ray_the_error_names_the_extra(archive, make_engine, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)
    engine = make_engine(tmp_path / "no-ray")
    with pytest.raises(BackfillError, match=r"tidings\[ray\]"):
        run_backfill(engine, [str(archive)], "ray")
    assert engine.stats()["originals"] == 0


def test_the_cli_command(archive, tmp_path, monkeypatch):
    from tidings.cli import main

    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "cli")]
    missing = runner.invoke(main, [*data, "backfill", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "no such file or directory" in missing.output
    monkeypatch.setitem(sys.modules, "ray", None)
    no_ray = runner.invoke(main, [*data, "backfill", "--engine", "ray", str(archive)])
    assert no_ray.exit_code == 1 and "pip install 'tidings[ray]'" in no_ray.output
    done = runner.invoke(main, [*data, "backfill", "--json", str(archive)])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output)
    assert (summary["new"], summary["duplicate"], summary["pages"]) == (6, 2, 15)
    assert summary["database"]["originals"] == 6


def test_shards(archive, tmp_path):
    archive = shutil.copytree(archive, tmp_path / "archive")
    shards = plan_shards([str(archive)], html_per_shard=2)
    # the JSONL file, 4 HTML files, the WARC file, 2 HTML files
    assert [len(s.paths) for s in shards] == [1, 2, 2, 1, 2]
    assert plan_shards([str(archive)], html_per_shard=2) == shards  # stable ids
    (archive / "site-a" / "ferry.html").write_text("changed")
    assert plan_shards([str(archive)], html_per_shard=2)[1].id != shards[1].id
    with pytest.raises(BackfillError, match="no such file"):
        plan_shards([str(archive / "nope")])
