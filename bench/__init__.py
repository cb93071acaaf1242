"""The benchmark: `uv run python bench/images.py` (docs/measurements.md)."""
