"""Ingest rate of one process on a bulk archive (bench/bulk.py), model bypassed: WARM new
articles first (the window's stories load, the index file is copied into memory), then N
more timed. Each run takes new articles (the archive's `extras-runs` counter).

Usage: python bench/extras_rate.py DATA_DIR [WARM] [N]     (defaults 300 1000)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    from synth import Archive, SyntheticEmbedder

    from tidings.engine import Engine
    from tidings.settings import Settings

    data = Path(sys.argv[1])
    warm_n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    bulk = json.loads((data / "bulk.json").read_text())
    runs = data / "extras-runs"
    run = int(runs.read_text()) if runs.exists() else 0
    runs.write_text(str(run + 1))
    archive = Archive(bulk["size"], seed=bulk["seed"], per_day=bulk["per_day"])
    extras = [a for a, _ in archive.extras(warm_n + n, run=run)]
    settings = Settings.load(env={}, data_dir=str(data), index_dtype=bulk["index_dtype"])
    engine = Engine(settings, embedder=SyntheticEmbedder(seed=bulk["seed"]))
    started = time.perf_counter()
    engine.ingest_items(extras[:warm_n], batch_size=32)
    warmed = time.perf_counter()
    result = engine.ingest_items(extras[warm_n:], batch_size=32)
    done = time.perf_counter()
    engine.close()
    print(
        json.dumps(
            {
                "warm_s": round(warmed - started, 2),
                "rate_per_s": round(n / (done - warmed), 1),
                "ms_per_article": round(1000 * (done - warmed) / n, 2),
                "new": result.new,
            }
        )
    )


if __name__ == "__main__":
    main()
