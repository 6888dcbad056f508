"""The JSON API served by a real uvicorn server on 127.0.0.1, queried over HTTP."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from .test_engine import sample_articles


@pytest.fixture(scope="module")
def api(tmp_path_factory, embedder):
    import uvicorn

    from tidings.api import create_app
    from tidings.engine import Engine

    from .conftest import make_settings

    engine = Engine(make_settings(tmp_path_factory.mktemp("api")), embedder=embedder)
    engine.ingest_articles(sample_articles())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield client, engine
    server.should_exit = True
    thread.join(timeout=10)
    engine.close()


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
