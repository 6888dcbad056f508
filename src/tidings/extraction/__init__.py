"""Helpers of the extract stage: text candidate passes over trafilatura's building blocks."""
