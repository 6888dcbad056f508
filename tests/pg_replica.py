"""A real streaming replica of the PostgreSQL test server, for the read-replica tests: a base
backup (`pg_basebackup -R`) in a temp dir, started on a free port as a hot standby. Run as
root (as CI runs scripts/install_pg.sh), the server's tools run as the `postgres` user."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

REPLICATION_HBA = (
    "\n# added by the Tidings read-replica tests: local streaming replication\n"
    "local   replication     all                                     trust\n"
    "host    replication     all             127.0.0.1/32            trust\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bin_dir(major: int) -> Path:
    debian = Path(f"/usr/lib/postgresql/{major}/bin")
    if (debian / "pg_basebackup").exists():
        return debian
    found = shutil.which("pg_basebackup")
    if not found:
        raise RuntimeError("pg_basebackup is not installed (postgresql-client)")
    return Path(found).parent


class StreamingReplica:
    """One hot standby of the server at `primary_url`, on 127.0.0.1:<port>."""

    def __init__(self, primary_url: str):
        self.primary_url = primary_url
        info = conninfo_to_dict(primary_url)
        self.primary_host = info.get("host", "127.0.0.1")
        self.primary_port = int(info.get("port", 5432))
        self.user = info.get("user", "postgres")
        self.port = _free_port()
        self.base = Path(tempfile.mkdtemp(prefix="tidings-replica-"))
        self.data = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.log = self.base / "server.log"
        self.socket_dir.mkdir()
        self._as_owner: list[str] = []
        if os.getuid() == 0:  # the server refuses to run as root
            owner = pwd.getpwnam("postgres")
            for path in (self.base, self.socket_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._as_owner = ["runuser", "-u", "postgres", "--"]
        with psycopg.connect(primary_url, autocommit=True) as conn:
            major = conn.info.server_version // 10000
        self.bin = _bin_dir(major)

    # -- the primary must allow it ------------------------------------------------------

    def allow_replication(self) -> None:
        """wal_level and max_wal_senders need a restart, so they are only checked; a missing
        pg_hba.conf replication line is added and the configuration reloaded."""
        with psycopg.connect(self.primary_url, autocommit=True) as conn:
            wal_level = conn.execute("SHOW wal_level").fetchone()[0]
            senders = int(conn.execute("SHOW max_wal_senders").fetchone()[0])
            if wal_level == "minimal" or senders < 1:
                raise RuntimeError(
                    f"the test server cannot stream to a replica (wal_level={wal_level}, "
                    f"max_wal_senders={senders}): restart it with wal_level=replica and "
                    "max_wal_senders>=1 (scripts/install_pg.sh starts it so)"
                )
            allowed = conn.execute(
                "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NULL "
                "AND 'replication' = ANY(database) AND type IN ('local', 'host')"
            ).fetchone()[0]
            if not allowed:
                hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
                with hba.open("a") as fh:
                    fh.write(REPLICATION_HBA)
                conn.execute("SELECT pg_reload_conf()")
                time.sleep(0.5)  # the postmaster rereads it asynchronously

    # -- life ---------------------------------------------------------------------------

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._as_owner, *args], cwd=self.base, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=180,
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}\n{log}")

    def create(self) -> None:
        self.allow_replication()
        self._run(
            str(self.bin / "pg_basebackup"), "-h", self.primary_host, "-p",
            str(self.primary_port), "-U", self.user, "-D", str(self.data), "-R",
            "-X", "stream", "-c", "fast", "--no-sync",
        )
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.socket_dir} -c hot_standby=on -c fsync=off"
        )
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-w", "-t", "60", "start", "-o", options)
        self.wait_streaming()

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    # -- state --------------------------------------------------------------------------

    @property
    def server_url(self) -> str:
        return self.url_for(self.primary_url)

    def url_for(self, primary_url: str) -> str:
        """The same database (and options: a test's schema) on the replica."""
        parts = urlsplit(primary_url)
        user = f"{parts.username}@" if parts.username else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))

    def connect(self):
        return psycopg.connect(self.server_url, autocommit=True)

    def wait_streaming(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            try:
                with self.connect() as conn:
                    row = conn.execute("SELECT status FROM pg_stat_wal_receiver").fetchone()
                    status = row[0] if row else None
            except psycopg.OperationalError:
                status = None  # still starting
            if status == "streaming":
                return
            time.sleep(0.1)
        raise RuntimeError(f"the replica is not streaming after {timeout} s ({status})")

    def catch_up(self, timeout: float = 30) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary_url, autocommit=True) as conn:
            target = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.connect() as conn:
            while time.monotonic() < deadline:
                done = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
                ).fetchone()[0]
                if done:
                    return
                time.sleep(0.05)
        raise RuntimeError(f"the replica has not replayed {target} after {timeout} s")

    def pause(self) -> None:
        """Stop replaying WAL (it is still received): the replica lags from now on."""
        with self.connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            deadline = time.monotonic() + 30
            while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused":
                if time.monotonic() > deadline:
                    raise RuntimeError("the replica did not pause its replay")
                time.sleep(0.02)

    def resume(self) -> None:
        with self.connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
