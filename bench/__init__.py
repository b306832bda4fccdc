"""Benchmarks: `python -m bench` (or `make bench`). They print their figures; nothing here is
a pass/fail test."""
