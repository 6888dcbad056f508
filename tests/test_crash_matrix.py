"""Crash at every named failpoint of the write path (SIGKILL: no cleanup, no flush) and open
the data directory again: nothing committed is lost, nothing half-written shows, the derived
vector index and story sizes agree with the database, and the interrupted job completes.

The helpers here (`corpus_rows`, `check_database`, …) are shared with test_concurrency.py."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from .conftest import make_settings

BATCH = 32  # Engine.ingest's default batch size: a failpoint's Nth hit is the Nth batch
EVENTS = ["ferry", "bridge", "flood", "strike", "election", "wildfire", "merger", "telescope"]
PLACES = ["Skarra", "Port Almsby", "Varnholt", "Tarrow", "Marisol Bay", "Orrin", "Castellan"]
VOCABULARY = """harbour council budget minister river police farmers school hospital railway
court mayor union market storm airport museum festival factory island border energy water
teachers doctors drivers tenants voters judges pilots miners fishermen nurses engineers
announced rejected approved delayed doubled cancelled restored expanded reported questioned
yesterday tonight quietly sharply narrowly finally again already nearly almost northern
southern coastal rural central eastern western emergency annual public private national
local regional temporary permanent contract inquiry vote plan deal report fund fleet crew
bridge tunnel road pier dam tower station clinic library stadium warehouse terminal""".split()
T0 = 1793000000000  # epoch ms (2026-10-26); rows are a minute apart
DAY_MS = 86_400_000


def paragraph(seed: int, words: int = 60) -> str:
    """A body long enough to be recognised as copied text (over 50 words, 30 shingles)."""
    rng = random.Random(seed)
    return " ".join(rng.choice(VOCABULARY) for _ in range(words)).capitalize() + "."


def short_row(url: str, i: int) -> dict:
    event, place = EVENTS[i % len(EVENTS)], PLACES[(i // len(EVENTS)) % len(PLACES)]
    return {
        "url": url,
        "title": f"{place} {event} update number {i}: officials give figure {i * 7}",
        "text": f"Officials in {place} described the {event} on day {i}.",
        "published": T0 + i * 60_000,
        "source": f"Outlet {i % 9}",
    }


def long_row(url: str, group: int, title: str, published: int, extra: str = "") -> dict:
    return {
        "url": url,
        "title": title,
        "text": paragraph(1000 + group) + extra,
        "published": published,
        "source": url.split("/")[2],
    }


def corpus_rows(n: int, copies_every: int = 10) -> list[dict]:
    """n rows with distinct URLs; every `copies_every`-th is a copy (same or near-identical
    text at another URL) of a long original a few rows earlier."""
    rows: list[dict] = []
    group = 0
    for i in range(n):
        if i % copies_every == copies_every - 3:
            group += 1
            rows.append(
                long_row(
                    f"https://wire.example/{group}",
                    group,
                    f"Wire report {group} on the {EVENTS[group % 8]}",
                    T0 + i * 60_000,
                )
            )
        elif i % copies_every == copies_every - 1:
            extra = " Additional reporting by staff." if group % 2 else ""
            rows.append(
                long_row(
                    f"https://mirror.example/{group}",
                    group,
                    f"Mirror: wire report {group}",
                    T0 + i * 60_000,
                    extra,
                )
            )
        else:
            rows.append(short_row(f"https://news.example/{i}", i))
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def stored_urls(data_dir: Path) -> Counter:
    db_path = data_dir / "tidings.db"
    if not db_path.exists():
        return Counter()
    with sqlite3.connect(db_path) as db:
        try:
            return Counter(row[0] for row in db.execute("SELECT url FROM articles"))
        except sqlite3.OperationalError:  # killed before the schema was committed
            return Counter()


def check_database(data_dir: Path, embedder) -> set[str]:
    """Assert every invariant tying the database and its derived state together; returns the
    stored URLs. Opens a fresh Engine to see the vector index as the next process would."""
    from tidings.engine import Engine

    db_path = data_dir / "tidings.db"
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        urls = Counter(row[0] for row in db.execute("SELECT url FROM articles"))
        assert [u for u, k in urls.items() if k > 1] == [], "an URL is stored twice"
        originals = {
            row[0] for row in db.execute("SELECT id FROM articles WHERE duplicate_of IS NULL")
        }
        bad_copies = db.execute(
            "SELECT c.id, c.duplicate_of, o.duplicate_of, c.story_id, o.story_id "
            "FROM articles c LEFT JOIN articles o ON o.id = c.duplicate_of "
            "WHERE c.duplicate_of IS NOT NULL AND (o.id IS NULL OR o.duplicate_of IS NOT NULL "
            "OR c.story_id IS NOT o.story_id)"
        ).fetchall()
        assert bad_copies == [], "copies must point at an original, in its story"
        sizes = db.execute(
            "SELECT s.id, s.size, (SELECT count(*) FROM articles a WHERE a.story_id = s.id "
            "AND a.duplicate_of IS NULL) AS originals FROM stories s"
        ).fetchall()
        wrong = [(sid, size, n) for sid, size, n in sizes if size != n]
        assert wrong == [], f"story size != its originals (id, size, originals): {wrong[:10]}"
        homeless = db.execute(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND story_id IS NULL"
        ).fetchone()[0]
        assert homeless == 0, "every original belongs to a story"
        embedded = {row[0] for row in db.execute("SELECT article_id FROM embeddings")}
        assert embedded == originals, "exactly the originals have vectors"
        keyword = {row[0] for row in db.execute("SELECT rowid FROM articles_fts")}
        assert keyword == originals, "exactly the originals are in the keyword index"
    engine = Engine(make_settings(data_dir), embedder=embedder)
    try:
        keys = set() if engine.index is None else set(engine.index.keys().tolist())
        assert keys == embedded, (
            f"index keys != embeddings: {len(keys - embedded)} extra, "
            f"{len(embedded - keys)} missing"
        )
        assert engine.stats()["vectors_indexed"] == len(embedded)
    finally:
        engine.close()
    return set(urls)


def run_cli(
    data_dir: Path, *args: str, env: dict | None = None, save_interval=None, log: Path | None = None
):
    """Start `tidings --data-dir D …` in a subprocess. With `save_interval`, the CLI runs with
    the index keeper's save interval patched (0: save after every batch)."""
    if save_interval is None:
        cmd = [sys.executable, "-m", "tidings.cli"]
    else:
        cmd = [
            sys.executable,
            "-c",
            "import sys, tidings.index.keeper as k; k.SAVE_INTERVAL = float(sys.argv.pop(1)); "
            "from tidings.cli import main; main(prog_name='tidings')",
            str(save_interval),
        ]
    out = subprocess.DEVNULL if log is None else log.open("wb")
    try:
        return subprocess.Popen(
            [*cmd, "--data-dir", str(data_dir), *args],
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=out,
        )
    finally:
        if log is not None:
            out.close()


