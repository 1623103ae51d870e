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

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..run.results import RunResult
from ..run.stats import Estimate, mean_ci
from .exact import ExactQuality, exact_quality
from .figures import Replications, Share

__all__ = ["DependenceRow", "DependenceResult", "dependence_result", "dependence"]


@dataclass(frozen=True, slots=True)
class DependenceRow:
    """Journeys free of element defects beside the independent product, for the pathway or one class.

    Attributes
    ----------
    simulated : Estimate
        Share of journeys with no defect of a microsystem, handoff or request.
    independent_product : float
        The exact graph solution without the frailty.
    difference : Estimate
        Simulated minus product, per replication.
    exact : float or None
        The exact value with the frailty; ``None`` when load-dependent defects make it inexact.
    """

    simulated: Estimate
    independent_product: float
    difference: Estimate
    exact: float | None

    def to_dict(self) -> dict[str, Any]:
        """``{simulated, independent_product, difference, exact}`` (JSON-ready)."""
        def finite(x: float | None) -> float | None:  # NaN: the exact analysis is not available
            return None if x is None or not math.isfinite(x) else x

        return {"simulated": self.simulated.to_dict(), "independent_product": finite(self.independent_product),
                "difference": self.difference.to_dict(), "exact": finite(self.exact)}


@dataclass(frozen=True, slots=True)
class DependenceResult:
    """How far system quality departs from the independent product (see the module docstring).

    Attributes
    ----------
    correlation : float
        The frailty's correlation.
    propagation : mapping of str to float
        The factor of each handoff that propagates an information defect.
    pathway : DependenceRow
        The pathway classes together.
    by_class : mapping of str to DependenceRow
    """

    correlation: float
    propagation: Mapping[str, float]
    pathway: DependenceRow
    by_class: Mapping[str, DependenceRow]

    def to_dict(self) -> dict[str, Any]:
        """``{correlation, propagation, simulated, independent_product, difference, exact, by_class}`` (JSON-ready)."""
        return {"correlation": self.correlation, "propagation": dict(self.propagation), **self.pathway.to_dict(),
                "by_class": {name: row.to_dict() for name, row in self.by_class.items()}}


def _row(share: Share, product: float, exact: float | None) -> DependenceRow:
    per_rep = share.per_replication()
    return DependenceRow(share.estimate(), product, mean_ci(per_rep[np.isfinite(per_rep)] - product), exact)


def dependence_result(result: RunResult, exact: ExactQuality | None = None,
                      independent: ExactQuality | None = None) -> DependenceResult:
    """Simulated quality of the elements beside the independent product (see the module docstring).

    Parameters
    ----------
    result : RunResult
    exact : ExactQuality, optional
        The model's exact quality, with its frailty (solved here when not given).
    independent : ExactQuality, optional
        The exact quality without the frailty (``exact_quality(model, independent=True)``);
        without a frailty it is ``exact`` itself.
    """
    model = result.scenario.model
    exact = exact if exact is not None else exact_quality(model)
    if independent is None:
        independent = exact if model.frailty.is_independent else exact_quality(model, independent=True)
    with_frailty = None if any(m.load_dependent for m in model.microsystems) else exact
    reps = Replications.of(result)
    return DependenceResult(
        correlation=model.frailty.correlation,
        propagation={h.label: h.propagation for h in model.handoffs if h.propagation != 1.0},
        pathway=_row(reps.element_quality(reps.pathway), independent.system,
                     None if with_frailty is None else with_frailty.system),
        by_class={name: _row(reps.element_quality([k]), independent.by_class[name],
                             None if with_frailty is None else with_frailty.by_class[name])
                  for k, name in enumerate(model.class_names)},
    )


def dependence(result: RunResult) -> dict[str, Any]:
    """:func:`dependence_result` as a JSON-ready dict.

    Returns
    -------
    dict
        ``correlation`` (the frailty's), ``propagation`` (factor per handoff that
        propagates), ``simulated`` (mean, ci95), ``independent_product``,
        ``difference`` (simulated minus product: mean, ci95), ``exact`` (the exact
        value with the frailty; ``None`` when load-dependent defects make it
        inexact) and the same per class under ``by_class``.
    """
    return dependence_result(result).to_dict()
