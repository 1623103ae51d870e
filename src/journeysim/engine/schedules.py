"""Capacity that follows a weekly (or ``period_days``) schedule, and teams that are activated and get ready.

**Capacity schedules.** A microsystem whose capacity changes during the week (or its
schedule's period of ``period_days``; "week" below) has a
:class:`Tick`, its own pending event at each change. At a change the capacity is
set and, if it rose, the first in line are served; a fall takes no server away
(a patient in service finishes). After the horizon, with nobody waiting, the tick
sleeps (``node.dormant``) and whoever comes next wakes it up to the current piece,
so that a long drain does not cost one event per piece of every week.

**Activation and team-ready.** A visit that needs its team (a cath lab at night)
waits on arrival until the team is ready: the team is called at the earliest
activation the journey made (a milestone, a handoff's pre-activation) or, failing
that, at the arrival; it is ready a team-ready time later, drawn from the piece of
the week the call fell in. Each wait is an ``activations`` row.

Streams: ``team_ready/{node}`` (``/{n}`` for the n-th other distribution of the
week), ``activation/{node}/{j}``, ``preactivate/{handoff}/{node}`` and their ``/lag``.

Examples
--------
>>> from journeysim.engine.plan import CapacityPiece
>>> piece_at([CapacityPiece(0.0, 1), CapacityPiece(480.0, 2), CapacityPiece(1020.0, 1)], 600.0)
1
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence

from ..model.conditions import Slot
from .events import NORMAL, Callbacks, OwnEvent
from .plan import ActivationPlan, CapacityPiece, Plan
from .state import Host, Node, Patient, Trigger
from .streams import Duration, Samplers

__all__ = ["Tick", "CapacitySchedules", "TeamReady", "Activation", "piece_at"]


def piece_at(pieces: Sequence[CapacityPiece], minute: float) -> int:
    """Index of the piece of the week that ``minute`` (of the week) falls in."""
    return bisect_right([p.start for p in pieces], minute) - 1


class Tick(OwnEvent):
    """A change of a microsystem's capacity; its own pending simpy event."""

    __slots__ = ("node", "pieces", "piece", "week", "period")

    def __init__(self, node: Node, pieces: tuple[CapacityPiece, ...], period: float) -> None:
        self.node = node
        self.pieces = pieces
        self.piece = 0
        #: how many whole periods (weeks unless ``period_days``) have passed, of ``period`` minutes each
        self.week = 0
        self.period = period


