"""What a replication is made of: patients, microsystems, and the per-visit and per-handoff records.

These classes hold data only; the kernel (:mod:`~journeysim.engine.kernel`) and the
concerns (boarding, support, schedules, timeliness, defects) act on them. They live
here, below all of those modules, so that a concern can name them without
importing the kernel, which imports every concern.

Every class has ``__slots__``: an attribute read costs about what a tuple index
does, and the hot path reads them millions of times. A record field that a concern
fills is ``None`` (or empty) wherever the model does not use that concern, and the
kernel tests for ``None`` before calling it: rare work stays off the hot path.

:class:`Host` is what a concern may call on the kernel.

Examples
--------
>>> node = Node(0, "ED", capacity=2, n_ranks=1)
>>> node.busy, node.cap, node.nwait
(0, 2, 0)
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from typing import Protocol, final

from ..model.conditions import Holds
from .events import Callbacks, Clock, OwnEvent, Schedule
from .plan import DefectOdds
from .recorder import Recorder
from .streams import Duration, Sampler, Selective, Stepwise

__all__ = [
    "Patient", "Waiting", "Node", "Visit", "Transfer", "Choice", "ExitDraw", "StartWork", "RequestDraw",
    "DefectDraw", "LoadDraw", "RiskDraw", "Trigger", "HookRun", "ArrivalHandler", "Host", "StateChoice",
]


@final
class Patient(OwnEvent):
    """A patient on a journey; also its own pending simpy event (at most one at a time).

    The kernel's fields come first; then those of the concerns, under each concern's
    name. Every field is set before it is read: the arrival sets those that any step
    may read (identity, frailty, milestone slots, activations, rework owed), and the
    step that uses one of the others sets it first (``pending`` at the requests,
    ``edge`` when boarding, ``occ`` on arrival where defects rise with occupancy).
    """

    __slots__ = (
        # the kernel: identity, class, priority rank; where the patient is and the visit's times
        "jid", "k", "rank", "entry", "t0", "ndef",
        "node", "arr", "start", "svc", "own_end", "end", "work_end", "vdef", "free_at",
        # support requests: results still awaited (the visit's own work counts as one)
        "pending",
        # boarding: the handoff waited for, since when, and a bed held at the target
        "edge", "blocked_at", "reserved",
        # timeliness: earliest time of each milestone slot (None: no milestones)
        "ms",
        # activation: node -> (time the team was called, time it is ready)
        "ready",
        # defects: frailty, occupancy found on arrival, propagation factor, rework owed
        "z", "occ", "prop", "rework",
        # how the journey ends: an outcome code (Plan.outcome_names), 0 (the default exit) until a
        # named exit, or another concern that ends the journey, sets it before ``leave``
        "outcome",
        # attributes: the journey's attribute vector (only where the model has attributes or conditions)
        "attrs",
    )

    jid: int
    k: int
    rank: int
    entry: int
    t0: float
    ndef: int
    node: Node
    arr: float
    start: float
    svc: float
    own_end: float
    end: float
    work_end: float
    vdef: int
    free_at: float
    pending: int
    edge: Transfer | None
    blocked_at: float
    reserved: bool
    ms: list[float] | None
    ready: dict[int, tuple[float, float]] | None
    z: float
    occ: int
    prop: float
    rework: float
    outcome: int
    attrs: list[float]


class Waiting(Protocol):
    """Anything but a patient in a microsystem's queue (a support request, a boarding patient's place).

    When a server is free for it, the kernel calls :meth:`granted`, which takes the server.
    """

    def granted(self, node: Node, t: float) -> None:
        """A server of ``node`` is free for this entry at ``t``."""


class Node:
    """A microsystem during a replication: its servers, its queues, and its visits' records by class."""

    __slots__ = ("index", "name", "busy", "cap", "nwait", "queues", "visits", "exit_delay", "draw_exit", "dormant",
                 "room")

    def __init__(self, index: int, name: str, capacity: int, n_ranks: int) -> None:
        self.index = index
        self.name = name
        #: servers in use; servers now; entries waiting (in all queues)
        self.busy = 0
        self.cap = capacity
        self.nwait = 0
        #: one queue per priority rank, highest first
        self.queues: list[deque[Patient | Waiting]] = [deque() for _ in range(n_ranks)]
        self.visits: list[Visit] = []
        #: the bed is kept this long when a patient leaves the pathway from here (fixed when no draw)
        self.exit_delay = 0.0
        self.draw_exit: Sampler | None = None
        #: schedules: the capacity tick that sleeps after the horizon, else None
        self.dormant: OwnEvent | None = None
        #: queue limits: called as ``room(node, t)`` when a queued patient starts its visit, where
        #: patients may board elsewhere for a place in this limited queue; else None
        self.room: Callable[[Node, float], None] | None = None


