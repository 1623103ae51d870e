"""A run that stops at the horizon (``end = "stop"``): what was unfinished there, and which rows count when.

The kernel runs the clock to the horizon and no further (``env.run(until=horizon)``):
no event at or after the horizon happens. :meth:`Stop.census` then finds every
journey still in the pathway and writes what it was doing, with ``NaN`` for what
had not happened yet (``docs/records.md``):

* a patient **in service** (its own work, waiting for support results, an exit
  delay, or boarding in its bed) has a visit row with ``end = NaN``;
* a patient **waiting** for a server or for the team has a visit row with ``start = NaN``;
* a patient **in transfer** has its handoff row, with ``arrive = NaN``;
* a support request in service, waiting, or on its way back has a request row with
  ``NaN`` for what had not happened;
* the journey has a row with ``end = NaN``, and its standards are judged as they
  stood (:meth:`~journeysim.engine.timeliness.Timeliness.judge_open`).

A journey's own figures (quality, costs, time in system) are of completed journeys;
so the rows of a journey reach the statistics together with the journey's row. In
summary mode, where rows are reduced in chunks during the run, :meth:`Stop.settle`
keeps the rows of journeys still in the pathway for a later chunk.

Nothing here runs in a run that drains: the kernel makes a :class:`Stop` only when
the run stops at the horizon.

Examples
--------
>>> from journeysim.model.distributions import Fixed
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.engine.kernel import run_replication
>>> model = Model([Microsystem("Clinic", capacity=1, service=Fixed(30))],
...               classes=[PatientClass("all", entry="Clinic", rate=1 / 20)])
>>> rec = run_replication(model, horizon=600, seed=1, end="stop")
>>> import numpy as np
>>> int(np.isnan(rec.journeys["end"]).sum()) > 0   # journeys still in the clinic at closing time
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from ..errors import SimulationError
from .boarding import Blocked, Boarding
from .events import Callbacks, OwnEvent
from .recorder import Columns
from .schedules import Activation
from .state import Host, Patient
from .support import Request, Support
from .timeliness import Timeliness

__all__ = ["Stop"]

_NAN = float("nan")

# what a patient is doing at the horizon
_IN_SERVICE, _WAITING, _IN_TRANSFER = "in service", "waiting", "in transfer"


class Stop:
    """The end of a replication that stops at the horizon."""

    __slots__ = ("host", "horizon", "timeliness", "support", "boarding", "activation", "arriving", "travelling",
                 "open_ids", "carry", "done")

    def __init__(self, host: Host, horizon: float, timeliness: Timeliness, support: Support, boarding: Boarding,
                 activation: Activation, arriving: Sequence[Callbacks], travelling: Sequence[Callbacks] = ()) -> None:
        self.host = host
        self.horizon = horizon
        self.timeliness = timeliness
        self.support = support
        self.boarding = boarding
        self.activation = activation
        #: the callbacks of patients scheduled to arrive (they have not: they are not journeys yet)
        self.arriving = tuple(arriving)
        #: the callbacks of patients travelling without a handoff (a diversion, a move into a freed place)
        self.travelling = tuple(travelling)
        #: the journeys still in the pathway at the horizon (known after the census)
        self.open_ids: NDArray[np.int64] | None = None
        #: summary mode: rows of journeys not yet ended, kept for a later chunk; which journeys have ended
        self.carry: dict[str, Columns] | None = None
        self.done = np.zeros(0, dtype=bool)

    # -- the census at the horizon
    def census(self, pending: list[OwnEvent], in_system: int) -> None:
        """Write the rows of everything unfinished at the horizon; ``pending`` are the events not run."""
        where: dict[int, tuple[Patient, str]] = {}
        owners: list[Patient] = []
        for ev in pending:
            if type(ev) is Patient:
                state = self.state_of(ev)
                if state is not None:
                    where[ev.jid] = (ev, state)
            elif isinstance(ev, Request):
                self.request_row(ev, waiting=False)
                owners.append(ev.patient)
        for node in self.host.nodes:
            for queue in node.queues:
                for entry in queue:
                    if type(entry) is Patient:
                        where[entry.jid] = (entry, _WAITING)
                    elif isinstance(entry, Blocked):
                        where[entry.patient.jid] = (entry.patient, _IN_SERVICE)  # boarding, in its bed
                    elif isinstance(entry, Request):
                        self.request_row(entry, waiting=True)
                        owners.append(entry.patient)
        for pt in owners:  # a visit whose own work is done waits for its results, in service
            where.setdefault(pt.jid, (pt, _IN_SERVICE))
        if len(where) != in_system:
            raise SimulationError(f"{in_system} journeys were in the pathway at the horizon, but {len(where)} "
                                  "were found in a known state: a state the end of a stopped run does not know")
        for jid in sorted(where):
            pt, state = where[jid]
            self.journey_rows(pt, state)
        self.open_ids = np.array(sorted(where), dtype=np.int64)

    def state_of(self, pt: Patient) -> str | None:
        """What a patient with a pending event is doing (None: it has not arrived yet)."""
        cb = pt.callbacks
        host = self.host
        if cb is host.finished or cb is self.support.own_done or cb is host.held:
            return _IN_SERVICE
        if cb is host.transferred or cb is self.boarding.reserved or any(cb is a for a in self.travelling):
            return _IN_TRANSFER
        if cb is self.activation.team_ready:
            return _WAITING
        if any(cb is a for a in self.arriving):
            return None
        raise SimulationError(f"a patient at {pt.node.name} was in a state the end of a stopped run does not know")

    def journey_rows(self, pt: Patient, state: str) -> None:
        """The rows of a journey in progress: its current visit, the journey, its standards."""
        rec = self.host.recorder
        if state == _IN_SERVICE:
            rec.add_visit((pt.jid, pt.node.index, pt.arr, pt.start, _NAN, pt.svc, _NAN, 0, _NAN))
        elif state == _WAITING:
            rec.add_visit((pt.jid, pt.node.index, pt.arr, _NAN, _NAN, _NAN, _NAN, 0, _NAN))
        rec.add_journey((pt.jid, pt.k, pt.entry, pt.t0, _NAN, -1, pt.ndef, 0, -1))  # no exit, no outcome yet
        if self.timeliness.class_standards[pt.k]:
            self.timeliness.judge_open(pt, self.horizon)

    def request_row(self, rq: Request, waiting: bool) -> None:
        """A support request unfinished at the horizon: waiting, in service, or its result on the way back."""
        started = not waiting
        back = started and rq.callbacks is self.support.request_back
        self.host.recorder.add_request((rq.patient.jid, rq.r, rq.t_req, rq.t_start if started else _NAN,
                                        rq.t_end if back else _NAN, _NAN, rq.sdef if back else 0, 0))

    # -- which rows reach the statistics, and when
    def settle(self, tables: dict[str, Columns], final: bool) -> tuple[dict[str, Columns], NDArray[np.int64] | None]:
        """The rows to reduce now, and the journeys in progress among them (at the end of the run).

        A chunk during the run passes the rows of journeys that have ended and keeps the
        others; the end of the run passes everything, with the times after the horizon
        that rows planned (a transfer's arrival, a team's readiness) made ``NaN``.
        """
        if self.carry is not None:
            tables = {name: {col: np.concatenate([self.carry[name][col], values]) for col, values in cols.items()}
                      for name, cols in tables.items()}
            self.carry = None
        if final:
            self.unplanned(tables)
            return tables, self.open_ids
        ended = tables["journeys"]["journey"]
        if ended.size and ended.max() >= self.done.size:
            self.done = np.concatenate([self.done, np.zeros(int(ended.max()) + 1 - self.done.size, dtype=bool)])
        self.done[ended] = True
        passed: dict[str, Columns] = {}
        kept: dict[str, Columns] = {}
        for name, cols in tables.items():
            jids = cols["journey"]
            ok = np.zeros(jids.size, dtype=bool)
            known = jids < self.done.size
            ok[known] = self.done[jids[known]]
            passed[name] = {col: values[ok] for col, values in cols.items()}
            kept[name] = {col: values[~ok] for col, values in cols.items()}
        self.carry = kept
        return passed, None

    def unplanned(self, tables: dict[str, Columns]) -> None:
        """Make ``NaN`` the times at or after the horizon that rows were given when planned."""
        h = tables["handoffs"]
        late = h["arrive"] >= self.horizon
        if late.any():
            h["arrive"] = np.where(late, np.nan, h["arrive"])
            h["delay"] = np.where(late, np.nan, h["delay"])
        a = tables["activations"]
        late = a["ready"] >= self.horizon
        if late.any():
            a["ready"] = np.where(late, np.nan, a["ready"])
            a["team_wait"] = np.where(late, np.nan, a["team_wait"])
