"""The public surface of tidings.sources: explicit, sorted, importable, light."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tidings.sources as sources


def test_all_is_sorted_and_complete():
    assert sources.__all__ == sorted(sources.__all__)
    for name in sources.__all__:
        assert getattr(sources, name) is not None


def test_every_module_has_a_one_line_docstring():
    from tidings.sources import (
        feeds,
        feedstream,
        files,
        http,
        opml,
        poller,
        robots,
        schedule,
        subscriptions,
        warc,
    )

    for module in (sources, feeds, feedstream, files, http, opml, poller, robots, schedule,
                   subscriptions, warc):
        doc = module.__doc__ or ""
        assert doc.strip() and "\n" not in doc.strip(), module.__name__


def test_import_does_not_pull_feedparser_or_lxml():
    # `import tidings` itself loads lxml (for `tidings.extract`); sources must add neither
    code = (
        "import sys, tidings; before = set(sys.modules); import tidings.sources; "
        "print(sorted(m for m in ('feedparser', 'lxml') if m in set(sys.modules) - before))"
    )
    src = str(Path(sources.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == "[]"
