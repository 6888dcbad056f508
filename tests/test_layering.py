"""SQL lives in store/ and nowhere else: no sqlite3 or psycopg import and no SQL statement
above it, so every room works the same over either backend."""

from __future__ import annotations

import re

from .conftest import REPO

SQL = re.compile(r"""["'](SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE|PRAGMA)\b""")
DRIVERS = re.compile(r"^\s*(import|from)\s+(sqlite3|psycopg|psycopg_pool)\b", re.M)


def test_no_driver_and_no_sql_above_the_store():
    package = REPO / "src" / "tidings"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if (package / "store") in path.parents:
            continue
        source = path.read_text()
        if DRIVERS.search(source) or SQL.search(source):
            offenders.append(str(path.relative_to(package)))
    assert offenders == []


def test_postgres_without_psycopg_names_the_extra(tmp_path):
    """The base install works without psycopg; asking for PostgreSQL says what to install."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg_pool'] = None\n"
        "from pathlib import Path\n"
        "from tidings.store import StoreError, open_store\n"
        "try:\n"
        "    open_store('postgresql://nobody@127.0.0.1:9/none', Path(sys.argv[1]))\n"
        "except StoreError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert "pip install 'tidings[postgres]'" in out.stdout, out.stderr
