"""One what-if run at a time, in a background thread, with its progress.

A :class:`Job` runs :func:`journeysim.compare` (base and redesign, common random
numbers) in a thread and counts finished replications through ``on_replication``,
so the page can poll ``done / total``. :class:`Runner` starts at most one job at a
time and keeps the last few, so their downloads stay available.

Examples
--------
>>> runner = Runner(keep=2)
>>> job = runner.start(lambda tick: [tick() for _ in range(3)] and "done", total=3)
>>> job.wait(5).state, job.done, job.value
('finished', 3, 'done')
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Job", "Runner", "Busy"]


class Busy(Exception):
    """A run is in progress: the app runs one at a time."""


@dataclass
class Job:
    """A run in a background thread: its progress, its value when finished, or its error."""

    ident: str
    total: int
    done: int = 0
    state: Literal["running", "finished", "failed"] = "running"
    value: Any = None
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def tick(self) -> None:
        """One more replication finished."""
        self.done = min(self.total, self.done + 1)

    def wait(self, timeout: float | None = None) -> Job:
        """Wait until the job ends (or ``timeout`` seconds pass) and return it."""
        self._finished.wait(timeout)
        return self

    def run(self, work: Callable[[Callable[[], None]], Any]) -> None:
        """Run ``work(tick)`` and keep its value, or the error's message."""
        try:
            self.value = work(self.tick)
            self.state = "finished"
        except Exception as err:  # shown on the page: the thread must not die silently
            self.error, self.state = str(err) or type(err).__name__, "failed"
        finally:
            self._finished.set()


class Runner:
    """Starts jobs one at a time and keeps the last ``keep`` of them."""

    def __init__(self, keep: int = 5) -> None:
        self._jobs: dict[str, Job] = {}
        self._keep = keep
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def start(self, work: Callable[[Callable[[], None]], Any], total: int, **extra: Any) -> Job:
        """Start ``work(tick)`` in a thread.

        Raises
        ------
        Busy
            When another job is still running.
        """
        with self._lock:
            if any(j.state == "running" for j in self._jobs.values()):
                raise Busy("a run is in progress; wait for it to finish")
            job = Job(str(next(self._ids)), total, extra=dict(extra))
            self._jobs[job.ident] = job
            while len(self._jobs) > self._keep:
                del self._jobs[next(iter(self._jobs))]
        threading.Thread(target=job.run, args=(work,), name=f"journeysim-app-job-{job.ident}", daemon=True).start()
        return job

    def get(self, ident: str) -> Job | None:
        """The job ``ident``, if it is still kept."""
        return self._jobs.get(ident)
