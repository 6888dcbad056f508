"""The JSON API served by a real uvicorn server on 127.0.0.1, queried over HTTP."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from .test_engine import sample_articles


@pytest.fixture(scope="module")
def api(tmp_path_factory, embedder):
    from tidings.engine import Engine

    from .conftest import make_settings, start_site

    engine = Engine(make_settings(tmp_path_factory.mktemp("api")), embedder=embedder)
    engine.ingest_articles(sample_articles())
    live = start_site(engine)
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client, engine
    live.stop()  # closes the engine


def test_openapi_lists_every_route(api):
    client, _ = api
    spec = client.get("/openapi.json").json()
    assert {
        "/api/search",
        "/api/articles",
        "/api/articles/{article_id}",
        "/api/articles/{article_id}/related",
        "/api/stories",
        "/api/stories/{story_id}",
    } <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
    index = client.get("/").text
    assert "/docs" in index and "4 articles" in index


def test_search_article_related_stories(api):
    client, _ = api
    hits = client.get("/api/search", params={"q": "ferry aground", "mode": "hybrid"}).json()
    top = hits[0]
    assert top["url"] == "https://wire.example/ferry-aground"
    assert "text" not in top and set(top["also_published_by"]) == {"FeedHub", "Other Daily"}
    article = client.get(f"/api/articles/{top['id']}").json()
    assert "Selkie Dawn" in article["text"]
    assert len(article["copies"]) == 2
    related = client.get(f"/api/articles/{top['id']}/related").json()
    assert related[0]["url"] == "https://wire.example/ferry-refloated"
    assert related[0]["same_story"] is True
    stories = client.get("/api/stories", params={"min_size": 2}).json()
    assert len(stories) == 2
    story = client.get(f"/api/stories/{stories[0]['id']}").json()
    assert len(story["articles"]) == 2 and "text" not in story["articles"][0]
    latest = client.get("/api/articles", params={"limit": 2}).json()
    assert len(latest) == 2


def test_errors_are_http_errors(api):
    client, _ = api
    assert client.get("/api/articles/99999").status_code == 404
    assert client.get("/api/articles/99999/related").status_code == 404
    assert client.get("/api/stories/99999").status_code == 404
    assert client.get("/api/search", params={"q": "x", "mode": "fuzzy"}).status_code == 422
    assert client.get("/api/search").status_code == 422


MAX_INT = 2**63 - 1  # SQLite integers are signed 64-bit
SUMMARY_KEYS = {
    "id", "url", "canonical_url", "title", "source", "author", "published", "modified",
    "fetched", "language", "excerpt", "site_name", "image", "kind", "content_hash",
    "duplicate_of", "story_id", "partial",
}  # fmt: skip
STORY_KEYS = {"id", "label", "first_seen", "last_seen", "size"}


def test_responses_keep_their_field_names(api):
    client, engine = api
    latest = client.get("/api/articles").json()
    assert latest and all(set(a) == SUMMARY_KEYS for a in latest)
    first = next(a for a in latest if a["url"] == "https://wire.example/ferry-aground")
    assert first["published"] == engine.article(first["id"])[0].published.isoformat()
    detail = client.get(f"/api/articles/{first['id']}").json()
    assert set(detail) == SUMMARY_KEYS | {"text", "copies", "also_published_by"}
    assert all(set(c) == SUMMARY_KEYS for c in detail["copies"])
    assert detail["also_published_by"] == ["FeedHub", "Other Daily"]
    for hits in (
        client.get("/api/search", params={"q": "ferry"}).json(),
        client.get(f"/api/articles/{first['id']}/related").json(),
    ):
        assert hits and all(
            set(h) == SUMMARY_KEYS | {"score", "same_story", "also_published_by", "shared"}
            for h in hits
        )
        assert all(isinstance(h["score"], float) for h in hits)
    stories = client.get("/api/stories").json()
    assert stories and all(set(s) == STORY_KEYS for s in stories)
    story = client.get(f"/api/stories/{stories[0]['id']}").json()
    assert set(story) == STORY_KEYS | {"articles"}
    assert all(set(a) == SUMMARY_KEYS for a in story["articles"])
    stats = client.get("/api/stats").json()
    assert set(stats) == {
        "articles", "originals", "duplicates", "stories", "multi_article_stories",
        "model", "dim", "vectors_indexed",
    }  # fmt: skip
    assert (stats["originals"], stats["duplicates"]) == (4, 2)
    assert client.get("/api/articles/99999").json() == {"detail": "no article with id 99999"}


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("/api/articles/99999999999999999999", ["path", "article_id"]),
        (f"/api/articles/{MAX_INT + 1}", ["path", "article_id"]),
        ("/api/articles/0", ["path", "article_id"]),
        ("/api/articles/-1", ["path", "article_id"]),
        (f"/api/articles/{MAX_INT + 1}/related", ["path", "article_id"]),
        ("/api/articles/0/related", ["path", "article_id"]),
        ("/api/stories/-1", ["path", "story_id"]),
        ("/api/stories/0", ["path", "story_id"]),
        (f"/api/stories/{MAX_INT + 1}", ["path", "story_id"]),
        (f"/api/articles?offset={MAX_INT + 1}", ["query", "offset"]),
        ("/api/articles?offset=-1", ["query", "offset"]),
        (f"/api/stories?offset={MAX_INT + 1}", ["query", "offset"]),
        (f"/api/stories?min_size={MAX_INT + 1}", ["query", "min_size"]),
        ("/api/stories?min_size=0", ["query", "min_size"]),
        ("/api/articles?limit=-1", ["query", "limit"]),
        (f"/api/articles?limit={MAX_INT + 1}", ["query", "limit"]),
        ("/api/stories?limit=-5", ["query", "limit"]),
        ("/api/search?q=ferry&limit=-1", ["query", "limit"]),
        (f"/api/search?q=ferry&limit={MAX_INT + 1}", ["query", "limit"]),
        ("/api/articles/1/related?limit=0", ["query", "limit"]),
        (f"/api/articles/1/related?limit={10**30}", ["query", "limit"]),
        ("/api/articles/" + "9" * 5000, ["path", "article_id"]),
    ],
)
def test_out_of_range_numbers_are_422_naming_the_bound(api, url, where):
    client, _ = api
    response = client.get(url)
    assert response.status_code == 422, (url, response.status_code, response.text[:200])
    [error] = response.json()["detail"]
    assert set(error) == {"loc", "msg", "type", "input"}
    assert error["loc"] == where
    assert "should be" in error["msg"] or "integer" in error["msg"]


def test_largest_numbers_in_range_are_answered(api):
    client, _ = api
    assert client.get("/api/articles", params={"offset": MAX_INT}).json() == []
    assert client.get("/api/stories", params={"offset": MAX_INT}).json() == []
    assert client.get("/api/stories", params={"min_size": MAX_INT}).json() == []
    for url in (f"/api/articles/{MAX_INT}", f"/api/articles/{MAX_INT}/related"):
        assert client.get(url).json() == {"detail": f"no article with id {MAX_INT}"}
    assert client.get(f"/api/stories/{MAX_INT}").status_code == 404
    # out of range, the same request is refused before it reaches the store
    assert client.get("/api/articles", params={"offset": MAX_INT + 1}).status_code == 422


def test_engine_refusal_is_400_not_500(api, monkeypatch):
    client, engine = api
    with pytest.raises(ValueError, match="limit"):
        engine.search("x", limit=-1)
    with pytest.raises(ValueError, match="limit"):
        engine.search("x", limit=MAX_INT + 1)
    some_id = engine.latest(1)[0].id
    with pytest.raises(ValueError, match="limit"):
        engine.related(some_id, limit=-1)
    # an engine whose cap is below the API's bound refuses a limit the API lets through
    monkeypatch.setattr("tidings.search.MAX_LIMIT", 5)
    for url in ("/api/search?q=ferry&limit=50", f"/api/articles/{some_id}/related?limit=50"):
        response = client.get(url)
        assert response.status_code == 400, (url, response.text[:200])
        assert response.json() == {"detail": "limit must be between 1 and 5, not 50"}
    monkeypatch.undo()
    assert client.get("/api/search", params={"q": "ferry", "limit": 50}).status_code == 200


def _untyped(spec: dict, schema: dict, where: str, seen: frozenset = frozenset()) -> list[str]:
    """Places in a response schema that do not say what they hold: a bare object, a dict of
    anything, an item or field without a type."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        target = spec["components"]["schemas"][name]
        return _untyped(spec, target, f"{where}>{name}", seen | {name})
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return [p for part in schema[key] for p in _untyped(spec, part, where, seen)]
    kind = schema.get("type")
    if kind == "array":
        return _untyped(spec, schema.get("items", {}), f"{where}[]", seen)
    if kind == "object" or "properties" in schema or "additionalProperties" in schema:
        if not schema.get("properties"):
            return [f"{where}: object without named properties"]
        if schema.get("additionalProperties", False) is not False:
            return [f"{where}: takes any extra properties"]
        return [
            p
            for name, field in schema["properties"].items()
            for p in _untyped(spec, field, f"{where}.{name}", seen)
        ]
    if kind in ("string", "integer", "number", "boolean", "null"):
        return []
    return [f"{where}: no type ({schema})"]


