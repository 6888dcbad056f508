"""Several processes on one data directory: a server answering searches while two ingests
write overlapping inputs, engines catching up with each other's writes, concurrent index
saves, and a re-embed under a running server. The database must end up as if the writes
had been made one after another, and every derived index must agree with it."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import zlib

import numpy as np
import pytest

from tidings.dedupe import words
from tidings.embed import Embedder

from .conftest import make_settings
from .test_crash_matrix import (
    DAY_MS,
    T0,
    check_database,
    long_row,
    run_cli,
    short_row,
    write_jsonl,
)

# distinctive headlines: a semantic search for one must find it first among the rest
MARKERS = {
    "a": (
        "https://markers.example/honey",
        "Beekeepers in Ostrava report a record honey harvest after a mild winter",
        "Hives around Ostrava produced more honey than in any year on record, beekeepers say.",
    ),
    "b": (
        "https://markers.example/chess",
        "Eleven-year-old chess prodigy wins the national championship in Montevideo",
        "A schoolgirl from Montevideo beat three grandmasters to take the chess title.",
    ),
}


def marker_row(key: str, i: int) -> dict:
    url, title, text = MARKERS[key]
    return {
        "url": url,
        "title": title,
        "text": text,
        "published": T0 + i * 60_000,
        "source": "Marker Post",
    }


def overlapping_inputs() -> tuple[list[dict], list[dict]]:
    """Two inputs for two writers: shared rows (same URL, same record), the same URL with a
    different record, and long articles of which the other input holds a copy at another URL
    (same text, near-identical text, or a copy published days earlier that must take over)."""
    a: list[dict] = []
    b: list[dict] = []
    for i in range(0, 90):
        a.append(short_row(f"https://news.example/{i}", i))
    for i in range(60, 150):  # 60..89 are in both
        b.append(short_row(f"https://news.example/{i}", i))
    for i in (150, 151, 152, 153):  # one URL, two different records
        a.append(short_row(f"https://same-url.example/{i}", i))
        b.append(short_row(f"https://same-url.example/{i}", i + 1000))
    for group in range(12):
        when = T0 + (200 + group) * 60_000
        wire = long_row(f"https://wire.example/{group}", group, f"Wire report {group}", when)
        kind = group % 3
        if kind == 0:
            copy = long_row(f"https://mirror.example/{group}", group, f"Mirror {group}", when)
        elif kind == 1:
            copy = long_row(
                f"https://mirror.example/{group}",
                group,
                f"Mirror {group}",
                when,
                " Additional reporting by staff.",
            )
        else:  # the copy carries the earlier date: it is the original, the wire its copy
            copy = long_row(
                f"https://first.example/{group}", group, f"First {group}", when - 3 * DAY_MS
            )
        first, second = (a, b) if group % 2 else (b, a)
        first.append(wire)
        second.append(copy)
        if group % 4 == 0:  # and sometimes both writers hold both
            second.append(wire)
    a.append(marker_row("a", 300))
    b.append(marker_row("b", 301))
    b.reverse()  # the writers meet the shared rows at different times
    return a, b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(base: str, path: str, **params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    with urllib.request.urlopen(url, timeout=120) as response:
        return response.status, json.loads(response.read())


def wait_for_server(base: str, proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            get_json(base, "/api/stats")
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


def stop(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


def test_server_searches_while_two_ingests_write_overlapping_inputs(tmp_path, embedder):
    rows_a, rows_b = overlapping_inputs()
    file_a = write_jsonl(tmp_path / "a.jsonl", rows_a)
    file_b = write_jsonl(tmp_path / "b.jsonl", rows_b)
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = run_cli(data, "serve", "--port", str(port), log=tmp_path / "serve.log")
    answers: list[tuple[str, object]] = []
    done = threading.Event()

    def searcher() -> None:
        queries = ["ferry update", "wire report", "officials give figure", "Skarra flood"]
        n = 0
        while not done.is_set():
            mode = ("hybrid", "semantic")[n % 2]
            try:
                status, _ = get_json(base, "/api/search", q=queries[n % 4], mode=mode)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded
                status = repr(exc)
            answers.append((mode, status))
            n += 1

    try:
        wait_for_server(base, server)
        thread = threading.Thread(target=searcher, daemon=True)
        thread.start()
        ingests = [
            run_cli(data, "ingest", "--json", str(path), log=tmp_path / f"{path.stem}.log")
            for path in (file_a, file_b)
        ]
        summaries = []
        for proc, path in zip(ingests, (file_a, file_b), strict=True):
            out, _ = proc.communicate(timeout=300)
            log = (tmp_path / f"{path.stem}.log").read_text(errors="replace")
            assert proc.returncode == 0, f"{path.name}: rc={proc.returncode}\n{log}"
            summaries.append(json.loads(out))
        done.set()
        thread.join(timeout=120)

        assert answers, "no search was answered"
        failed = [a for a in answers if a[1] != 200]
        assert failed == [], f"{len(failed)} of {len(answers)} searches failed: {failed[:5]}"
        assert {mode for mode, _ in answers} == {"hybrid", "semantic"}
        for summary, rows in zip(summaries, (rows_a, rows_b), strict=True):
            assert summary["failed"] == [] and summary["skipped"] == []
            assert summary["new"] + summary["duplicate"] + summary["unchanged"] == len(rows)

        wanted = {r["url"] for r in rows_a} | {r["url"] for r in rows_b}
        assert check_database(data, embedder) == wanted
        # each URL was stored by exactly one writer; the other counted it unchanged
        assert sum(s["new"] + s["duplicate"] for s in summaries) == len(wanted)
        with sqlite3.connect(data / "tidings.db") as db:
            ids = dict(db.execute("SELECT url, id FROM articles"))
            roots = dict(db.execute("SELECT url, coalesce(duplicate_of, id) FROM articles"))
            # every group of copies, whoever wrote which, folded into one original
            for group in range(12):
                copy = "first" if group % 3 == 2 else "mirror"
                members = {f"https://wire.example/{group}", f"https://{copy}.example/{group}"}
                assert len({roots[u] for u in members}) == 1, f"group {group} not folded"
                if group % 3 == 2:
                    assert (
                        roots[f"https://wire.example/{group}"]
                        == ids[f"https://first.example/{group}"]
                    ), "the earlier copy is the original"

        # the server caught up with what the other processes wrote
        for key in ("a", "b"):
            url, title, _ = MARKERS[key]
            status, hits = get_json(base, "/api/search", q=title, mode="semantic", limit=3)
            assert status == 200 and hits, f"no semantic hit for {title!r}"
            assert hits[0]["id"] == ids[url], (title, hits[0])
        status, stats = get_json(base, "/api/stats")
        assert stats["articles"] == len(wanted)
        assert stats["vectors_indexed"] == stats["originals"]
    finally:
        done.set()
        stop(server)
    assert "Traceback" not in (tmp_path / "serve.log").read_text(errors="replace")


# -- two engines, one data directory ------------------------------------------------------


def engine_matches_database(engine) -> None:
    """The engine's index holds exactly the stored vectors and knows it is current."""
    with sqlite3.connect(engine.data_dir / "tidings.db") as db:
        embedded = {row[0] for row in db.execute("SELECT article_id FROM embeddings")}
        generation = int(
            db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
        )
    keys = set(engine.index.keys().tolist())
    assert keys == embedded, f"{len(embedded - keys)} missing, {len(keys - embedded)} extra"
    assert engine.index.generation == generation


