"""Kill the ingest process mid-run: nothing committed is lost and the indexes agree with the
database when it is opened again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from .conftest import make_settings

EVENTS = ["ferry", "bridge", "flood", "strike", "election", "wildfire", "merger", "telescope"]
PLACES = [
    "Skarra",
    "Port Almsby",
    "Varnholt",
    "Tarrow",
    "Marisol Bay",
    "Orrin",
    "Castellan",
    "Halvern",
    "Droven",
    "Lessing",
]


def synthetic_rows(n: int):
    for i in range(n):
        event, place = EVENTS[i % len(EVENTS)], PLACES[(i // len(EVENTS)) % len(PLACES)]
        yield {
            "id": i,
            "title": f"{place} {event} update number {i}: officials give figure {i * 7}",
            "published": 1793000000000 + i * 60000,
            "source": f"Outlet {i % 9}",
        }


def test_kill_during_ingest_loses_nothing_committed(tmp_path, embedder):
    from tidings.engine import Engine

    items = tmp_path / "items.jsonl"
    items.write_text("\n".join(json.dumps(r) for r in synthetic_rows(3000)) + "\n")
    data = tmp_path / "data"
    env = {**os.environ, "TIDINGS_DATA_DIR": str(data)}
    log = (tmp_path / "ingest.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tidings.cli", "ingest", str(items)], env=env, stdout=log, stderr=log
    )
    db_path = data / "tidings.db"
    committed = 0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if db_path.exists():
            try:
                with sqlite3.connect(db_path, timeout=1) as db:
                    committed = db.execute("SELECT count(*) FROM articles").fetchone()[0]
            except sqlite3.OperationalError:
                committed = 0
            if committed >= 200:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    log.close()
    assert committed >= 200

    engine = Engine(make_settings(data), embedder=embedder)
    stats = engine.stats()
    assert stats["articles"] >= committed  # every batch seen committed is still there
    assert stats["articles"] < 3000
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        vectors = db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        fts = db.execute("SELECT count(*) FROM articles_fts").fetchone()[0]
    assert vectors == fts == stats["originals"] == stats["vectors_indexed"]
    # the search indexes serve every committed article
    last = max(r["id"] for r in engine.export())
    hits = engine.search(engine.store.article(last).title, mode="semantic", limit=3)
    assert last in {h.article.id for h in hits}

    # resuming completes the job without duplicates
    result = engine.ingest([str(items)])
    assert result.unchanged == stats["articles"]
    assert result.new + result.duplicate == 3000 - stats["articles"]
    assert engine.stats()["vectors_indexed"] == engine.stats()["originals"]
    engine.close()
