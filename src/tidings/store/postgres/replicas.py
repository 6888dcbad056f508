"""Read replicas: the PostgreSQL store's autocommit reads and read-only snapshots go to
streaming replicas (`TIDINGS_DATABASE_READ_URLS`) when one has replayed everything this
process must see; write transactions, and reads no replica can answer yet, use the primary.

Read-your-writes, by generation. Every write transaction's first statement bumps the
generation row (`db.Connections.transaction`), and the row lock orders writers, so
generations commit in order. A standby makes transactions visible in the order they
committed; so a replica whose `meta` row reads generation >= G has replayed the transaction
that committed G, and every one before it. Each process keeps a watermark: the highest
generation it has committed, or read back through `generation()` (from any server), and at
least the primary's generation when the store was opened. A read may use a replica only if
that replica's replayed generation is at least the watermark. Because the watermark also
rises with the generations the process has read, its reads never go back in time when it
moves between replicas or from the primary to a replica (the caches keyed by generation —
`listing.latest`, `DatabaseVectors.__len__` — rely on that).

Why the generation and not a WAL position: the writer already knows its generation at
commit, so a write costs no extra round trip to the primary (a WAL position would need
`pg_current_wal_insert_lsn()` after every commit), and the check on the replica is one
primary-key row. The count of applied migrations is read beside it, because a schema upgrade
commits without a new generation: a replica that has not replayed it is behind.

Cost: each replica remembers the generation it was last seen to have replayed. While that
covers the watermark, routing a read costs nothing; a replay position can only move forward.
Once the process has written past it, the next read asks the replica again (one indexed row,
on the replica), at most every CHECK_SECONDS per replica; in between, reads go to the primary.

Failure: a replica that cannot be reached, whose connection breaks, or that cancels a
statement for a recovery conflict, has the read run again on the primary; one that failed to
connect or lost its connection is left alone for DOWN_SECONDS, then tried again. A warning is
logged at most once per WARN_SECONDS per replica. A snapshot (one REPEATABLE READ transaction)
cannot move servers half-way: a replica lost inside one fails that snapshot only.

Limits: the watermark belongs to one process. Another process (another `serve --workers`
worker) sees this one's writes once its replica has replayed them; the lookups behind
sign-in (sessions, credentials, API tokens) therefore ask the primary when a replica finds
nothing (`Connections._one_confirmed`). Each URL must name one server (not a pooler in front
of several): what was replayed is remembered per URL.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.05  # how often a replica known to be behind is asked again
DOWN_SECONDS = 5.0  # how long a replica that failed is left alone
WARN_SECONDS = 60.0  # at most one warning per replica per this many seconds
CONNECT_SECONDS = 2  # connect_timeout for a replica: an unreachable host must not hang a page

_REPLAYED_SQL = (
    "SELECT (SELECT value::bigint FROM meta WHERE key = 'generation'), "
    "(SELECT count(*) FROM migrations)"
)
_URL_START = re.compile(r",\s*(?=postgres(?:ql)?://)")


def split_urls(value: str) -> list[str]:
    """`TIDINGS_DATABASE_READ_URLS` as a list: URLs separated by commas (a comma inside a
    multi-host URL, `postgresql://h1,h2/db`, does not split it)."""
    return [url.strip() for url in _URL_START.split(value or "") if url.strip()]


def server_name(url: str) -> str:
    """host:port/dbname of a URL, for log lines (never its password)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - a name for a log line only
        return "(replica)"
    return f"{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def _retry_on_primary(exc: Exception, conn) -> bool:
    """A statement worth running again on the primary: the connection is gone, or the standby
    cancelled it for a conflict with recovery (SQLSTATE 40001 on a hot standby)."""
    return conn.broken or conn.closed or getattr(exc, "sqlstate", None) == "40001"


