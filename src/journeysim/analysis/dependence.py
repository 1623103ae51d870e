"""How far system quality departs from the independent product.

The product formula assumes that a journey's defects are independent. A model
relaxes it with a patient frailty (defects cluster in the same journeys,
:mod:`journeysim.model.frailty`) and with propagation (an information defect raises
the receiving microsystem's defect probability). :func:`dependence` sets the
simulated share of journeys free of element defects beside the independent
product of the element qualities (the exact graph solution without the
frailty), with the difference and its 95% interval across replications.

Missed standards are left out of both: the product cannot see time. Propagation
alone never moves system quality, since it acts only after an information defect
has already made the journey defective; it lowers the receiving microsystem's
measured quality instead, so a product of *measured* item qualities
under-predicts the all-or-none share.

Examples
--------
>>> from journeysim.model.distributions import Fixed
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
>>> from journeysim.model.frailty import Frailty
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.analysis.result import simulate
>>> m = Model([Microsystem("A", service=Fixed(1), defect=0.2), Microsystem("B", service=Fixed(1), defect=0.2)],
...           [Handoff("A", "B")], classes=[PatientClass("p", entry="A", rate=1.0)], frailty=Frailty(0.3))
>>> d = dependence(simulate(m, horizon=5_000, replications=2, seed=1))
>>> round(d["independent_product"], 4), round(d["exact"], 4)   # 0.8 * 0.8, and E[(1 - 0.2 Z)^2]
(0.64, 0.652)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..run.results import RunResult
from ..run.stats import mean_ci, proportion_ci
from .exact import exact_quality

__all__ = ["dependence"]


def dependence(result: RunResult) -> dict[str, Any]:
    """Simulated quality of the elements beside the independent product (see the module docstring).

    Returns
    -------
    dict
        ``correlation`` (the frailty's), ``propagation`` (factor per handoff that
        propagates), ``simulated`` (mean, ci95), ``independent_product``,
        ``difference`` (simulated minus product: mean, ci95), ``exact`` (the exact
        value with the frailty; ``None`` when load-dependent defects make it
        inexact) and the same per class under ``by_class``.
    """
    model = result.scenario.model
    stats = result.stats
    pathway = [k for k, c in enumerate(model.classes) if not c.background]
    done = np.array([s.class_done for s in stats])
    good = np.array([s.class_good_elements for s in stats])
    product = exact_quality(model, independent=True)
    exact = None if any(m.load_dependent for m in model.microsystems) else exact_quality(model)

    def row(n: np.ndarray, g: np.ndarray, prod: float, ex: float | None) -> dict[str, Any]:
        with np.errstate(invalid="ignore", divide="ignore"):
            share = g / n
        return {
            "simulated": proportion_ci(g, n).to_dict(),
            "independent_product": prod,
            "difference": mean_ci(share[np.isfinite(share)] - prod).to_dict(),
            "exact": ex,
        }

    out = {
        "correlation": model.frailty.correlation,
        "propagation": {h.label: h.propagation for h in model.handoffs if h.propagation != 1.0},
        **row(done[:, pathway].sum(axis=1), good[:, pathway].sum(axis=1), product.system,
              None if exact is None else exact.system),
        "by_class": {
            name: row(done[:, k], good[:, k], product.by_class[name], None if exact is None else exact.by_class[name])
            for k, name in enumerate(model.class_names)
        },
    }
    return out
