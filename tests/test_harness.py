"""The harness's own rules (tests/support/faketime.py): the environment is written from the
main thread only, where a worker thread's write would race getenv in libfaketime."""

from __future__ import annotations

import os
import threading

import pytest


def test_a_worker_thread_cannot_change_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAILORBOT_HARNESS_PROBE", raising=False)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            os.environ["TAILORBOT_HARNESS_PROBE"] = "1"
        except RuntimeError as error:
            failures.append(error)

    worker = threading.Thread(target=write)
    worker.start()
    worker.join(10)

    assert len(failures) == 1 and "worker thread" in str(failures[0])
    assert "TAILORBOT_HARNESS_PROBE" not in os.environ


def test_the_main_thread_still_can(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILORBOT_HARNESS_PROBE", "1")
    assert os.environ["TAILORBOT_HARNESS_PROBE"] == "1"
    monkeypatch.delenv("TAILORBOT_HARNESS_PROBE")
    assert "TAILORBOT_HARNESS_PROBE" not in os.environ

