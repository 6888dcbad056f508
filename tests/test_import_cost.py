"""Importing Tidings runs no password hashing: scrypt costs 0.1–0.2 s of memory-hard work, and
every CLI command (and every `serve` worker) imports the readers' code."""

from __future__ import annotations

import subprocess
import sys

SNIPPET = """
import hashlib
def refuse(*args, **kwargs):
    raise SystemExit("scrypt ran at import time")
hashlib.scrypt = refuse
import tidings.cli, tidings.engine, tidings.api.app, tidings.readers.accounts
import tidings.readers.apipasswords
print("imported")
"""


def test_importing_the_cli_and_the_server_hashes_no_password():
    done = subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:] or done.stdout[-2000:]
    assert done.stdout.strip().endswith("imported")


def test_an_unknown_account_still_costs_a_hash():
    from tidings.readers import passwords

    assert passwords.dummy_hash() == passwords.dummy_hash()  # made once
    assert passwords.dummy_hash().startswith("scrypt$")
    assert not passwords.verify_password("anything at all", passwords.dummy_hash())