def story_sizes_match(engine) -> None:
    """The engine's in-memory story sizes are the database's."""
    with sqlite3.connect(engine.data_dir / "tidings.db") as db:
        sizes = dict(db.execute("SELECT id, size FROM stories"))
    clusterer = engine.clusterer
    mine = {sid: int(clusterer.sizes[pos]) for sid, pos in clusterer.pos.items()}
    assert mine == {sid: sizes[sid] for sid in mine}


def test_two_engines_catch_up_with_each_other(tmp_path, make_engine, embedder):
    data = tmp_path / "data"
    a = make_engine(data)
    b = make_engine(data)
    # same events as each other's rows, so both add to the same stories
    part1 = [short_row(f"https://news.example/{i}", i) for i in range(0, 40)]
    part1 += [
        long_row(f"https://wire.example/{g}", g, f"Wire report {g}", T0 + g * 60_000)
        for g in range(4)
    ]
    part2 = [short_row(f"https://news.example/{i}", i) for i in range(40, 80)]
    part2 += [
        long_row(f"https://mirror.example/{g}", g, f"Mirror {g}", T0 + g * 60_000) for g in (0, 1)
    ]
    part2 += [
        long_row(f"https://first.example/{g}", g, f"First {g}", T0 + g * 60_000 - 3 * DAY_MS)
        for g in (2, 3)
    ]  # takes over
    part2.append(marker_row("b", 81))
    part3 = [short_row(f"https://news.example/{i}", i) for i in range(80, 120)]
    part4 = [short_row(f"https://news.example/{i}", i) for i in range(120, 160)]
    part4.append(marker_row("a", 161))

    def ingest(engine, rows, name):
        result = engine.ingest([str(write_jsonl(tmp_path / f"{name}.jsonl", rows))])
        assert result.failed == [] and result.skipped == []
        return result

    ingest(a, part1, "part1")
    engine_matches_database(a)
    ingest(b, part2, "part2")
    engine_matches_database(b)

    # A's next search sees B's vectors, and no longer the ones B's originals replaced
    _, title, _ = MARKERS["b"]
    hits = a.search(title, mode="semantic", limit=3)
    assert hits and hits[0].article.url == MARKERS["b"][0]
    engine_matches_database(a)

    ingest(b, part3, "part3")
    ingest(a, part4, "part4")  # A's next write catches up first
    engine_matches_database(a)
    story_sizes_match(a)
    ingest(b, part4 + part3, "again")  # all unchanged
    ingest(b, [short_row(f"https://news.example/{i}", i) for i in range(160, 170)], "part5")
    engine_matches_database(b)
    story_sizes_match(b)
    a.close()
    b.close()
    check_database(data, embedder)