def test_openapi_names_every_field_of_every_response(api):
    client, _ = api
    spec = client.get("/openapi.json").json()
    problems, operations = [], 0
    for path, methods in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in methods.items():
            operations += 1
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            if "{" in path and "404" not in responses:
                problems.append(f"{where}: 404 not documented")
            if operation.get("parameters") and "422" not in responses:
                problems.append(f"{where}: 422 not documented")
            for status, response in responses.items():
                content = response.get("content", {})
                # JSON unless the route documents another type (the OPML export)
                body = content.get("application/json") or next(iter(content.values()), {})
                schema = body.get("schema")
                if schema is None:
                    problems.append(f"{where} {status}: no JSON schema")
                else:
                    problems += _untyped(spec, schema, f"{where} {status}")
    assert operations >= 7
    assert problems == []
    schemas = spec["components"]["schemas"]
    assert set(schemas["ArticleSummary"]["properties"]) == SUMMARY_KEYS
    assert set(schemas["ArticleSummary"]["required"]) == SUMMARY_KEYS
    assert set(schemas["Story"]["required"]) == STORY_KEYS
    params = {
        (path, p["name"]): p["schema"]
        for path, methods in spec["paths"].items()
        for operation in methods.values()
        for p in operation.get("parameters", [])
    }
    for key in [
        ("/api/articles/{article_id}", "article_id"),
        ("/api/articles/{article_id}/related", "article_id"),
        ("/api/stories/{story_id}", "story_id"),
        ("/api/articles", "offset"),
        ("/api/stories", "offset"),
        ("/api/stories", "min_size"),
    ]:
        assert params[key]["maximum"] == MAX_INT, key
        assert params[key]["minimum"] in (0, 1), key


