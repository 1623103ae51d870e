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

Three things keep the workers busy and the parent light. Arguments common to
every task (a replication's compiled model) reach each worker once per
:meth:`WorkerPool.map`, not once per task. Each worker holds a second task while
it runs one, so it never waits for the parent between tasks. A result's numpy
columns travel out of band (pickle protocol 5): sent from the arrays' own memory
and received straight into the arrays the parent keeps, with no copy through an
intermediate bytes object.

Examples
--------
>>> with WorkerPool(2) as pool:
...     sorted(pool.map(abs, [(-3,), (-1,), (2,)]))
[1, 2, 3]
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from ..errors import SimulationError

__all__ = ["WorkerPool", "WorkerLost"]


class WorkerLost(SimulationError):
    """A worker process died before returning its result."""


#: Tasks a worker holds at once: the one it runs and the next, so it never waits for the parent.
_IN_FLIGHT = 2


def _send(conn: Connection, outcome: tuple[bool, Any]) -> None:
    """Send ``outcome`` with its large buffers (numpy columns) out of band: a header, then each buffer's bytes."""
    buffers: list[pickle.PickleBuffer] = []
    header = pickle.dumps(outcome, protocol=5, buffer_callback=buffers.append)
    raw = [b.raw() for b in buffers]
    conn.send((header, [len(r) for r in raw]))
    for r in raw:
        conn.send_bytes(r)


def _receive(conn: Connection) -> tuple[bool, Any]:
    """What :func:`_send` sent; each buffer is read into memory the result then owns (writable)."""
    header, sizes = conn.recv()
    buffers = []
    for size in sizes:
        buffer = bytearray(size)
        if size:
            conn.recv_bytes_into(buffer)
        else:
            conn.recv_bytes()
        buffers.append(buffer)
    outcome: tuple[bool, Any] = pickle.loads(header, buffers=buffers)
    return outcome


def _serve(conn: Connection) -> None:
    """Worker loop: keep the common arguments; run ``fn(*common, *args)`` for each task; send back the outcome."""
    # Ctrl-C reaches every process of the terminal's group: the parent stops the
    # workers itself, and a worker's own KeyboardInterrupt would print a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    common: tuple[Any, ...] = ()
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        kind, fn, args = message
        if kind == "common":
            common = args
            continue
        try:
            outcome: tuple[bool, Any] = (True, fn(*common, *args))
        except BaseException as err:
            outcome = (False, err)  # journeysim's errors pickle with their problems (errors.py)
        try:
            _send(conn, outcome)
        except Exception as unsent:  # an error (or a result) that cannot be pickled
            failure = outcome[1] if not outcome[0] else unsent
            _send(conn, (False, SimulationError(f"{type(failure).__name__} in a worker process: {failure}")))


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Ignore SIGINT in this process for a moment (a process started meanwhile inherits it), then restore it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; Ctrl-C reaches the main thread only anyway
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
            with _ctrl_c_ignored():  # a worker is born ignoring Ctrl-C, before _serve says so again
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

    def map(self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]],
            common: tuple[Any, ...] = ()) -> Iterator[Any]:
        """Run ``fn(*common, *task)`` for every task; yield results as they finish (any order).

        ``common`` is sent to each worker once, however many tasks it runs.

        Raises
        ------
        WorkerLost
            If a worker dies; the other workers are stopped.
        """
        queue = deque(tasks)
        held = [0] * len(self._procs)  # tasks sent to each worker and not yet answered
        for w in range(len(self._procs)):
            self._post(w, ("common", None, common))
        while queue or any(held):
            for depth in range(1, _IN_FLIGHT + 1):  # a task for every worker before a second for any
                for w in range(len(self._procs)):
                    if queue and held[w] < depth:
                        self._post(w, ("task", fn, queue.popleft()))
                        held[w] += 1
            busy = [w for w in range(len(self._procs)) if held[w]]
            pipes = {self._conns[w]: w for w in busy}
            sentinels = {self._procs[w].sentinel: w for w in busy}  # a worker that died says so here
            watched: dict[object, int] = dict([*pipes.items(), *sentinels.items()])
            for ready in wait([*pipes, *sentinels]):
                w = watched[ready]
                if not held[w]:
                    continue
                try:
                    ok, value = _receive(self._conns[w]) if self._conns[w].poll() else self._lost(w)
                except (EOFError, OSError):
                    self._lost(w)
                held[w] -= 1
                if not ok:
                    raise value
                yield value

    def _post(self, w: int, message: tuple[str, Any, tuple[Any, ...]]) -> None:
        try:
            self._conns[w].send(message)
        except OSError:  # the worker died between tasks: its end of the pipe is gone
            self._procs[w].join(timeout=5)
            self._lost(w)

    def _lost(self, w: int) -> Any:
        code = self._procs[w].exitcode
        self.close(kill=True)
        raise WorkerLost(
            f"a worker process died (exit code {code}) before its replication finished; run the same "
            "command again (with a checkpoint folder, finished replications are kept and only the rest are redone)"
        )
