"""Offline evaluation of the project's ranking on MovieLens-100k: ``python -m bench.eval``
(or ``python -m bench --eval``). See docs/measurement.md for the protocol."""