class Visit:
    """What a visit of one class to one microsystem needs; ``node.visits[k]``."""

    __slots__ = ("service", "draw_service", "work", "on_arrive", "defects", "load", "edge", "choice", "depart",
                 "exits", "route")

    def __init__(self, service: float, draw_service: Sampler | None) -> None:
        #: the visit's own work: ``service`` when ``draw_service`` is None, else a draw
        self.service = service
        self.draw_service = draw_service
        #: rare work at the start (rework, milestones at step ends, support requests)
        self.work: StartWork | None = None
        #: handlers run on arrival, in order, until one takes the patient
        self.on_arrive: tuple[ArrivalHandler, ...] | None = None
        #: defects: the visit's check, or the per-visit probabilities (load, frailty, propagation)
        self.defects: DefectDraw | None = None
        self.load: LoadDraw | None = None
        #: routing: the certain handoff, or a random choice, or neither (everyone leaves)
        self.edge: Transfer | None = None
        self.choice: Choice | None = None
        #: milestones and activations on leaving
        self.depart: HookRun | None = None
        #: named exits of a patient who leaves the pathway (None: the default exit only)
        self.exits: ExitDraw | None = None
        #: routing by state (attributes): asked when neither ``edge`` nor ``choice`` gave a handoff
        self.route: StateChoice | None = None

    def add_arrival_handler(self, handler: ArrivalHandler) -> None:
        """Run ``handler`` on arrival, after those added before it (wiring)."""
        self.on_arrive = (*(self.on_arrive or ()), handler)

    def start_work(self) -> StartWork:
        """The visit's rare work at the start, made when first needed (wiring)."""
        if self.work is None:
            self.work = StartWork()
        return self.work


class Transfer:
    """A handoff taken by one class."""

    __slots__ = ("index", "target", "delay", "draw_delay", "defects", "risk", "hook", "boarding")

    def __init__(self, index: int, target: Node, delay: float, draw_delay: Sampler | None) -> None:
        self.index = index
        self.target = target
        self.delay = delay
        self.draw_delay = draw_delay
        self.defects: DefectDraw | None = None
        #: defects drawn per patient (frailty, recovery, propagation) instead of ``defects``
        self.risk: RiskDraw | None = None
        self.hook: HookRun | None = None
        #: the patient keeps the bed until one is free at the target
        self.boarding = False


class Choice:
    """A random choice of handoff: ``edges[j]`` when the draw falls below ``cumulative[j]``; else the patient leaves."""

    __slots__ = ("edges", "cumulative", "draw", "n")

    def __init__(self, edges: tuple[Transfer, ...], cumulative: tuple[float, ...], draw: Sampler) -> None:
        self.edges = edges
        self.cumulative = cumulative
        self.draw = draw
        self.n = len(edges)

    def pick(self) -> Transfer | None:
        """The handoff taken, or None: the patient leaves the pathway."""
        j = bisect_right(self.cumulative, self.draw())
        return self.edges[j] if j < self.n else None