# -- the ingest failpoints ---------------------------------------------------------------

ROWS = 128  # four batches
# failpoint → (index save interval for the run, batches committed when it fires)
CASES = {
    "before-commit": (None, 0),
    "after-commit": (None, 1),
    "before-commit:3": (None, 2),
    "after-commit:3": (None, 3),
    # the only save is the final one at Engine.close(), after every batch committed
    "index-save": (1e9, ROWS // BATCH),
    # a save after every batch: the second one dies before its rename
    "index-save:2": (0, 2),
}


@pytest.fixture(scope="module")
def crashed_runs(tmp_path_factory):
    """Start every crashing ingest at once (loading the model dominates each run; in parallel
    the matrix costs about one run). Yields {failpoint: (process, data_dir)}."""
    root = tmp_path_factory.mktemp("crash-matrix")
    items = write_jsonl(root / "items.jsonl", corpus_rows(ROWS))
    runs = {}
    for name, (interval, _) in CASES.items():
        data = root / name.replace(":", "-")
        runs[name] = (
            run_cli(
                data,
                "ingest",
                "--json",
                str(items),
                env={"TIDINGS_FAILPOINT": name},
                save_interval=interval,
                log=root / f"{data.name}.log",
            ),
            data,
        )
    yield items, runs
    for proc, _ in runs.values():
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


@pytest.mark.parametrize("failpoint", list(CASES))
def test_crash_at_failpoint_loses_nothing_committed(failpoint, crashed_runs, embedder):
    from tidings.engine import Engine

    items, runs = crashed_runs
    proc, data = runs[failpoint]
    try:
        proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    log = (data.parent / f"{data.name}.log").read_text(errors="replace")
    assert proc.returncode == -9, f"not killed at {failpoint}: rc={proc.returncode}\n{log}"

    rows = corpus_rows(ROWS)
    all_urls = {r["url"] for r in rows}
    committed_before = {r["url"] for r in rows[: CASES[failpoint][1] * BATCH]}
    after = stored_urls(data)
    assert set(after) >= committed_before, "a committed batch was lost"
    # the batch being written when the process died never half-shows
    assert set(after) == committed_before, "an uncommitted batch is visible"
    if failpoint == "index-save:2":  # the file the first save left, behind the database
        state = json.loads((data / "vectors.usearch.json").read_text())
        with sqlite3.connect(data / "tidings.db") as db:
            generation = db.execute("SELECT value FROM meta WHERE key = 'generation'")
            assert state["generation"] < int(generation.fetchone()[0])
    assert check_database(data, embedder) == committed_before

    engine = Engine(make_settings(data), embedder=embedder)
    try:
        result = engine.ingest([str(items)])
    finally:
        engine.close()
    assert result.failed == [] and result.skipped == []
    assert result.unchanged == len(committed_before)
    assert result.new + result.duplicate == ROWS - len(committed_before)
    assert check_database(data, embedder) == all_urls
    with sqlite3.connect(data / "tidings.db") as db:
        copies = db.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL")
        assert copies.fetchone()[0] == ROWS // 10  # every mirror row was folded into its wire


# -- migrations ----------------------------------------------------------------------------

MIGRATION_TABLE = (
    "CREATE TABLE migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))"
)
OPEN_STORE = "import sys; from tidings.store import SQLiteStore; SQLiteStore(sys.argv[1]).close()"


def old_database(path: Path, applied: int = 2) -> list[tuple]:
    """A database as an older Tidings left it: the first `applied` migrations and two
    articles. Returns the article rows."""
    from tidings.store.sqlite.migrations import MIGRATIONS

    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN")
        db.execute(MIGRATION_TABLE)
        for number, (name, statements) in enumerate(MIGRATIONS[:applied], start=1):
            for statement in statements:
                db.execute(statement)
            db.execute("INSERT INTO migrations (id, name) VALUES (?, ?)", (number, name))
        for i in (1, 2):
            db.execute(
                "INSERT INTO articles (id, url, url_key, title, text, content_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, '2026-01-01T00:00:00+00:00')",
                (
                    i,
                    f"https://old.example/{i}",
                    f"https://old.example/{i}",
                    f"Old article {i}",
                    f"Text of old article {i}.",
                    f"hash{i}",
                ),
            )
        db.execute("COMMIT")
        return _articles(db)
    finally:
        db.close()


def _articles(db: sqlite3.Connection) -> list[tuple]:
    return db.execute("SELECT id, url, title, text FROM articles ORDER BY id").fetchall()


def _migrations(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as db:
        return [row[0] for row in db.execute("SELECT name FROM migrations ORDER BY id")]


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def test_crash_inside_a_migration_leaves_the_old_schema_then_migrates(tmp_path):
    from tidings.store import SQLiteStore
    from tidings.store.sqlite.migrations import MIGRATIONS

    db_path = tmp_path / "tidings.db"
    before = old_database(db_path)
    proc = subprocess.run(
        [sys.executable, "-c", OPEN_STORE, str(db_path)],
        env={**os.environ, "TIDINGS_FAILPOINT": "migration"},
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr.decode(errors="replace")
    # the killed migration left nothing behind: the schema is the old one
    assert _migrations(db_path) == [name for name, _ in MIGRATIONS[:2]]
    with sqlite3.connect(db_path) as db:
        assert "gen" not in _columns(db, "embeddings")
        assert _articles(db) == before

    SQLiteStore(db_path).close()
    assert _migrations(db_path) == [name for name, _ in MIGRATIONS]
    with sqlite3.connect(db_path) as db:
        assert "gen" in _columns(db, "embeddings")
        assert _articles(db) == before
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_crash_creating_a_fresh_database_then_it_opens(tmp_path):
    from tidings.store import SQLiteStore
    from tidings.store.sqlite.migrations import MIGRATIONS

    db_path = tmp_path / "tidings.db"
    proc = subprocess.run(
        [sys.executable, "-c", OPEN_STORE, str(db_path)],
        env={**os.environ, "TIDINGS_FAILPOINT": "migration"},
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr.decode(errors="replace")
    SQLiteStore(db_path).close()
    assert _migrations(db_path) == [name for name, _ in MIGRATIONS]


OPEN_TOGETHER = """
import json, os, sys, time, traceback
from tidings.store import SQLiteStore

me, starting_lines, errors = sys.argv[1], sys.argv[2:], []
for line in starting_lines:  # one database per round, opened by every process at once
    open(os.path.join(line, "ready-" + me), "w").close()
    while not os.path.exists(os.path.join(line, "go")):
        time.sleep(0.0005)
    try:
        SQLiteStore(os.path.join(line, "data", "tidings.db")).close()
    except Exception:
        errors.append(traceback.format_exc()[-1500:])
print(json.dumps(errors))
"""


def open_at_once(starting_lines: list[Path], processes: int) -> list[str]:
    """In each of `starting_lines` (one round each), `processes` processes open the store of
    `<line>/data/tidings.db` at the same instant. Returns their errors."""
    for line in starting_lines:
        (line / "data").mkdir(parents=True, exist_ok=True)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_TOGETHER, str(n), *map(str, starting_lines)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(processes)
    ]
    try:
        for line in starting_lines:
            deadline = time.monotonic() + 120
            while len(list(line.glob("ready-*"))) < processes:
                assert time.monotonic() < deadline, "the openers did not start"
                assert all(proc.poll() is None for proc in procs), "an opener died"
                time.sleep(0.001)
            (line / "go").touch()
        errors = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode(errors="replace")
            errors += json.loads(out)
        return errors
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_processes_opening_one_fresh_database_at_once(tmp_path):
    """`tidings serve` and `tidings ingest` started together on a new data directory: every
    process opens it (the losers of the race wait for the winner) and each migration is
    recorded once. Many rounds, as the race is lost only some of the time."""
    from tidings.store.sqlite.migrations import MIGRATIONS

    lines = [tmp_path / f"round-{n}" for n in range(60)]
    errors = open_at_once(lines, 4)
    assert errors == [], f"{len(errors)} failed opens in {len(lines)} rounds; first: {errors[0]}"
    for line in lines:
        with sqlite3.connect(line / "data" / "tidings.db") as db:
            recorded = db.execute("SELECT name, count(*) FROM migrations GROUP BY name")
            assert sorted(recorded) == sorted((name, 1) for name, _ in MIGRATIONS)
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_processes_migrating_one_old_database_at_once(tmp_path):
    from tidings.store.sqlite.migrations import MIGRATIONS

    lines = [tmp_path / f"round-{n}" for n in range(40)]
    before = {}
    for line in lines:
        (line / "data").mkdir(parents=True)
        before[line] = old_database(line / "data" / "tidings.db")
    errors = open_at_once(lines, 4)
    assert errors == [], f"{len(errors)} failed opens in {len(lines)} rounds; first: {errors[0]}"
    for line in lines:
        db_path = line / "data" / "tidings.db"
        assert _migrations(db_path) == [name for name, _ in MIGRATIONS]
        with sqlite3.connect(db_path) as db:
            assert _articles(db) == before[line]


KILLED_SAVE = """
import sys
import numpy as np
from tidings.index import UsearchIndex
index = UsearchIndex(sys.argv[1], 8)
index.add(np.arange(1, 41, dtype=np.uint64), np.random.default_rng(1).normal(size=(40, 8)))
index.save()
"""


def test_a_save_killed_before_its_rename_leaves_no_temp_file_for_good(tmp_path):
    """The temp file of a save killed before its rename is the old copy of a whole index; the
    next save (which holds the lock every save takes) clears it instead of keeping it forever."""
    from tidings.index import UsearchIndex

    path = tmp_path / "vectors.usearch"
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-c", KILLED_SAVE, str(path)],
            env={**os.environ, "TIDINGS_FAILPOINT": "index-save"},
            capture_output=True,
            timeout=120,
        )
        assert proc.returncode == -9, proc.stderr.decode(errors="replace")
    # the second killed save already cleared the first one's leftover: one is left
    assert not path.exists() and len(list(tmp_path.glob("*.tmp"))) == 1
    index = UsearchIndex(path, 8)
    index.add(np.arange(1, 11, dtype=np.uint64), np.random.default_rng(2).normal(size=(10, 8)))
    assert index.save()
    assert len(UsearchIndex(path, 8)) == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "vectors.usearch",
        "vectors.usearch.json",
        "vectors.usearch.lock",
    ]