class Replica:
    """One replica: its idle connections (up to `size` in use at once; past that a read takes
    the primary's pool rather than wait), what it was last seen to have replayed, and when it
    last failed."""

    def __init__(self, url: str, size: int, configure: Callable[[Any], None]):
        self.url = url
        self.name = server_name(url)
        self.replayed = -1
        self.checked = float("-inf")
        self.down_until = 0.0
        self.was_down = False
        self._warned = float("-inf")
        self._size = size
        self._configure = configure
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def take(self):
        """An open connection, or None when `size` are in use. Raises psycopg's errors when
        the replica cannot be reached."""
        import psycopg

        if not self._slots.acquire(blocking=False):
            return None
        try:
            while True:
                with self._lock:
                    conn = self._idle.pop() if self._idle else None
                if conn is None:
                    conn = psycopg.connect(
                        self.url, autocommit=True, connect_timeout=CONNECT_SECONDS
                    )
                    self._configure(conn)
                    return conn
                if not (conn.closed or conn.broken):
                    return conn
        except BaseException:
            self._slots.release()
            raise

    def give(self, conn) -> None:
        """Back to the idle list, or closed if it is broken or left inside a transaction."""
        from psycopg.pq import TransactionStatus

        try:
            healthy = (
                not (conn.closed or conn.broken)
                and conn.info.transaction_status == TransactionStatus.IDLE
            )
            with self._lock:
                if healthy and len(self._idle) < self._size:
                    self._idle.append(conn)
                    return
            conn.close()
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def warn(self, message: str, *args: Any) -> None:
        moment = time.monotonic()
        if moment - self._warned >= WARN_SECONDS:
            self._warned = moment
            log.warning(message, *args)


class Replicas:
    """Routes the reads of one store between its replicas and its primary pool."""

    def __init__(
        self,
        urls: list[str],
        size: int,
        configure: Callable[[Any], None],
        migrations: int,
        watermark: int,
    ):
        self.replicas = [Replica(url, size, configure) for url in urls]
        self.migrations = migrations
        self.watermark = watermark
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def observe(self, generation: int) -> None:
        """The process has committed or read `generation`: no later read may see less."""
        if generation > self.watermark:
            with self._lock:
                self.watermark = max(self.watermark, generation)

    def failed(self, replica: Replica, exc: BaseException, down: bool) -> None:
        if down:
            replica.down_until = time.monotonic() + DOWN_SECONDS
            replica.was_down = True
            replica.close()  # its other idle connections are as dead as this one
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        replica.warn(
            "read replica %s failed (%s); reading from the primary%s",
            replica.name, reason, f" for {DOWN_SECONDS:g} s" if down else "",
        )

    def _replayed(self, conn) -> int:
        """The generation this replica has replayed, or -1 while it lacks the schema."""
        import psycopg

        try:
            generation, applied = conn.execute(_REPLAYED_SQL).fetchone()
        except psycopg.OperationalError:
            raise
        except psycopg.Error:  # the schema is not there yet (a new database, replaying)
            return -1
        return -1 if generation is None or applied < self.migrations else int(generation)

    def pick(self) -> tuple[Replica, Any] | None:
        """A replica's connection that may answer this process's next read, or None."""
        import psycopg

        need = self.watermark
        start = next(self._turn)
        count = len(self.replicas)
        for offset in range(count):
            replica = self.replicas[(start + offset) % count]
            moment = time.monotonic()
            if replica.down_until > moment:
                continue
            fresh = replica.replayed >= need
            if not fresh and moment - replica.checked < CHECK_SECONDS:
                continue  # known to be behind a moment ago
            conn = None
            try:
                conn = replica.take()
                if conn is None:
                    continue  # all its connections busy
                if not fresh:
                    replica.checked = moment
                    replica.replayed = max(replica.replayed, self._replayed(conn))
                    if replica.replayed < need:
                        replica.give(conn)
                        continue
            except psycopg.Error as exc:
                if conn is not None:
                    replica.give(conn)
                self.failed(replica, exc, down=True)
                continue
            if replica.was_down:
                replica.was_down = False
                log.info("read replica %s answers again", replica.name)
            return replica, conn
        return None

    @contextlib.contextmanager
    def reading(self, primary_pool) -> Iterator[Any]:
        """The connection one autocommit read goes through: a replica's (which runs a
        statement again on the primary if the replica fails it) or the primary's."""
        picked = self.pick()
        if picked is None:
            with primary_pool.connection() as conn:
                yield conn
            return
        replica, conn = picked
        with contextlib.ExitStack() as stack:
            routed = RoutedConnection(self, replica, conn, primary_pool, stack)
            try:
                yield routed
            finally:
                replica.give(conn)

    @contextlib.contextmanager
    def snapshot(self, primary_pool) -> Iterator[Any]:
        """A connection inside a REPEATABLE READ READ ONLY transaction, on a replica when one
        may answer, else on the primary; committed at the end."""
        import psycopg

        picked = self.pick()
        if picked is not None:
            replica, conn = picked
            try:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            except psycopg.OperationalError as exc:
                replica.give(conn)
                self.failed(replica, exc, down=conn.broken or conn.closed)
                picked = None
        if picked is None:
            with primary_pool.connection() as conn:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                try:
                    yield conn
                finally:
                    conn.execute("COMMIT")
            return
        try:
            yield conn
        finally:
            try:
                conn.execute("COMMIT")  # read only: nothing is lost if this fails
            except psycopg.OperationalError as exc:
                self.failed(replica, exc, down=conn.broken or conn.closed)
            replica.give(conn)

    def close(self) -> None:
        for replica in self.replicas:
            replica.close()


