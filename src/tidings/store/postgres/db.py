"""PostgreSQL connections: a pool of autocommit connections for reads, one pooled connection
per write transaction, the generation row that orders writers, LISTEN/NOTIFY, and the codecs
for stored values (pgvector's binary format for vectors). With read replicas configured,
reads are routed by `replicas.Replicas` (read-your-writes by generation; see there)."""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ...models import Article
from ..base import SUMMARY_FIELDS, StoreError, Transaction
from . import migrations
from .replicas import Replicas, server_name

ARTICLE_COLUMNS = (*SUMMARY_FIELDS[:10], "text", *SUMMARY_FIELDS[10:])
SUMMARY_COLUMNS = ", ".join(SUMMARY_FIELDS)
MAX_ID = 2**63 - 1  # bigint
log = logging.getLogger(__name__)
CHANNEL = "tidings_changes"  # NOTIFY payload: the generation that just committed


def _psycopg():
    try:
        import psycopg
        import psycopg_pool
    except ImportError as exc:  # the base install works without them
        raise ImportError(
            "the PostgreSQL store needs psycopg 3 and psycopg_pool: "
            "pip install 'tidings[postgres]'"
        ) from exc
    return psycopg, psycopg_pool


def utc(value: datetime | None) -> datetime | None:
    """Stored times are UTC, to the second (as the SQLite store keeps them)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def bounded(**values: int) -> None:
    """Paging numbers must fit a bigint: a clear error, not one from the driver."""
    for name, value in values.items():
        if not 0 <= value <= MAX_ID:
            raise ValueError(f"{name} must be between 0 and {MAX_ID}, not {value}")


def valid_ids(ids) -> list[int]:
    """Ids as bigint can hold them; ids outside that range cannot exist."""
    return [int(i) for i in ids if 0 < int(i) <= MAX_ID]


def rows_as_dicts(cursor) -> list[dict[str, Any]]:
    names = [c.name for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def row_to_article(row: dict[str, Any]) -> Article:
    data = {key: row[key] for key in row if key in ARTICLE_COLUMNS}
    for key in ("published", "modified", "fetched"):
        if data.get(key) is not None:
            data[key] = data[key].astimezone(UTC)
    return Article(**data)


# -- pgvector's binary format: int16 dim, int16 unused, dim × float32 (big-endian) ---------


def vector_to_binary(vector: np.ndarray) -> bytes:
    v = np.asarray(vector, dtype=">f4").reshape(-1)
    return struct.pack(">HH", len(v), 0) + v.tobytes()


def binary_to_vector(data: bytes | memoryview) -> np.ndarray:
    dim = struct.unpack_from(">H", data)[0]
    return np.frombuffer(data, dtype=">f4", count=dim, offset=4).astype(np.float32)


def blob(vector: np.ndarray | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def unblob(data: bytes | None) -> np.ndarray | None:
    return None if data is None else np.frombuffer(bytes(data), dtype=np.float32)


def _register_vector_codecs(conn, oids: dict[str, int]) -> None:
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format

    class VectorDumper(Dumper):
        format = Format.BINARY
        oid = oids["vector"]

        def dump(self, obj):
            return vector_to_binary(obj)

    class VectorLoader(Loader):
        format = Format.BINARY

        def load(self, data):
            return binary_to_vector(data)

    class VectorTextLoader(Loader):
        def load(self, data):
            text = bytes(data).decode()
            return np.array(text.strip("[]").split(","), dtype=np.float32)

    conn.adapters.register_dumper(np.ndarray, VectorDumper)
    conn.adapters.register_loader(oids["vector"], VectorLoader)
    conn.adapters.register_loader(oids["vector"], VectorTextLoader)


class PostgresTransaction(Transaction):
    def __init__(self, conn, previous: int):
        self.conn = conn
        self.previous = previous
        self.generation = previous + 1


class Connections:
    """The connection half of the PostgreSQL store."""

    def __init__(
        self, url: str, min_size: int = 1, max_size: int = 8, read_urls: Sequence[str] = ()
    ):
        psycopg, psycopg_pool = _psycopg()
        self.url = url
        self._local = threading.local()
        # what every thread may reuse: statistics the keyword search consults (term document
        # counts, the article estimate; single dict operations only: a race repeats a count)
        self._shared: dict[str, Any] = {}
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                migrations.apply(conn)
                oids = dict(
                    conn.execute(
                        "SELECT typname, oid FROM pg_type WHERE typname IN ('vector', 'halfvec')"
                    ).fetchall()
                )
                opened_at = int(
                    conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
                )
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot open the PostgreSQL database: {exc}") from exc
        self._oids = oids

        def configure(conn) -> None:
            conn.execute("SET TIME ZONE 'UTC'")
            conn.execute("SET client_min_messages TO warning")
            # every statement here is a short lookup; JIT compiling one costs more than it
            # runs (the planner asks for it past jit_above_cost, which a keyword statement's
            # estimate, growing with the archive and its words' commonness, may pass)
            conn.execute("SET jit TO off")
            _register_vector_codecs(conn, oids)

        self._pool = psycopg_pool.ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True},
            configure=configure,
            open=True,
            name="tidings",
        )
        self._listener = None
        self._listen_lock = threading.Lock()
        # reads a replica may answer go there; a replica must have replayed at least what the
        # primary held when this store was opened (the schema included)
        self._replicas = (
            Replicas(list(read_urls), max_size, configure, len(migrations.MIGRATIONS), opened_at)
            if read_urls
            else None
        )

    @contextmanager
    def _conn(self, tx: PostgresTransaction | None = None) -> Iterator[Any]:
        """The connection reads go through: the transaction's, this thread's open snapshot's,
        or one from the pool for this read."""
        if tx is not None:
            yield tx.conn
            return
        snapshot = getattr(self._local, "snapshot", None)
        if snapshot is not None:
            yield snapshot
            return
        if self._replicas is not None:
            with self._replicas.reading(self._pool) as conn:
                yield conn
            return
        with self._pool.connection() as conn:
            yield conn

    def _each_server(self) -> Iterator[tuple[str, Any]]:
        """(name, connection) for the primary, then for each replica that can be reached:
        what every server must do for itself (warm its own buffers)."""
        import psycopg

        with self._pool.connection() as conn:
            yield server_name(self.url), conn
        for replica in self._replicas.replicas if self._replicas is not None else ():
            try:
                conn = replica.take()
            except psycopg.Error as exc:
                log.warning("replica %s cannot be reached: %s", replica.name, exc)
                continue
            if conn is None:
                continue
            try:
                yield replica.name, conn
            finally:
                replica.give(conn)

    def _one(self, sql: str, args: Sequence[Any] = (), tx=None):
        with self._conn(tx) as conn:
            return conn.execute(sql, args).fetchone()

    def _one_confirmed(self, sql: str, args: Sequence[Any] = ()):
        """One row, where "none" is asked again of the primary when a replica said it: the
        lookups behind signing in, whose rows another process (another `serve` worker) may
        have committed a moment ago."""
        with self._conn() as conn:
            row = conn.execute(sql, args).fetchone()
            if row is not None or not getattr(conn, "on_replica", False):
                return row
        with self._pool.connection() as conn:
            return conn.execute(sql, args).fetchone()

    @contextmanager
    def transaction(self) -> Iterator[PostgresTransaction]:
        """One write transaction. Its first statement bumps the generation row, which every
        writer updates: the row lock orders writers (as SQLite's BEGIN IMMEDIATE does), so
        generations commit in order and a reader that saw generation N never later finds
        rows tagged N or lower appearing. Committing notifies listeners of the generation."""
        with self._pool.connection() as conn:
            with conn.transaction():
                row = conn.execute(
                    "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'generation' "
                    "RETURNING value::bigint"
                ).fetchone()
                tx = PostgresTransaction(conn, int(row[0]) - 1)
                yield tx
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(tx.generation)))
            if self._replicas is not None:  # committed: this process's reads must see it
                self._replicas.observe(tx.generation)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A REPEATABLE READ read-only transaction: every read inside sees one committed
        state of the database."""
        if getattr(self._local, "snapshot", None) is not None:
            yield
            return
        if self._replicas is not None:
            with self._replicas.snapshot(self._pool) as conn:
                self._local.snapshot = conn
                try:
                    yield
                finally:
                    self._local.snapshot = None
            return
        with self._pool.connection() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            self._local.snapshot = conn
            try:
                yield
            finally:
                self._local.snapshot = None
                conn.execute("COMMIT")

    def close(self) -> None:
        with self._listen_lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        if self._replicas is not None:
            self._replicas.close()
        self._pool.close()

    # -- meta --------------------------------------------------------------------------

    def get_meta(self, key: str, tx: PostgresTransaction | None = None) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = %s", (key,), tx)
        return row[0] if row else None

    def set_meta(self, tx: PostgresTransaction, key: str, value: str) -> None:
        tx.conn.execute(
            "INSERT INTO meta (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def generation(self, tx: PostgresTransaction | None = None) -> int:
        if tx is not None:
            return tx.generation
        generation = int(self.get_meta("generation") or 0)
        if self._replicas is not None:  # read back: no later read of this process sees less
            self._replicas.observe(generation)
        return generation

    def _primary_generation(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    # -- other processes' writes, pushed -----------------------------------------------

    def wait_for_change(self, after: int, timeout: float) -> int:
        """Block until a generation later than `after` has committed (by any process), or
        `timeout` seconds pass; returns the latest generation. Listeners are told by NOTIFY
        at each commit, so waiting costs no polling of the database."""
        psycopg, _ = _psycopg()
        deadline = time.monotonic() + timeout
        with self._listen_lock:
            if self._listener is None:
                self._listener = psycopg.connect(self.url, autocommit=True)
                self._listener.execute(f"LISTEN {CHANNEL}")
            conn = self._listener
            # after LISTEN: a commit from now on is notified (asked of the primary: a replica
            # may not have replayed a commit made before the LISTEN)
            latest = self._primary_generation()
            while latest <= after:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                for note in conn.notifies(timeout=left, stop_after=1):
                    latest = max(latest, int(note.payload))
            return latest
