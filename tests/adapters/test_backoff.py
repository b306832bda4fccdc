"""The waits between tries of work nothing else will ask for again (adapters/backoff.py)."""

from itertools import islice

from adapters.backoff import backoff


def test_a_minute_then_doubling_up_to_an_hour() -> None:
    assert list(islice(backoff(), 8)) == [60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3600.0,
                                          3600.0]