class CapacitySchedules:
    """The capacity schedules of one replication."""

    __slots__ = ("host", "env", "schedule", "horizon", "ticks", "tick_done")

    def __init__(self, host: Host, p: Plan, horizon: float) -> None:
        self.host = host
        self.env = host.env
        self.schedule = host.schedule
        self.horizon = horizon
        self.ticks = [Tick(node, pieces, np_.period) for node, np_ in zip(host.nodes, p.nodes)
                      if (pieces := np_.capacity_schedule) is not None]
        self.tick_done: Callbacks = (self.tick,)

    def wire(self) -> None:
        """Start each scheduled microsystem at Monday 00:00's capacity; wake a sleeping schedule on arrival."""
        for ev in self.ticks:
            ev.node.cap = ev.pieces[0].capacity
            for v in ev.node.visits:
                v.add_arrival_handler(self.on_arrival)

    def begin(self) -> None:
        """Schedule each microsystem's first change (before any arrival: equal times run in this order)."""
        for ev in self.ticks:
            self.next_tick(ev)

    def on_arrival(self, pt: Patient, node: Node, t: float) -> bool:
        """Arrival handler: the capacity is the current piece's."""
        if node.dormant is not None:
            self.wake(node, t)
        return False

    def tick(self, ev: Tick) -> None:
        node = ev.node
        t = self.env.now
        node.cap = ev.pieces[ev.piece].capacity
        while node.nwait and node.busy < node.cap:
            self.host.serve_next(node, t)
        if t < self.horizon or node.nwait:
            self.next_tick(ev)
        else:
            # After the horizon with nobody waiting, the capacity matters again only when someone
            # comes: ticking every boundary until the last journey ends would cost one event per
            # piece of every week the drain lasts (forever, with a stay of 10^20 minutes).
            node.dormant = ev

    def wake(self, node: Node, t: float) -> bool:
        """Bring a dormant capacity schedule up to ``t`` and tick again from there (returns True)."""
        ev = node.dormant
        if not isinstance(ev, Tick):
            raise TypeError(f"{node.name}: a dormant schedule must be a Tick, got {ev!r}")
        node.dormant = None
        ev.week = int(t // ev.period)
        ev.piece = piece_at(ev.pieces, t - ev.week * ev.period)
        node.cap = ev.pieces[ev.piece].capacity
        self.next_tick(ev)
        return True

    def next_tick(self, ev: Tick) -> None:
        ev.callbacks = self.tick_done
        ev.piece += 1
        if ev.piece == len(ev.pieces):
            ev.piece = 0
            ev.week += 1
        at = ev.week * ev.period + ev.pieces[ev.piece].start
        self.schedule(ev, NORMAL, at - self.env.now)


class TeamReady:
    """A microsystem's team-ready time through the week (or period): ``durations[j]`` for calls from minute
    ``starts[j]`` of each ``period`` minutes."""

    __slots__ = ("starts", "durations", "period")

    def __init__(self, starts: list[float], durations: list[Duration], period: float) -> None:
        self.starts = starts
        self.durations = durations
        self.period = period

    def after(self, t: float) -> float:
        """The time until the team is ready, for a call at ``t``."""
        return self.durations[bisect_right(self.starts, t % self.period) - 1].sample()


class Activation:
    """Activations and team-ready waits of one replication."""

    __slots__ = ("host", "env", "schedule", "samplers", "team", "add_activation", "team_ready")

    def __init__(self, host: Host, p: Plan, samplers: Samplers) -> None:
        self.host = host
        self.env = host.env
        self.schedule = host.schedule
        self.samplers = samplers
        #: per node: None, or its team-ready time through the week
        self.team: list[TeamReady | None] = [
            None if np_.team_ready is None else TeamReady(
                [piece.start for piece in np_.team_ready],
                [samplers.timed(piece.ready.stream, "ready", piece.ready.distribution) for piece in np_.team_ready],
                np_.period,
            )
            for np_ in p.nodes
        ]
        self.add_activation = host.recorder.add_activation
        self.team_ready: Callbacks = (self.ready,)

    def wire(self, p: Plan) -> None:
        """Make the visits that need their team wait for it."""
        for node, np_ in zip(self.host.nodes, p.nodes):
            for v, vp in zip(node.visits, np_.by_class):
                if vp.needs_team:
                    v.add_arrival_handler(self.wait_for_team)

    def trigger(self, a: ActivationPlan, slots: Mapping[str, Slot], nodes: Mapping[str, int]) -> Trigger:
        """An activation with its streams (and its condition compiled)."""
        return Trigger(a.target, a.probability, self.samplers.uniform(a.stream),
                       self.samplers.timed(f"{a.stream}/lag", "lag", a.lag),
                       None if a.when is None else a.when.compile(slots, nodes))

    def fire(self, pt: Patient, triggers: tuple[Trigger, ...], t: float) -> None:
        """The activations made at a milestone reached at ``t``.

        The uniform is drawn whether or not the condition holds, so that each patient
        keeps its draw of the stream between scenarios (common random numbers).
        """
        for a in triggers:
            if a.draw() < a.probability and (a.holds is None or a.holds(pt.attrs, pt.ready, t)):
                self.activate(pt, a.target, t + a.lag.sample())

    def activate(self, pt: Patient, i: int, t: float) -> None:
        """The team of node ``i`` is called for ``pt`` at ``t``; the earliest call counts."""
        if pt.ready is None:
            pt.ready = {}
        elif i in pt.ready and pt.ready[i][0] <= t:
            return
        team = self.team[i]
        if team is None:
            raise TypeError(f"node {i} has no team to activate")
        pt.ready[i] = (t, t + team.after(t))

    def wait_for_team(self, pt: Patient, node: Node, t: float) -> bool:
        """Arrival handler: the visit waits until the team is ready (True while it waits)."""
        i = node.index
        called = pt.ready.pop(i, None) if pt.ready else None
        if called is None or called[0] > t:  # no call has come yet: the arrival activates the team
            self.activate(pt, i, t)
            assert pt.ready is not None  # activate() made it
            called = pt.ready.pop(i)
        t_call, t_ready = called
        self.add_activation((pt.jid, i, t_call, t_ready, t))
        if t_ready > t:
            pt.callbacks = self.team_ready
            self.schedule(pt, NORMAL, t_ready - t)
            return True
        return False

    def ready(self, pt: Patient) -> None:
        """The team is ready: the visit starts, on the bed held for it or as a new arrival would."""
        node = pt.node
        t = self.env.now
        if pt.reserved:
            pt.reserved = False
            node.busy -= 1  # start() takes the bed again
            self.host.start(pt, node, t)
        else:
            self.host.enter(pt, node, t)
