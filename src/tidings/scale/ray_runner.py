"""The backfill's stages as a Ray Data pipeline: shards → read (map_batches, streaming) → extract
(map_batches tasks) → embed (map_batches on an actor pool) → the writer on the driver."""

from __future__ import annotations

import logging
import sys
from typing import Any

from .stages import EmbedStage, extract_rows, read_shards

log = logging.getLogger(__name__)

RAY_EXTRA = "pip install 'tidings[ray]'"


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        from .backfill import BackfillError

        raise BackfillError(f"--engine ray needs Ray Data: {RAY_EXTRA}") from exc
    return ray


def run_on_ray(shards, settings, writer, address: str | None, batch_size: int,
               actors: int) -> None:
    """Run the pipeline on the Ray cluster at `address` (a local one when None) and feed
    the writer on this process. Every node needs tidings installed (the same version)."""
    from .backfill import BackfillError

    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(
                address=address or None,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
                configure_logging=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise BackfillError(f"cannot reach the Ray cluster at {address!r}: {exc}") from exc
    try:
        if not shards:
            return
        if not sys.stderr.isatty():  # Ray Data logs its progress when it draws no bars
            logging.getLogger("ray.data").setLevel(logging.WARNING)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = sys.stderr.isatty()
        context.verbose_progress = False
        # rows reach the writer in reading order, so a backfill stores what `tidings ingest`
        # of the same inputs stores (which of two copies is the original depends on order)
        context.execution_options.preserve_order = True
        max_bytes = settings.fetch_max_bytes
        tasks: list[dict[str, Any]] = [{"shard": s.id, "paths": list(s.paths)} for s in shards]
        dataset = (
            ray.data.from_items(tasks, override_num_blocks=len(tasks))
            .map_batches(read_shards, fn_kwargs={"max_bytes": max_bytes}, batch_size=1,
                         batch_format="numpy")
            .map_batches(extract_rows, fn_kwargs={"max_bytes": max_bytes},
                         batch_size=64, batch_format="numpy")
            .map_batches(
                EmbedStage,
                fn_constructor_kwargs={"values": settings.as_dict()},
                batch_size=max(settings.embed_batch_size, 64),
                batch_format="numpy",
                concurrency=max(1, actors),
            )
        )
        for batch in dataset.iter_batches(batch_size=batch_size, batch_format="numpy"):
            writer.write(batch)
    finally:
        if started_here:
            ray.shutdown()
