"""Local worker processes that never hang when a worker is lost.

Why not :class:`concurrent.futures.ProcessPoolExecutor`: its workers share one
result pipe whose write end the parent and every other worker also hold. A
worker killed (SIGKILL, out of memory) while writing a result leaves half a
message in that pipe, and the executor's manager thread blocks forever reading
the rest; the run hangs, and so does interpreter exit. ``loky`` detects lost
workers, but only with freshly started interpreters (about 1.4 s to start here,
more than many whole runs take). Here each worker has a pipe of its own, whose
only writer is that worker: if it dies, the parent reads end-of-file (or sees
the process sentinel) and the run stops with a clear error, after which a
checkpointed run resumes where it was.

Examples
--------
>>> with WorkerPool(2) as pool:
...     sorted(pool.map(abs, [(-3,), (-1,), (2,)]))
[1, 2, 3]
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from ..errors import SimulationError

__all__ = ["WorkerPool", "WorkerLost"]


class WorkerLost(SimulationError):
    """A worker process died before returning its result."""


def _serve(conn: Connection) -> None:
    """Worker loop: run ``fn(*args)`` for each task received, send back the outcome."""
    # Ctrl-C reaches every process of the terminal's group: the parent stops the
    # workers itself, and a worker's own KeyboardInterrupt would print a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        fn, args = task
        try:
            conn.send((True, fn(*args)))
        except BaseException as err:
            try:
                conn.send((False, err))  # journeysim's errors pickle with their problems (errors.py)
            except Exception:
                conn.send((False, SimulationError(f"{type(err).__name__} in a worker process: {err}")))


class WorkerPool:
    """A fixed set of worker processes, one pipe each.

    Parameters
    ----------
    workers : int
        Number of processes (started with the platform's default method).
    """

    def __init__(self, workers: int) -> None:
        ctx = multiprocessing.get_context()
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child,), daemon=True)
            proc.start()
            child.close()  # the worker now holds the only write end of its results
            self._procs.append(proc)
            self._conns.append(parent)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(kill=exc[0] is not None)

    def close(self, *, kill: bool = False) -> None:
        """Stop the workers (at once with ``kill``, else after their current task)."""
        for proc, conn in zip(self._procs, self._conns):
            if not kill and proc.is_alive():
                try:
                    conn.send(None)
                except OSError:
                    pass
        for proc in self._procs:
            if kill:
                proc.kill()
            proc.join(timeout=None if not kill else 5)
        for conn in self._conns:
            conn.close()
        self._procs, self._conns = [], []

    def map(self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]]) -> Iterator[Any]:
        """Run ``fn(*task)`` for every task; yield results as they finish (any order).

        Raises
        ------
        WorkerLost
            If a worker dies; the other workers are stopped.
        """
        queue = deque(tasks)
        idle = list(range(len(self._procs)))
        busy: set[int] = set()
        while queue or busy:
            while queue and idle:
                w = idle.pop()
                try:
                    self._conns[w].send((fn, queue.popleft()))
                except OSError:  # the worker died between tasks: its end of the pipe is gone
                    self._procs[w].join(timeout=5)
                    self._lost(w)
                busy.add(w)
            pipes = {self._conns[w]: w for w in busy}
            sentinels = {self._procs[w].sentinel: w for w in busy}  # a worker that died says so here
            watched: dict[object, int] = dict([*pipes.items(), *sentinels.items()])
            for ready in wait([*pipes, *sentinels]):
                w = watched[ready]
                if w not in busy:
                    continue
                try:
                    ok, value = self._conns[w].recv() if self._conns[w].poll() else self._lost(w)
                except (EOFError, OSError):
                    self._lost(w)
                busy.discard(w)
                idle.append(w)
                if not ok:
                    raise value
                yield value

    def _lost(self, w: int) -> Any:
        code = self._procs[w].exitcode
        self.close(kill=True)
        raise WorkerLost(
            f"a worker process died (exit code {code}) before its replication finished; run the same "
            "command again (with a checkpoint folder, finished replications are kept and only the rest are redone)"
        )
