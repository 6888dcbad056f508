"""The demo news-web renderer (demo/build_site.py): pages, feeds, edits, charset, determinism."""

from __future__ import annotations

import html
import importlib.util
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import lxml.html
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "demo_corpus"
BASE = "http://127.0.0.1:8765"


def _load_builder():
    spec = importlib.util.spec_from_file_location(
        "demo_build_site", ROOT / "demo" / "build_site.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


build = _load_builder()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "site"
    summary = build.build_site(FIXTURE, out, BASE)
    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    return out, summary, manifest


def fixture_articles() -> dict[str, dict]:
    arts = {}
    for path in sorted((FIXTURE / "events").glob("*.json")):
        for art in json.loads(path.read_text(encoding="utf-8"))["articles"]:
            arts[art["id"]] = art
    return arts


def page_by_id(manifest, page_id):
    return next(p for p in manifest["pages"] if p["id"] == page_id)


def read_page(out: Path, page: dict) -> str:
    return (out / page["path"]).read_bytes().decode(page["charset"])


def visible_text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def doc(out: Path, page: dict):
    return lxml.html.document_fromstring((out / page["path"]).read_bytes())


def by_class(node, tag: str, cls: str) -> list:
    """Elements like CSS ``tag.cls`` below node (lxml's cssselect needs an extra package)."""
    return node.xpath(f".//{tag}[contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')]")


def canonical(tree) -> list[str]:
    return tree.xpath('//link[@rel="canonical"]/@href')


# ---------------------------------------------------------------- counts and paths


def test_summary_counts_match_fixture(site):
    _, summary, manifest = site
    arts = fixture_articles()
    n_copies = sum(len(a.get("syndicated_to") or []) for a in arts.values())
    assert summary["outlets"] == 10
    assert summary["events"] == 2
    assert summary["originals"] == len(arts) == 8
    assert summary["copies"] == n_copies == 8
    assert summary["pages"] == len(manifest["pages"]) == 16
    assert summary["feeds"] == 10
    assert summary["edge_pages"] == 5
    assert summary["warnings"] == []


def test_every_page_is_written_at_its_dated_slug_path(site):
    out, _, manifest = site
    for page in manifest["pages"]:
        published = datetime.fromisoformat(page["published"])
        expected_dir = f"{page['outlet']}/{published:%Y/%m/%d}/"
        assert page["path"].startswith(expected_dir), page["path"]
        assert re.fullmatch(r"[a-z0-9-]+\.html", page["path"][len(expected_dir) :])
        assert page["url"] == f"{BASE}/{page['path']}"
        assert (out / page["path"]).is_file()


def test_pages_carry_title_and_every_paragraph(site):
    out, _, manifest = site
    for page in manifest["pages"]:
        text = visible_text(read_page(out, page))
        assert page["title"] in text, page["id"]
        for para in page["paragraphs"]:
            assert para in text, (page["id"], para[:40])


def test_original_pages_have_clutter_around_the_story(site):
    out, _, manifest = site
    page = page_by_id(manifest, "tessmoor-ferry-strike-03")  # harbourline original
    text = visible_text(read_page(out, page))
    for clutter in (
        "Accept all",
        "Breaking",
        "Most Read",
        "Related Articles",
        "Sign up",
        "Share this article",
        "Privacy policy",
        "Comments",
    ):
        assert clutter in text, clutter
    tree = doc(out, page)
    assert len(tree.xpath('//*[@id="comments"]//li')) >= 2  # harbourline always has comments
    assert by_class(tree, "aside", "advert") or by_class(tree, "aside", "sidebar-ad")


# ---------------------------------------------------------------- syndicated copies


def test_syndicated_copy_applies_title_drop_replace_and_prefix(site):
    out, _, manifest = site
    original = fixture_articles()["tessmoor-ferry-strike-01"]
    edits = next(s for s in original["syndicated_to"] if s["outlet"] == "harbourline")
    copy = page_by_id(manifest, "tessmoor-ferry-strike-01@harbourline")
    tree = doc(out, copy)
    assert by_class(tree, "h1", "entry-title")[0].text_content() == edits["title"]
    body = [p.text_content() for p in by_class(tree, "div", "entry-content")[0].iter("p")]
    assert body[0].startswith(edits["prefix"] + " TESSMOOR (Meridian)")
    joined = " ".join(body)
    assert "nearly two thousand islanders" in joined
    assert "about 1,800 commuters" not in joined
    assert original["paragraphs"][-1] not in joined  # drop_last: 1
    assert original["paragraphs"][-2] in joined
    orig_page = page_by_id(manifest, "tessmoor-ferry-strike-01")
    assert canonical(tree) == [orig_page["url"]]


def test_unedited_copy_keeps_the_original_text(site):
    out, _, manifest = site
    original = fixture_articles()["tessmoor-ferry-strike-01"]
    copy = page_by_id(manifest, "tessmoor-ferry-strike-01@valley-ledger")
    paras = [p.text_content() for p in by_class(doc(out, copy), "p", "story__para")]
    assert paras == original["paragraphs"]


def test_aggregator_copy_has_autoblog_junk_inside_the_body(site):
    out, _, manifest = site
    copy = page_by_id(manifest, "tessmoor-ferry-strike-01@dailyfeedhub")
    original = page_by_id(manifest, "tessmoor-ferry-strike-01")
    body = by_class(doc(out, copy), "div", "entry-content")[0]
    body_text = body.text_content()
    source = [a for a in body.iter("a") if a.text_content() == "Source link"]
    assert [a.get("href") for a in source] == [original["url"]]
    assert re.search(r"Visited \d+ times, \d+ visit\(s\) today", body_text)
    assert "Would love your thoughts, please comment." in body_text
    assert "Share this:" in body_text and "Related Article" in body_text
    assert "By admin" in " ".join(visible_text(read_page(out, copy)).split())
    # the keyword "related" teasers are about other events: that is the point of the demo
    events = {p["url"]: p["event"] for p in manifest["pages"]}
    related = [a.get("href") for a in body.iter("a") if a.get("rel") == "bookmark"]
    assert related and all(events[url] != copy["event"] for url in related)


def test_second_aggregator_links_source_and_has_no_canonical(site):
    out, _, manifest = site
    copy = page_by_id(manifest, "tessmoor-ferry-strike-01@newsnow24")
    original = page_by_id(manifest, "tessmoor-ferry-strike-01")
    tree = doc(out, copy)
    post_body = by_class(tree, "div", "post-body")[0]
    links = [
        a.get("href") for a in post_body.iter("a") if a.text_content() == "Read more at source"
    ]
    assert links == [original["url"]]
    assert canonical(tree) == []
    assert "TRENDING NOW" in post_body.text_content()


def test_canonical_policies_differ_between_outlets(site):
    _, _, manifest = site
    copies = [p for p in manifest["pages"] if p["kind"] == "copy"]
    to_original = [p for p in copies if p["canonical"] == p["original_url"]]
    without = [p for p in copies if p["canonical"] is None]
    assert to_original and without
    assert page_by_id(manifest, "glasswing-moth-survey-03")["canonical"].endswith(
        "what-a-small-moth-tells-us-about-a-warming-north.html"
    )
    assert page_by_id(manifest, "tessmoor-ferry-strike-02")["canonical"] is None


# ---------------------------------------------------------------- layouts and metadata


def test_outlet_layouts_and_metadata_differ(site):
    out, _, manifest = site
    northgate = read_page(out, page_by_id(manifest, "glasswing-moth-survey-03"))
    assert "<article" in northgate and '<time class="article__date" datetime="' in northgate
    ld = (
        doc(out, page_by_id(manifest, "glasswing-moth-survey-03"))
        .xpath('//script[@type="application/ld+json"]')[0]
        .text_content()
    )
    ld = json.loads(ld)
    assert ld["@type"] == "NewsArticle" and ld["author"][0]["name"] == "Clem Rosser"
    assert ld["datePublished"] == "2026-11-07T07:00:00+00:00"

    civic_page = page_by_id(manifest, "tessmoor-ferry-strike-02")
    civic = doc(out, civic_page)
    assert not civic.xpath("//article") and not civic.xpath('//script[@type="application/ld+json"]')
    assert by_class(civic, "div", "post-title")[0].text_content() == civic_page["title"]
    assert all(civic_page["title"] not in h.text_content() for h in civic.iter("h1"))
    assert "Posted 2026-11-04 15:30" in read_page(out, civic_page)

    coastal = read_page(out, page_by_id(manifest, "glasswing-moth-survey-02"))
    assert "<TABLE" in coastal and "og:title" not in coastal and "canonical" not in coastal
    assert "Friday, November 6, 2026" in coastal

    wire = read_page(out, page_by_id(manifest, "tessmoor-ferry-strike-01"))
    assert "Nov 3, 2026 07:40 GMT" in wire and 'property="article:published_time"' in wire
    valley = read_page(out, page_by_id(manifest, "tessmoor-ferry-strike-01@valley-ledger"))
    assert "03/11/2026 10:15" in valley and "vl-tickers" in valley


def test_windows_1252_page_round_trips_non_ascii(site):
    out, _, manifest = site
    page = page_by_id(manifest, "glasswing-moth-survey-02")
    raw = (out / page["path"]).read_bytes()
    assert b"charset=windows-1252" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "Harbour Café".encode("cp1252") in raw  # é as the single byte 0xE9
    assert "“the rarest visitor".encode("cp1252") in raw  # curly quotes as 0x93
    text = raw.decode("cp1252")
    assert "Moth-spotters’ “rare visitor” delights Wexcombe naturalists" in text
    # an HTML parser that honours the meta charset recovers the same text
    parsed = lxml.html.document_fromstring(raw)
    assert page["paragraphs"][1] in parsed.text_content()
    copy = page_by_id(manifest, "tessmoor-ferry-strike-01@coastal-observer")
    assert "— and the café on the pier" in read_page(out, copy)


# ---------------------------------------------------------------- feeds, OPML, indexes


def test_feeds_list_every_page_of_their_outlet(site):
    out, _, manifest = site
    outlets = {o["slug"]: o for o in json.loads((FIXTURE / "outlets.json").read_text())}
    for feed in manifest["feeds"]:
        pages = {p["url"]: p for p in manifest["pages"] if p["outlet"] == feed["outlet"]}
        path = out / feed["path"]
        assert (
            path.suffix
            == {"rss": ".xml", "atom": ".atom", "json": ".json"}[outlets[feed["outlet"]]["feed"]]
        )
        if feed["format"] == "json":
            data = json.loads(path.read_text(encoding="utf-8"))
            assert data["version"] == "https://jsonfeed.org/version/1.1"
            entries = [
                (i["url"], i["title"], i["date_published"], i.get("authors")) for i in data["items"]
            ]
            for url, title, date, authors in entries:
                assert pages[url]["title"] == title
                assert datetime.fromisoformat(date) == datetime.fromisoformat(
                    pages[url]["published"]
                )
                assert (authors or [{}])[0].get("name") == pages[url]["author"]
        else:
            parsed = feedparser.parse(path.read_bytes())
            assert not parsed.bozo, parsed.get("bozo_exception")
            assert parsed.version.startswith(feed["format"])
            entries = [(e.link, e.title) for e in parsed.entries]
            for e in parsed.entries:
                page = pages[e.link]
                assert e.title == page["title"]
                published = datetime(*e.published_parsed[:6], tzinfo=UTC)  # feedparser: UTC
                assert published == datetime.fromisoformat(page["published"])
                assert e.get("author") == page["author"]
                assert e.summary
        assert len(entries) == len(pages) == feed["entries"], feed["outlet"]
        assert {e[0] for e in entries} == set(pages)
        assert all(e[0].startswith(BASE + "/") for e in entries)


def test_coastal_feed_is_windows_1252_and_parses(site):
    out, _, _ = site
    raw = (out / "coastal-observer" / "feed.xml").read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="windows-1252"?>')
    titles = [e.title for e in feedparser.parse(raw).entries]
    assert "Moth-spotters’ “rare visitor” delights Wexcombe naturalists" in titles
    assert "Ferry strike leaves Tessmoor café owners counting the cost" in titles


def test_opml_lists_every_outlet_feed(site):
    out, _, manifest = site
    outlines = [
        o for o in ET.parse(out / "feeds.opml").getroot().iter("outline") if o.get("xmlUrl")
    ]
    assert sorted(o.get("xmlUrl") for o in outlines) == sorted(f["url"] for f in manifest["feeds"])
    for o in outlines:
        assert (out / o.get("xmlUrl")[len(BASE) + 1 :]).is_file()


def test_front_pages_link_every_headline_and_root_links_fronts(site):
    out, _, manifest = site
    root = (out / "index.html").read_text(encoding="utf-8")
    for front in manifest["fronts"]:
        assert f'href="{front["url"]}"' in root
        tree = lxml.html.document_fromstring((out / front["path"]).read_bytes())
        hrefs = {a.get("href") for a in tree.iter("a")}
        mine = {p["url"] for p in manifest["pages"] if p["outlet"] == front["outlet"]}
        assert mine <= hrefs
        assert not tree.xpath("//article") and not by_class(tree, "div", "entry-content")


def test_edge_pages_exist_and_stay_out_of_the_feeds(site):
    out, _, manifest = site
    kinds = {e["expect"]: out / e["path"] for e in manifest["edge"]}
    assert set(kinds) == {"empty", "paywall", "error", "index", "binary"}
    assert all(p.parent.name == "_edge" for p in kinds.values())
    empty = lxml.html.document_fromstring(kinds["empty"].read_bytes())
    assert empty.text_content().strip() == ""
    assert "Subscribe to continue reading" in kinds["paywall"].read_text(encoding="utf-8")
    assert "404 - Page not found" in kinds["error"].read_text(encoding="utf-8")
    tag_page = lxml.html.document_fromstring(kinds["index"].read_bytes())
    assert len(tag_page.xpath("//h3//a")) >= 2
    binary = kinds["binary"].read_bytes()
    assert b"\x00" in binary and len(binary) == 4096
    with pytest.raises(UnicodeDecodeError):
        binary.decode("utf-8")
    feeds = "".join((out / f["path"]).read_bytes().decode("latin-1") for f in manifest["feeds"])
    assert "_edge" not in feeds and "_edge" not in (out / "feeds.opml").read_text()


# ---------------------------------------------------------------- behaviour


def test_output_is_deterministic(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    build.build_site(FIXTURE, first, BASE)
    build.build_site(FIXTURE, second, BASE)
    files_a = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 30
    for rel in files_a:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_rebuild_replaces_its_own_output_but_refuses_foreign_dirs(tmp_path):
    out = tmp_path / "site"
    build.build_site(FIXTURE, out, BASE)
    stale = out / "harbourline" / "stale.html"
    stale.write_text("old")
    build.build_site(FIXTURE, out, BASE)
    assert not stale.exists()
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="refusing"):
        build.build_site(FIXTURE, foreign, BASE)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_bad_edits_are_reported_and_bad_outlets_rejected(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "events").mkdir(parents=True)
    (corpus / "outlets.json").write_text((FIXTURE / "outlets.json").read_text())
    article = {
        "id": "x-01",
        "outlet": "meridian-wire",
        "title": "A test",
        "author": None,
        "published": "2026-11-03T07:40:00+00:00",
        "paragraphs": ["One.", "Two."],
        "syndicated_to": [{"outlet": "harbourline", "replace": [["absent", "x"]]}],
    }
    (corpus / "events" / "x.json").write_text(json.dumps({"event": "x", "articles": [article]}))
    summary = build.build_site(corpus, tmp_path / "out", BASE)
    assert summary["copies"] == 1
    assert any("replace phrase not found: 'absent'" in w for w in summary["warnings"])
    article["outlet"] = "no-such-outlet"
    (corpus / "events" / "x.json").write_text(json.dumps({"event": "x", "articles": [article]}))
    with pytest.raises(ValueError, match="unknown outlet"):
        build.build_site(corpus, tmp_path / "out2", BASE)


def test_command_line_prints_the_summary(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "demo" / "build_site.py"),
            "--corpus",
            str(FIXTURE),
            "--out",
            str(tmp_path / "site"),
            "--base-url",
            "http://example.test:9000/",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "10 outlets, 2 events, 8 originals, 8 copies" in result.stdout
    assert "10 feeds" in result.stdout
    feed = (tmp_path / "site" / "harbourline" / "feed.xml").read_text(encoding="utf-8")
    assert "<link>http://example.test:9000/harbourline/" in feed


def test_real_corpus_builds(tmp_path):
    corpus = ROOT / "demo" / "corpus"
    summary = build.build_site(corpus, tmp_path / "site", BASE)
    manifest = json.loads((tmp_path / "site" / "_manifest.json").read_text(encoding="utf-8"))
    n_events = len(list((corpus / "events").glob("*.json")))
    assert summary["events"] == n_events
    assert summary["pages"] == summary["originals"] + summary["copies"] == len(manifest["pages"])
    assert sum(f["entries"] for f in manifest["feeds"]) == summary["pages"]
    assert all((tmp_path / "site" / p["path"]).is_file() for p in manifest["pages"])
