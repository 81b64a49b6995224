"""The generic worker: a job's yields are its progress, its return value is its result."""

from __future__ import annotations

import threading

import pytest

from photoface.ui.workers import TaskRunner

pytestmark = pytest.mark.gui


def test_the_result_is_the_jobs_return_value_not_its_last_yield(qtbot):
    runner = TaskRunner()
    progress, results = [], []

    def job(cancel: threading.Event):
        yield 1
        yield 2
        return "the result"

    # The first step is always shown; the worker may skip later ones (repaints are throttled).
    assert runner.start(job, progress.append, results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    assert results == ["the result"] and not runner.busy
    assert progress[:1] == [1] and set(progress) <= {1, 2}


def test_a_cancelled_job_returns_what_it_says_and_a_failure_reaches_the_signal(qtbot):
    runner = TaskRunner()
    started, results, failures = threading.Event(), [], []
    runner.failed.connect(lambda message, _tb: failures.append(message))

    def job(cancel: threading.Event):
        started.set()
        while not cancel.wait(0.01):
            yield "working"
        return ("cancelled", True)

    assert runner.start(job, lambda _p: None, results.append)
    assert not runner.start(job, lambda _p: None, results.append)  # one job at a time
    started.wait(10)
    runner.cancel()
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    assert results == [("cancelled", True)]

    def broken(cancel: threading.Event):
        yield 1
        raise ValueError("bad photo")

    assert runner.start(broken, lambda _p: None, results.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=10_000)
    assert failures == ["ValueError: bad photo"] and len(results) == 1