class ExitDraw:
    """The named exits of a visit of one class: the one a leaving patient takes, and its delay.

    ``outcomes[j]`` when the draw falls below ``cumulative[j]`` (probabilities given that the
    patient leaves); else the default exit, whose delay is the microsystem's ``exit_delay``.
    """

    __slots__ = ("outcomes", "cumulative", "draw", "delays", "default", "n")

    def __init__(self, outcomes: tuple[int, ...], cumulative: tuple[float, ...], draw: Sampler | None,
                 delays: tuple[Duration, ...], default: Duration) -> None:
        self.outcomes = outcomes
        self.cumulative = cumulative
        #: None when one named exit takes every leaving patient
        self.draw = draw
        self.delays = delays
        self.default = default
        self.n = len(outcomes)

    def choose(self, pt: Patient) -> float:
        """Set ``pt.outcome`` to the exit taken (a named one, or the default left as it is); return its delay."""
        j = 0 if self.draw is None else bisect_right(self.cumulative, self.draw())
        if j < self.n:
            pt.outcome = self.outcomes[j]
            return self.delays[j].sample()
        return self.default.sample()


class StartWork:
    """The rarer work at the start of a visit of one class to one microsystem."""

    __slots__ = ("rework", "at_steps", "steps", "requests", "select")

    def __init__(self) -> None:
        #: defects: a caught information defect's rework comes first here
        self.rework = False
        #: timeliness: hooks at the ends of steps, and the step sampler (or the fixed ends)
        self.at_steps: tuple[tuple[int, HookRun], ...] = ()
        self.steps: Stepwise | Selective | tuple[float, ...] = ()
        #: support: each request the visit may make
        self.requests: tuple[RequestDraw, ...] = ()
        #: steps selected by attribute: the length of the patient's visit, its steps' ends set (engine/steps.py)
        self.select: Callable[[Patient], float] | None = None


class RequestDraw:
    """A support request that a visit makes with ``probability``, decided by ``draw``."""

    __slots__ = ("request", "probability", "draw")

    def __init__(self, request: int, probability: float, draw: Sampler) -> None:
        self.request = request
        self.probability = probability
        self.draw = draw


class DefectDraw:
    """The defect check of an element for one class, with its two streams (see :mod:`~journeysim.engine.plan`)."""

    __slots__ = ("p_any", "draw_any", "odds", "draw_which", "chances")

    def __init__(self, p_any: float, draw_any: Sampler, odds: tuple[DefectOdds, ...], draw_which: Sampler) -> None:
        self.p_any = p_any
        self.draw_any = draw_any
        self.odds = odds
        self.draw_which = draw_which
        #: ``(code, p)`` of each defect, for a frail patient's own probabilities
        self.chances = tuple((o.code, o.p) for o in odds)


class LoadDraw:
    """A visit's defects whose probabilities are the patient's own (load, frailty, propagation)."""

    __slots__ = ("chances", "per_wait_hour", "per_occupant", "draw_any", "draw_which", "multipliers")

    def __init__(self, chances: tuple[tuple[int, float], ...], per_wait_hour: float, per_occupant: float,
                 draw_any: Sampler, draw_which: Sampler, multipliers: Multipliers | None = None) -> None:
        self.chances = chances
        self.per_wait_hour = per_wait_hour
        self.per_occupant = per_occupant
        self.draw_any = draw_any
        self.draw_which = draw_which
        #: factors on the chances for patients with some attributes (None: none)
        self.multipliers = multipliers


