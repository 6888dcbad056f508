"""Bulk work past what one ingest run handles: the backfill of archives, in-process or as
Ray Data stages."""

from .backfill import BackfillError, BackfillResult, plan_shards, run_backfill

__all__ = ["BackfillError", "BackfillResult", "plan_shards", "run_backfill"]
