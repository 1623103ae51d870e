"""Warnings about a valid model: what it will do that its author may not expect.

A model can be valid and still give results that mislead: a microsystem that
no patient will visit (every route to it closed), or one offered more work than
its servers can do (offered load ``rho >= 1``, see :mod:`journeysim.model.traffic`),
whose queue and waits then grow with the horizon instead of settling. These are
reported as :class:`~journeysim.errors.Problem` items, by key path, by
``journeysim validate``, ``run`` and ``analyze``, in the ``warnings`` list of
the JSON and at the top of the text summary and the HTML report.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass, per_day
>>> from journeysim.model.mesosystem import Model
>>> ward = Model([Microsystem("Ward", capacity=24, service=Exponential(3 * 1440))],
...              classes=[PatientClass("emergency", entry="Ward", rate=per_day(10))])
>>> [str(w) for w in model_warnings(ward)]
['microsystems[0] (Ward): offered load 1.25 >= 1: 30 servers busy on average for 24; unstable, so its queue
and waits grow with the horizon']
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import Problem
from .mesosystem import Model
from .traffic import OfferedLoad, offered_load

__all__ = ["model_warnings"]


def model_warnings(model: Model, load: Mapping[str, OfferedLoad] | None = None) -> list[Problem]:
    """Every warning about ``model``, by the key path of the microsystem concerned.

    Parameters
    ----------
    model : Model
    load : mapping, optional
        ``offered_load(model)``, if already computed.
    """
    load = offered_load(model) if load is None else load
    idle = set(model.idle_microsystems())
    out = []
    for i, m in enumerate(model.microsystems):
        path = f"microsystems[{i}] ({m.name})"
        if m.name in idle:
            out.append(Problem(path, "no patient will visit this microsystem: every route to it has probability 0 "
                                     "or is taken only by classes with arrival rate 0; its results are empty"))
        rho = load[m.name]
        # a queue bounded by construction (a limit, balking, patience) cannot grow with the horizon: the
        # excess load is turned away or lost, which the run's rejected/balked/reneged shares report
        if rho.unstable and not m.queue_bounded:
            out.append(Problem(path, f"offered load {rho.load:.3g} >= 1: {rho.erlangs:.3g} servers busy on average "
                                     f"for {rho.servers:.3g}; unstable, so its queue and waits grow with the horizon"))
    return out
