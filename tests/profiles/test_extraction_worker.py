"""The frames between the bot and an extraction worker: whole messages however the bytes
arrive, and an answer that always reaches the bot, even with an error pickle cannot carry."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from profiles.extraction_worker import (
    STOP,
    FrameReader,
    Ready,
    Request,
    _answer,
    extract_many,
    frame,
)
from profiles.signals import MessageSignals, SignalExtractor


def test_frames_come_out_whole_whether_split_or_run_together() -> None:
    messages = [Ready(41), Request(3, True, [("a message", ("maria",), None)]), "é" * 70_000, STOP]
    wire = b"".join(frame(m) for m in messages)
    one_by_one = FrameReader()
    got = [m for i in range(len(wire)) for m in one_by_one.feed(wire[i : i + 1])]
    assert got == messages
    assert FrameReader().feed(wire) == messages
    partial = FrameReader()
    assert partial.feed(wire[:5]) == []  # not even a whole length yet


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def test_an_error_pickle_cannot_carry_travels_as_its_description() -> None:
    extractor = SignalExtractor(max_keyphrases=3)
    found = extractor.extract("jazz piano tonight")
    (answer,) = FrameReader().feed(_answer(7, [found, Unpicklable()]))
    assert answer.number == 7
    assert answer.outcomes[0] == found
    assert isinstance(answer.outcomes[1], RuntimeError)
    assert str(answer.outcomes[1]) == "Unpicklable: holds a lock"


def test_a_message_that_fails_fails_alone() -> None:
    class FailsOnOne(SignalExtractor):
        def extract(
            self, text: str, *, names: Sequence[str] = (), usual: str | None = None
        ) -> MessageSignals:
            if text == "bad":
                raise ValueError("unreadable")
            return super().extract(text, names=names, usual=usual)

    extractor = FailsOnOne(max_keyphrases=3)
    chunk = [("good rust", (), None), ("bad", (), None), ("more rust", (), None)]
    outcomes = extract_many(extractor, chunk)
    assert outcomes[0] == extractor.extract("good rust")
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == extractor.extract("more rust")
