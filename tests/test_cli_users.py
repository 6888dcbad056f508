"""`tidings users add/list/remove` and the first-run setup link of `tidings serve`, driven as
real processes (a terminal for the password prompt, a pipe for --password-stdin)."""

from __future__ import annotations

import os
import pty
import re
import select
import socket
import subprocess
import sys
import time

import httpx

from .site_client import SiteClient

TIDINGS = [sys.executable, "-m", "tidings.cli"]


def tidings(data, *args, stdin: str | None = None):
    return subprocess.run(
        [*TIDINGS, "--data-dir", str(data), *args], input=stdin, capture_output=True,
        text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def test_users_add_list_remove_from_scripts(tmp_path):
    data = tmp_path / "data"
    added = tidings(data, "users", "add", "ada", "--admin", "--password-stdin",
                    stdin="a long password\nignored second line\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added admin ada"
    piped = tidings(data, "users", "add", "bob", stdin="bob's password\n")  # not a terminal
    assert piped.returncode == 0 and piped.stdout.strip() == "added reader bob"
    listed = tidings(data, "users", "list")
    assert [line.split()[:2] for line in listed.stdout.splitlines()] == [
        ["ada", "admin"], ["bob", "reader"]
    ]
    again = tidings(data, "users", "add", "ADA", "--password-stdin", stdin="another one\n")
    assert again.returncode != 0 and "already exists" in again.stderr
    short = tidings(data, "users", "add", "carol", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "at least 8" in short.stderr
    empty = tidings(data, "users", "add", "dave", "--password-stdin", stdin="")
    assert empty.returncode != 0 and "no password" in empty.stderr
    assert tidings(data, "users", "remove", "bob").returncode == 0
    missing = tidings(data, "users", "remove", "bob")
    assert missing.returncode != 0 and "no account named" in missing.stderr
    assert "bob" not in tidings(data, "users", "list").stdout


def _read_until(fd: int, pattern: str, timeout: float = 60.0) -> str:
    seen, deadline = "", time.monotonic() + timeout
    while pattern not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 4096).decode(errors="replace")
            except OSError:
                break
    return seen


def test_users_add_prompts_twice_on_a_terminal(tmp_path):
    data = tmp_path / "data"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*TIDINGS, "--data-dir", str(data), "users", "add", "erin"],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    os.close(slave)
    try:
        assert "Password:" in _read_until(master, "Password:")
        os.write(master, b"first password\n")
        assert "Repeat for confirmation:" in _read_until(master, "Repeat for confirmation:")
        os.write(master, b"other password\n")  # a mismatch: asked again
        assert "Password:" in _read_until(master, "Password:")
        os.write(master, b"erin password\n")
        _read_until(master, "Repeat for confirmation:")
        os.write(master, b"erin password\n")
        out = _read_until(master, "added reader erin")
        assert proc.wait(timeout=60) == 0, out
        assert "erin password" not in out  # typed without echo
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert "erin" in tidings(data, "users", "list").stdout


def test_first_serve_prints_a_one_time_setup_link_and_sign_in_is_rate_limited(tmp_path):
    data = tmp_path / "data"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [*TIDINGS, "--data-dir", str(data), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        lines = []
        while proc.poll() is None and not any("setup?token=" in line for line in lines):
            lines.append(proc.stdout.readline())
        link = re.search(r"(http://\S+/setup\?token=\S+)", "".join(lines)).group(1)
        base = link.split("/setup")[0]
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/help", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        with SiteClient(base) as c:
            token = link.split("token=")[1]
            assert c.get(link).status_code == 200
            done = c.submit(link, "/setup", token=token, name="root",
                            password="root password", password2="root password")
            assert done.status_code == 303 and done.headers["location"] == "/admin"
            assert c.get("/admin").status_code == 200
        assert httpx.get(link).status_code == 404  # spent
        with SiteClient(base) as attacker:
            codes = [attacker.submit("/login", "/login", name="root",
                                     password=f"guess {n}").status_code for n in range(5)]
            assert codes == [401] * 5
            limited = attacker.submit("/login", "/login", name="root", password="root password")
            assert limited.status_code == 429 and "retry-after" in limited.headers
    finally:
        proc.terminate()
        proc.communicate(timeout=30)  # also closes the pipe
    listed = tidings(data, "users", "list").stdout
    assert listed.split()[:2] == ["root", "admin"]
    again = subprocess.Popen(
        [*TIDINGS, "--data-dir", str(data), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        first = again.stdout.readline()
        assert "Tidings serving" in first
        time.sleep(1.0)
    finally:
        again.terminate()
        rest = again.communicate(timeout=30)[0]
    assert "setup?token=" not in first + rest  # an admin exists: no link


def test_serve_with_two_workers_counts_each_visitor_once(tmp_path):
    """`serve --workers 2`: two processes answer (each its own engine); a visitor whose
    views land on both is counted once, and stopping the server writes every visit."""
    from datetime import UTC, datetime

    from tidings.models import Article
    from tidings.store import SQLiteStore

    data = tmp_path / "data"
    data.mkdir()
    store = SQLiteStore(data / "tidings.db")
    with store.transaction() as tx:
        article = store.insert_article(
            tx, Article(url="https://news.example/a", title="Harbour reopens", text="Ships.",
                        content_hash="h", published=datetime(2026, 11, 2, tzinfo=UTC)), "a")
    store.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [*TIDINGS, "--data-dir", str(data), "serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TIDINGS_POLL_IN_SERVE": "false"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/help", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        workers = subprocess.run(["ps", "-ww", "--ppid", str(proc.pid), "-o", "args="],
                                 capture_output=True, text=True).stdout
        assert sum("spawn_main" in line for line in workers.splitlines()) == 2, workers
        for visitor in range(30):  # each view on a connection of its own: either worker
            agent = f"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 visitor-{visitor}"
            for _ in range(2):
                page = httpx.get(f"{base}/article/{article}", headers={"User-Agent": agent})
                assert page.status_code == 200 and "Harbour reopens" in page.text
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    store = SQLiteStore(data / "tidings.db")
    try:
        assert store.visit_counts([article], "1970-01-01T00")[article][0] == 30, out
    finally:
        store.close()