# -- concurrent index saves ---------------------------------------------------------------

SAVER = """
import json, os, sys, time
from tidings.engine import Engine
from tidings.settings import Settings

data, ready, go, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
engine = Engine(Settings.load(env={}, data_dir=data))
index = engine.index
generation = index.generation
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
wrote = 0
for _ in range(rounds):
    index.dirty = True
    wrote += bool(index.save())
engine.store.close()
print(json.dumps({"generation": generation, "wrote": wrote, "count": len(index)}))
"""


def test_processes_saving_the_index_at_once(tmp_path, make_engine, embedder):
    from tidings.index import UsearchIndex

    data = tmp_path / "data"
    rows = [short_row(f"https://news.example/{i}", i) for i in range(60)]
    engine = make_engine(data)
    engine.ingest([str(write_jsonl(tmp_path / "first.jsonl", rows[:40]))])
    engine.close()
    go = tmp_path / "go"

    def start(name: str):
        ready = tmp_path / f"{name}.ready"
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(data), str(ready), str(go), "40"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()[1].decode(errors="replace")
            assert time.monotonic() < deadline
            time.sleep(0.02)
        return proc

    behind = start("behind")  # holds the index as of the first 40 rows
    engine = make_engine(data)
    engine.ingest([str(write_jsonl(tmp_path / "more.jsonl", rows[40:]))])
    engine.close()  # the file now reflects a newer generation than `behind` knows
    current = start("current")
    go.touch()
    opened = 0
    path = data / "vectors.usearch"
    while behind.poll() is None or current.poll() is None:
        reader = UsearchIndex(path, embedder.dim)  # never sees a file and sidecar that differ
        assert reader.generation >= 0
        opened += 1
    results = {}
    for name, proc in (("behind", behind), ("current", current)):
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode(errors="replace")
        results[name] = json.loads(out)
    assert opened > 0
    assert results["behind"]["generation"] < results["current"]["generation"]
    assert results["behind"]["wrote"] == 0  # never overwrote the newer file
    assert results["current"]["wrote"] == 40
    state = json.loads((data / "vectors.usearch.json").read_text())
    assert state["generation"] == results["current"]["generation"]
    assert state["count"] == 60 and state["bytes"] == path.stat().st_size
    assert len(UsearchIndex(path, embedder.dim)) == 60
    assert list(data.glob("*.tmp")) == []
    check_database(data, embedder)


# -- reembed under a running server -------------------------------------------------------


class OtherModel(Embedder):
    """A stand-in second model: a seeded random projection of a hashed bag of words."""

    model_id = "other-model"
    dim = 384

    def __init__(self):
        self.projection = np.random.default_rng(7).standard_normal((4096, 384)).astype(np.float32)

    def _encode(self, texts, is_query):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in words(text):
                out[row] += self.projection[zlib.crc32(word.encode()) % 4096]
        return out


