"""The cost of the journeys, and the cost of poor quality.

Elements carry a :class:`~journeysim.model.elements.Cost`: per visit and per minute at
a microsystem (the minutes the patient holds a server), per transfer and per
minute of transfer on a handoff, per request and per minute of its return delay,
and per defect by name or kind; a :class:`~journeysim.model.milestones.Standard` has a
cost per miss. The engine adds each counted journey's costs by class and
component (:data:`~journeysim.engine.aggregate.COST_COMPONENTS`), in full and in summary
mode alike.

Reported, with Student-t 95% intervals across replications:

* **cost per journey**: total cost / journeys;
* **cost per defect-free journey**: total cost / defect-free journeys, what the
  system spends for each journey that went right (missed standards count as defects);
* **cost of poor quality**: the share of the cost that is defects and misses;
* each component per journey; and the same per class.

Examples
--------
>>> from journeysim.model.distributions import Fixed
>>> from journeysim.model.elements import Cost, Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.analysis.result import simulate
>>> m = Model([Microsystem("A", service=Fixed(10), defect=0.5,
...                        cost=Cost(per_visit=100, per_minute=2, defects={"defect": 50}))],
...           classes=[PatientClass("p", entry="A", rate=0.1)], currency="USD")
>>> c = cost_result(simulate(m, horizon=50_000, replications=2, seed=3))
>>> c.pathway.components["visits"].mean   # 100 + 2 * 10 per visit, exactly
120.0
>>> 140 < c.pathway.per_journey.mean < 150   # plus 50 * 0.5 on average
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.aggregate import COST_COMPONENTS
from ..run.results import RunResult
from ..run.stats import Estimate, mean_ci
from .figures import Replications

__all__ = ["CostBlock", "CostResult", "cost_result", "cost_summary"]


@dataclass(frozen=True, slots=True)
class CostBlock:
    """Cost figures of the pathway or of one class, each a mean with its 95% CI across replications.

    Attributes
    ----------
    per_journey, per_defect_free_journey : Estimate
    poor_quality_share : Estimate
        Share of the cost that is defects and misses.
    components : mapping of str to Estimate
        Each of :data:`~journeysim.engine.aggregate.COST_COMPONENTS` per journey.
    total_per_replication : Estimate
    """

    per_journey: Estimate
    per_defect_free_journey: Estimate
    poor_quality_share: Estimate
    components: Mapping[str, Estimate]
    total_per_replication: Estimate

    def to_dict(self) -> dict[str, Any]:
        """The figures by name, each ``{mean, ci95}`` (JSON-ready)."""
        return {"per_journey": self.per_journey.to_dict(),
                "per_defect_free_journey": self.per_defect_free_journey.to_dict(),
                "poor_quality_share": self.poor_quality_share.to_dict(),
                "components": {name: e.to_dict() for name, e in self.components.items()},
                "total_per_replication": self.total_per_replication.to_dict()}


@dataclass(frozen=True, slots=True)
class CostResult:
    """The cost of the journeys: the pathway's figures, and the same per class."""

    currency: str
    pathway: CostBlock
    by_class: Mapping[str, CostBlock]

    def to_dict(self) -> dict[str, Any]:
        """``{currency, per_journey, ..., by_class}`` (JSON-ready)."""
        return {"currency": self.currency, **self.pathway.to_dict(),
                "by_class": {name: b.to_dict() for name, b in self.by_class.items()}}


def _block(reps: Replications, classes: Sequence[int]) -> CostBlock:
    c = reps.cost(classes)
    n = reps.journeys(classes)
    total = c.sum(axis=1)
    per_journey = reps.cost_per_journey(classes)
    per_good = reps.cost_per_defect_free_journey(classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        poor = c[:, COST_COMPONENTS.index("defects")] + c[:, COST_COMPONENTS.index("misses")]
        return CostBlock(
            per_journey=mean_ci(per_journey[np.isfinite(per_journey)]),
            per_defect_free_journey=mean_ci(per_good[np.isfinite(per_good)]),
            poor_quality_share=mean_ci((poor / total)[total > 0]),
            components={name: mean_ci((c[:, i] / n)[n > 0]) for i, name in enumerate(COST_COMPONENTS)},
            total_per_replication=mean_ci(total),
        )


def cost_result(result: RunResult) -> CostResult | None:
    """Cost per journey and per defect-free journey, overall and per class (``None`` without costs)."""
    model = result.scenario.model
    if not model.has_costs:
        return None
    reps = Replications.of(result)
    return CostResult(model.currency, _block(reps, reps.pathway),
                      {name: _block(reps, [k]) for k, name in enumerate(model.class_names)})


def cost_summary(result: RunResult) -> dict[str, Any] | None:
    """:func:`cost_result` as a JSON-ready dict (``None`` without costs)."""
    cost = cost_result(result)
    return None if cost is None else cost.to_dict()