class RiskDraw:
    """A handoff's defects drawn per patient, with recovery and propagation."""

    __slots__ = ("chances", "draw_any", "draw_which", "catch", "draw_catch", "rework", "propagation", "multipliers")

    def __init__(self, chances: tuple[tuple[int, float], ...], draw_any: Sampler, draw_which: Sampler,
                 catch: float, draw_catch: Sampler | None, rework: Duration, propagation: float,
                 multipliers: Multipliers | None = None) -> None:
        self.chances = chances
        self.draw_any = draw_any
        self.draw_which = draw_which
        self.catch = catch
        self.draw_catch = draw_catch
        self.rework = rework
        self.propagation = propagation
        #: factors on the chances for patients with some attributes (None: none)
        self.multipliers = multipliers


#: compiled defect multipliers: ``(holds, factor, codes or None for all)``
Multipliers = tuple[tuple[Holds, float, "frozenset[int] | None"], ...]


class Trigger:
    """An activation made at a milestone: the team of ``target`` is called with ``probability`` after ``lag``,
    for patients whose attributes satisfy ``holds`` (None: for every patient)."""

    __slots__ = ("target", "probability", "draw", "lag", "holds")

    def __init__(self, target: int, probability: float, draw: Sampler, lag: Duration,
                 holds: Holds | None = None) -> None:
        self.target = target
        self.probability = probability
        self.draw = draw
        self.lag = lag
        self.holds = holds


class HookRun:
    """What happens at a milestone of one class: the slots it records and the activations it makes."""

    __slots__ = ("recorded", "triggers")

    def __init__(self, recorded: tuple[int, ...], triggers: tuple[Trigger, ...]) -> None:
        self.recorded = recorded
        self.triggers = triggers


class StateChoice(Protocol):
    """A choice of handoff by the patient's state (:class:`~journeysim.engine.attributes.ConditionalChoice`)."""

    def pick(self, pt: Patient, t: float) -> Transfer | None:
        """The handoff ``pt`` takes on leaving at ``t``, or None: it leaves the pathway."""


#: ``handler(patient, node, t)`` run on arrival; True when it took the patient (the kernel stops there)
ArrivalHandler = Callable[[Patient, Node, float], bool]


class Host(Protocol):
    """What a concern may use of the kernel (:class:`~journeysim.engine.kernel.Kernel`)."""

    nodes: list[Node]
    recorder: Recorder
    schedule: Schedule
    #: the callbacks that end a visit (:meth:`finish`), a transfer, and an exit delay
    finished: Callbacks
    transferred: Callbacks
    held: Callbacks

    @property
    def env(self) -> Clock:
        """The simulation clock: ``env.now`` is the time of the event being processed."""

    def arrive(self, pt: Patient, node: Node, t: float) -> None:
        """``pt`` arrives at ``node``: the arrival handlers, then a server or the queue."""

    def arrival_work(self, pt: Patient, node: Node, t: float, handlers: tuple[ArrivalHandler, ...]) -> bool:
        """Run arrival handlers in order; True when one took the patient."""

    def enter(self, pt: Patient, node: Node, t: float) -> None:
        """``pt`` takes a server of ``node`` if one is free, else queues (no arrival handlers)."""

    def start(self, pt: Patient, node: Node, t: float) -> None:
        """``pt`` starts its visit on a server of ``node`` (the caller knows one is free)."""

    def wake(self, node: Node, t: float) -> None:
        """Bring ``node``'s sleeping capacity schedule up to ``t`` (``node.dormant`` is not None)."""

    def serve_next(self, node: Node, t: float) -> None:
        """Give a free server of ``node`` to the first in line."""

    def finish(self, pt: Patient) -> None:
        """The end of ``pt``'s visit at ``pt.end``."""

    def release(self, pt: Patient, node: Node, work_end: float, t: float, nd: int) -> None:
        """Record ``pt``'s visit to ``node``, free its server at ``t`` and run the departure hook."""

    def depart(self, pt: Patient, edge: Transfer, t: float, blocked: float) -> float:
        """``pt`` leaves over ``edge`` at ``t``: its hook, defects and record; returns the delay."""

    def leave(self, pt: Patient, t: float) -> None:
        """``pt`` leaves the pathway at ``t``."""