class RoutedConnection:
    """A replica's connection, as the store's read code uses one (`execute`, `cursor`); a
    statement the replica fails for want of a connection or for a recovery conflict runs
    again on a connection of the primary's pool, which the rest of the read then uses."""

    def __init__(self, router: Replicas, replica: Replica, conn, primary_pool, stack):
        self.__dict__.update(
            _router=router, _replica=replica, _current=conn, _pool=primary_pool, _stack=stack
        )

    def _run(self, statement: Callable[[Any], Any]):
        import psycopg

        try:
            return statement(self._current)
        except psycopg.OperationalError as exc:
            replica, conn = self._replica, self._current
            if replica is None or not _retry_on_primary(exc, conn):
                raise
            self._router.failed(replica, exc, down=conn.broken or conn.closed)
            primary = self._stack.enter_context(self._pool.connection())
            ef = getattr(conn, "_tidings_ef", None)  # the session's hnsw.ef_search goes too
            if ef is not None and getattr(primary, "_tidings_ef", None) != ef:
                primary.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(ef),))
                primary._tidings_ef = ef
            self.__dict__.update(_replica=None, _current=primary)
            return statement(primary)

    def execute(self, query, params=None, **kwargs):
        return self._run(lambda conn: conn.execute(query, params, **kwargs))

    def cursor(self, *args, **kwargs):
        return RoutedCursor(self, args, kwargs)

    @property
    def on_replica(self) -> bool:
        return self._replica is not None

    def __getattr__(self, name: str):
        return getattr(self._current, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._current, name, value)


class RoutedCursor:
    """A cursor of a RoutedConnection: its `execute` moves to the primary as the connection's
    does; everything else is the cursor of the connection that ran it."""

    def __init__(self, routed: RoutedConnection, args, kwargs):
        self._routed, self._args, self._kwargs = routed, args, kwargs
        self._cursor = None

    def execute(self, query, params=None, **kwargs):
        def run(conn):
            self._cursor = conn.cursor(*self._args, **self._kwargs)
            return self._cursor.execute(query, params, **kwargs)

        self._routed._run(run)
        return self

    def __getattr__(self, name: str):
        if self._cursor is None:
            raise AttributeError(name)
        return getattr(self._cursor, name)

    def __iter__(self):
        return iter(self._cursor)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._cursor is not None:
            self._cursor.close()
