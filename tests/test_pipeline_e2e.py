"""End to end on the bundled demo news web: feeds and pages served by a real local HTTP
server → fetch → extract → dedupe → embed → index → stories → search and related."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter

import pytest

from .conftest import REPO, make_settings, serve_directory, stop_server


def load_build_site():
    spec = importlib.util.spec_from_file_location("build_site", REPO / "demo" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module.build_site


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo(request, tmp_path_factory, embedder):
    """The demo corpus built, served on 127.0.0.1 and ingested through its feeds, into each
    backend in turn."""
    from tidings.engine import Engine

    database_url = ""
    if request.param == "postgres":
        database_url = request.getfixturevalue("postgres_module_url")
    site = tmp_path_factory.mktemp("site")
    base_url, server = serve_directory(site)
    load_build_site()(REPO / "demo" / "corpus", site, base_url)
    manifest = json.loads((site / "_manifest.json").read_text())
    settings = make_settings(
        tmp_path_factory.mktemp("db"), fetch_allow_private=True, fetch_per_host_interval=0.0,
        database_url=database_url,
    )
    engine = Engine(settings, embedder=embedder)
    result = engine.ingest([feed["url"] for feed in manifest["feeds"]])
    rows = {row["url"]: row for row in engine.export()}
    yield engine, manifest, result, rows
    engine.close()
    stop_server(server)


def test_every_page_is_stored_once_and_nothing_fails(demo):
    engine, manifest, result, rows = demo
    assert result.failed == []
    assert result.new + result.duplicate == len(manifest["pages"])
    assert set(rows) == {page["url"] for page in manifest["pages"]}


def test_syndicated_copies_fold_into_their_original(demo):
    engine, manifest, result, rows = demo
    copies = [p for p in manifest["pages"] if p["kind"] == "copy"]
    assert len(copies) >= 20
    unfolded = [
        p["id"] for p in copies if rows[p["url"]]["duplicate_of"] != rows[p["original_url"]]["id"]
    ]
    assert unfolded == []
    originals = [p for p in manifest["pages"] if p["kind"] == "original"]
    wrongly_folded = [p["id"] for p in originals if rows[p["url"]]["duplicate_of"] is not None]
    assert wrongly_folded == []
    # the original lists every outlet that republished it, and no copy is a search result
    page = copies[0]
    article, stored_copies = engine.article(rows[page["original_url"]]["id"])
    assert rows[page["url"]]["id"] in {c.id for c in stored_copies}
    hits = engine.search(page["title"], mode="hybrid", limit=50)
    assert not any(h.article.duplicate_of for h in hits)
    assert page["url"] not in {h.article.url for h in hits}


def test_related_lists_story_siblings_and_no_copies(demo):
    engine, manifest, result, rows = demo
    event_of = {p["url"]: p["event"] for p in manifest["pages"]}
    copy_urls = {p["url"] for p in manifest["pages"] if p["kind"] == "copy"}
    originals = [p for p in manifest["pages"] if p["kind"] == "original"]
    same_event_share = []
    for page in originals:
        hits = engine.related(rows[page["url"]]["id"], limit=5)
        assert not copy_urls & {h.article.url for h in hits}
        assert page["url"] not in {h.article.url for h in hits}
        siblings = [h for h in hits if event_of[h.article.url] == page["event"]]
        same_event_share.append(len(siblings) / len(hits))
        for hit in hits:
            story_of_page = rows[page["url"]]["story_id"]
            assert hit.same_story == (hit.article.story_id == story_of_page)
    # an article's related list is made of its own event's articles
    assert sum(same_event_share) / len(same_event_share) >= 0.8
    assert sum(1 for share in same_event_share if share == 0) == 0


def test_stories_follow_events(demo):
    engine, manifest, result, rows = demo
    event_of = {p["url"]: p["event"] for p in manifest["pages"]}
    stories = engine.stories(limit=500)
    multi = [s for s in stories if s.size >= 3]
    assert len(multi) >= len({p["event"] for p in manifest["pages"]}) * 0.75
    for story in multi:
        events = Counter(event_of[a.url] for a in engine.story(story.id).articles)
        # a story is dominated by one event
        assert events.most_common(1)[0][1] / sum(events.values()) >= 0.75, events


def test_search_finds_the_event(demo):
    engine, manifest, result, rows = demo
    event_of = {p["url"]: p["event"] for p in manifest["pages"]}
    hits = engine.search("passengers evacuated after the ferry ran aground", limit=5)
    assert [event_of[h.article.url] for h in hits].count("northsea-ferry-grounding") >= 4


def test_reingest_is_idempotent_and_edge_pages_are_reported(demo):
    engine, manifest, result, rows = demo
    again = engine.ingest([feed["url"] for feed in manifest["feeds"]])
    assert (again.new, again.duplicate, again.failed) == (0, 0, [])
    assert again.unchanged == len(manifest["pages"])
    before = engine.stats()["articles"]
    edge = engine.ingest([page["url"] for page in manifest["edge"]])
    assert edge.new == 0
    # every edge page is reported once, by kind: readable non-articles are skipped, the
    # binary page failed
    reported = {item: "skipped" for item, _ in edge.skipped}
    reported.update({item: "failed" for item, _ in edge.failed})
    assert len(edge.skipped) + len(edge.failed) == len(reported) == len(manifest["edge"])
    assert {p["url"] for p in manifest["edge"] if p["expect"] == "binary"} == {
        item for item, _ in edge.failed
    }
    assert engine.stats()["articles"] == before
