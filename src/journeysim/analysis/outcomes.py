"""Exact outcome shares: where journeys end, from the routing alone (no simulation).

A class's journey is an absorbing Markov chain over the clinical microsystems:
the handoffs are its transient transitions ``Q``, and each exit (every named exit,
and the default exit, what is left) an absorbing state, reached from microsystem
``n`` with probability ``R[n, o]``. The probability of ending in outcome ``o`` is
``alpha N R`` with ``N = (I - Q)^-1`` the fundamental matrix and ``alpha`` the entry
probabilities; ``alpha N`` is the expected number of visits to each microsystem
(:func:`~journeysim.model.traffic.expected_visits`), so the share of ``o`` is
``sum_n visits(n) * R[n, o]``. The pathway's share weights the pathway classes
(not background ones) by arrival rate, as the exact system quality does.

Nothing else of the model matters: queues, capacities and times do not change
where a journey ends (a way of ending that depends on them, such as being turned
away by a full queue, is not one of these outcomes).

Examples
--------
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
>>> from journeysim.model.exits import Exit
>>> from journeysim.model.mesosystem import Model
>>> m = Model([Microsystem("A"), Microsystem("B")], [Handoff("A", "B", probability=0.5)],
...           classes=[PatientClass("all", entry="A", rate=0.1)], exits=[Exit("B", "death", 0.1)])
>>> {k: round(v, 6) for k, v in exact_outcomes(m).pathway.items()}   # 0.5 * 0.1 die at B
{'discharged': 0.95, 'death': 0.05}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..model.exits import DEFAULT_EXIT, exit_probabilities, outcome_names
from ..model.mesosystem import Model
from ..model.routing import exact_unavailable
from ..model.traffic import expected_visits

__all__ = ["ExactOutcomes", "exact_outcomes", "outcomes_unavailable"]


@dataclass(frozen=True, slots=True)
class ExactOutcomes:
    """The exact share of journeys ending in each outcome (the default exit and the named exits).

    Attributes
    ----------
    pathway : mapping of str to float
        ``pathway[outcome]``: pathway classes weighted by arrival rate (background classes left out).
    by_class : mapping of str to mapping of str to float
        ``by_class[class][outcome]``.
    """

    pathway: Mapping[str, float]
    by_class: Mapping[str, Mapping[str, float]]


def outcomes_unavailable(model: Model) -> str | None:
    """Why the exact outcome shares of ``model`` cannot be solved from its routing, or ``None`` when they can.

    Examples
    --------
    >>> from journeysim.model.elements import Microsystem, PatientClass
    >>> outcomes_unavailable(Model([Microsystem("A", capacity=1, queue_limit=0)],
    ...                            classes=[PatientClass("all", entry="A", rate=0.1)]))
    'queue rules (limits, patience, balking) end journeys or send them elsewhere by congestion'
    """
    if model.has_queue_rules:
        return "queue rules (limits, patience, balking) end journeys or send them elsewhere by congestion"
    return exact_unavailable(model, defects=False)


def _class_shares(model: Model, class_name: str, visits: Mapping[str, float]) -> dict[str, float]:
    """``sum_n visits(n) * R[n, o]`` for one class: the absorption probabilities from its entries.

    Named exits leave from microsystems whose routing reads no state (the model checks it),
    so their probabilities hold for every visit there; every journey ends, so the default
    exit takes what the named exits leave.
    """
    shares = dict.fromkeys(outcome_names(model.exits), 0.0)
    for node, v in visits.items():
        for outcome, p in exit_probabilities(model.exits, node, class_name).items():
            shares[outcome] += v * p
    shares[DEFAULT_EXIT] = max(0.0, 1.0 - sum(shares.values()))
    return shares


def exact_outcomes(model: Model) -> ExactOutcomes:
    """The exact outcome shares of ``model`` (see the module docstring).

    Parameters
    ----------
    model : Model

    Returns
    -------
    ExactOutcomes
    """
    visits = expected_visits(model)
    by_class = {k.name: _class_shares(model, k.name, visits[k.name]) for k in model.classes}
    pathway = [k for k in model.classes if not k.background]
    total = sum(k.rate for k in pathway)
    # as the exact system quality: by arrival rate, or plainly averaged when no pathway class arrives
    weights = {k.name: (k.rate / total if total > 0 else 1.0 / len(pathway)) for k in pathway}
    overall = {o: sum(w * by_class[name][o] for name, w in weights.items()) for o in outcome_names(model.exits)}
    return ExactOutcomes(overall, by_class)