def index_vectors_match(engine) -> None:
    """Every stored vector finds its own article first in the engine's index."""
    ids = sorted(engine.index.keys().tolist())
    stored = engine.store.embeddings(ids)
    assert set(stored) == set(ids)
    for article_id in ids:
        found = engine.index.search(stored[article_id], 1)
        assert found and found[0][0] == article_id, article_id
        assert found[0][1] == pytest.approx(1.0, abs=1e-3)


def reembed_setup(tmp_path, make_engine):
    data = tmp_path / "data"
    rows = [short_row(f"https://news.example/{i}", i) for i in range(40)]
    rows += [long_row(f"https://wire.example/{g}", g, f"Wire report {g}", T0) for g in range(3)]
    rows += [long_row(f"https://mirror.example/{g}", g, f"Mirror {g}", T0) for g in range(3)]
    rows.append(marker_row("a", 50))
    builder = make_engine(data)
    builder.ingest([str(write_jsonl(tmp_path / "rows.jsonl", rows))])
    builder.close()
    return data


def reembed_elsewhere(data) -> int:
    from tidings.engine import Engine

    reembedder = Engine(make_settings(data), embedder=OtherModel(), check_model=False)
    try:
        originals = sum(1 for a in reembedder.store.iter_articles() if a.duplicate_of is None)
        assert reembedder.reembed() == originals
    finally:
        reembedder.close()
    return originals


def test_reembed_while_a_server_engine_is_open(tmp_path, make_engine):
    from tidings.embed.binding import ModelMismatchError
    from tidings.engine import Engine, embed_text

    data = reembed_setup(tmp_path, make_engine)
    server = make_engine(data)  # the bundled model, as `tidings serve` runs it
    assert server.search("ferry update", mode="semantic")
    # another old-model writer, holding vectors it has not saved yet
    writer = make_engine(data)
    writer.ingest([str(write_jsonl(tmp_path / "w.jsonl", [short_row("https://w.example/1", 77)]))])
    assert writer.index.dirty

    originals = reembed_elsewhere(data)

    server.search("ferry update", mode="keyword")  # catches up with the new vectors
    with sqlite3.connect(data / "tidings.db") as db:
        before = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    late = write_jsonl(tmp_path / "late.jsonl", [short_row("https://news.example/late", 999)])
    with pytest.raises(ModelMismatchError):
        server.ingest([str(late)])
    with pytest.raises(ModelMismatchError):
        writer.ingest([str(late)])
    with sqlite3.connect(data / "tidings.db") as db:
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == before
        epoch = db.execute("SELECT value FROM meta WHERE key = 'vectors_epoch'").fetchone()[0]
    server.close()  # saves its index, caught up with the new model's vectors
    writer.close()  # must not put its old-model vectors back over them
    state = json.loads((data / "vectors.usearch.json").read_text())
    assert state["epoch"] == epoch

    other = OtherModel()
    again = Engine(make_settings(data), embedder=other)
    try:
        assert again.store.get_meta("model") == "other-model"
        stored = again.store.embeddings(list(range(1, before + 1)))
        articles = again.store.articles(list(stored))
        expected = other.embed_documents([embed_text(articles[i]) for i in stored])
        np.testing.assert_allclose(np.vstack(list(stored.values())), expected, atol=1e-5)
        assert len(again.index) == originals
        index_vectors_match(again)
    finally:
        again.close()
    check_database(data, other)  # and the index file as a fresh engine finds it


def test_semantic_search_with_the_replaced_model_is_a_clear_error(tmp_path, make_engine):
    """A server still running the old model after `reembed` elsewhere must not compare its
    query vectors with the new model's (the ranking would be noise): like its ingest, its
    semantic search says the model changed. Keyword search goes on working."""
    from tidings.embed.binding import ModelMismatchError

    data = reembed_setup(tmp_path, make_engine)
    server = make_engine(data)
    _, title, _ = MARKERS["a"]
    assert server.search(title, mode="semantic")[0].article.url == MARKERS["a"][0]
    reembed_elsewhere(data)
    assert server.search("ferry update", mode="keyword")
    with pytest.raises(ModelMismatchError):
        server.search(title, mode="semantic")
