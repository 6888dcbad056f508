"""Tidings: a self-hosted semantic news aggregator."""

__version__ = "0.1.0"
