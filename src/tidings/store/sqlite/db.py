"""SQLite connections: one writer, per-thread readers, WAL mode; codecs for stored values."""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ...models import Article
from ..base import SUMMARY_FIELDS, StoreError, Transaction
from . import migrations

ARTICLE_COLUMNS = (*SUMMARY_FIELDS[:10], "text", *SUMMARY_FIELDS[10:])
SUMMARY_COLUMNS = ", ".join(SUMMARY_FIELDS)
_DATE_FIELDS = ("published", "modified", "fetched")
MAX_ID = 2**63 - 1  # SQLite integers are signed 64-bit


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def to_iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# per column list of a query: (position, field, decoder) of each column an Article has
_ARTICLE_PLANS: dict[tuple[str, ...], tuple[tuple[int, str, object], ...]] = {}


def _article_plan(keys: tuple[str, ...]) -> tuple[tuple[int, str, object], ...]:
    decoders = {key: from_iso for key in _DATE_FIELDS} | {"partial": bool}
    plan = tuple(
        (i, key, decoders.get(key)) for i, key in enumerate(keys) if key in ARTICLE_COLUMNS
    )
    _ARTICLE_PLANS[keys] = plan
    return plan


def row_to_article(row: sqlite3.Row) -> Article:
    keys = tuple(row.keys())
    plan = _ARTICLE_PLANS.get(keys) or _article_plan(keys)
    return Article(
        **{key: row[i] if decode is None else decode(row[i]) for i, key, decode in plan}
    )


def vector_to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def blob_to_vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def marks(values) -> str:
    return ",".join("?" * len(values))


def bounded(**values: int) -> None:
    """Paging numbers must fit SQLite's signed 64-bit integers: a clear error, not an
    OverflowError from the driver."""
    for name, value in values.items():
        if not 0 <= value <= MAX_ID:
            raise ValueError(f"{name} must be between 0 and {MAX_ID}, not {value}")


def valid_ids(ids) -> list[int]:
    """Ids as SQLite can bind them; ids outside the 64-bit range cannot exist."""
    return [int(i) for i in ids if 0 < int(i) <= MAX_ID]


class SQLiteTransaction(Transaction):
    def __init__(self, conn: sqlite3.Connection, previous: int):
        self.conn = conn
        self.previous = previous
        self.generation = previous + 1


class Connections:
    """The connection half of the SQLite store."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        # this thread's reader lives in `_local`: when the thread ends, its reader is
        # closed with it (a server's worker threads come and go); the set only lets close()
        # reach the readers still open
        self._readers: weakref.WeakSet[_Connection] = weakref.WeakSet()
        try:
            self._writer = self._connect()
            # a committed batch survives a power cut, not only a killed process (one fsync
            # per batch transaction)
            self._writer.execute("PRAGMA synchronous=FULL")
            mode = self._switch_to_wal()
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a Tidings database: {exc}") from exc
        if mode.lower() != "wal":
            raise StoreError(f"{self.path}: cannot switch to WAL mode (got {mode!r})")
        migrations.apply(self._writer)

    def _switch_to_wal(self, timeout: float = 60.0) -> str:
        """Switching the journal mode does not wait for the busy timeout: when several
        processes open a fresh database at once, retry while another one holds it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._writer.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=60, check_same_thread=False, isolation_level=None,
            factory=_Connection,
        )
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout=60000")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA synchronous=NORMAL")
        # 64 MiB of page cache per connection (SQLite's default is 2 MiB): at a million
        # articles the dedupe-bucket and keyword indexes are gigabytes of B-tree pages
        db.execute("PRAGMA cache_size=-65536")
        return db

    def _db(self, tx: SQLiteTransaction | None) -> sqlite3.Connection:
        return tx.conn if tx is not None else self.reader

    @property
    def reader(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
            self._readers.add(db)
        return db

    @contextmanager
    def transaction(self) -> Iterator[SQLiteTransaction]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error. The generation is bumped as the
        transaction's first write, so it is read and advanced under the write lock."""
        with self._write_lock:
            db = self._writer
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
                tx = SQLiteTransaction(db, int(row[0]) if row else 0)
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('generation', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (str(tx.generation),),
                )
                yield tx
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # also when COMMIT itself failed (disk full, I/O)
                    db.execute("ROLLBACK")
                raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction on this thread's reader: in WAL mode its reads all see the
        state of its first read. Keep it short: it holds back checkpoints."""
        db = self.reader
        if db.in_transaction:
            yield
            return
        db.execute("BEGIN")
        try:
            yield
        finally:
            db.execute("COMMIT")

    def close(self) -> None:
        self._writer.close()
        for db in list(self._readers):
            db.close()
        self._readers = weakref.WeakSet()
        self._local = threading.local()

    # -- meta --------------------------------------------------------------------------

    def get_meta(self, key: str, tx: SQLiteTransaction | None = None) -> str | None:
        row = self._db(tx).execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, tx: SQLiteTransaction, key: str, value: str) -> None:
        tx.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def generation(self, tx: SQLiteTransaction | None = None) -> int:
        if tx is not None:
            return tx.generation
        return int(self.get_meta("generation") or 0)