def _latest_plan(db: sqlite3.Connection, query: str) -> list[str] | None:
    try:
        return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {query}")]
    except sqlite3.OperationalError:  # "no such index: articles_latest"
        return None


def _reads_latest_index(db: sqlite3.Connection, query: str) -> bool:
    plan = _latest_plan(db, query)
    return (
        plan is not None
        and any("USING INDEX articles_latest" in step for step in plan)
        and not any("TEMP B-TREE" in step for step in plan)
    )


def test_latest_reads_the_index_instead_of_sorting(api, tmp_path):
    """/api/articles pages through the articles_latest index: no sort of every original."""
    _, engine = api
    reader = engine.store.reader  # this thread's connection, the one latest() uses here
    statements: list[str] = []
    reader.set_trace_callback(statements.append)
    try:
        engine.latest(5, 1)
    finally:
        reader.set_trace_callback(None)
    [query] = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert _reads_latest_index(reader, query), _latest_plan(reader, query)
    # the same check fails on a copy of the database without the index ...
    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        reader.backup(copy)
        copy.execute("DROP INDEX articles_latest")
        assert not _reads_latest_index(copy, query)
        # ... and with an index of that name that cannot give the order (a sort would follow)
        copy.execute(
            "CREATE INDEX articles_latest ON articles(published) WHERE duplicate_of IS NULL"
        )
        assert any("TEMP B-TREE" in step for step in _latest_plan(copy, query))
        assert not _reads_latest_index(copy, query)
    finally:
        copy.close()
