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
>>> c = cost_summary(simulate(m, horizon=50_000, replications=2, seed=3))
>>> c["components"]["visits"]["mean"]   # 100 + 2 * 10 per visit, exactly
120.0
>>> 140 < c["per_journey"]["mean"] < 150   # plus 50 * 0.5 on average
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.aggregate import COST_COMPONENTS
from ..run.results import RunResult
from ..run.stats import mean_ci

__all__ = ["cost_summary"]


def cost_summary(result: RunResult) -> dict[str, Any] | None:
    """Cost per journey and per defect-free journey, overall and per class (``None`` without costs)."""
    model = result.scenario.model
    if not model.has_costs:
        return None
    stats = result.stats
    cost = np.array([s.class_cost for s in stats])  # (replications, classes, components)
    done = np.array([s.class_done for s in stats])
    good = np.array([s.class_good for s in stats])
    pathway = [k for k, c in enumerate(model.classes) if not c.background]

    def block(c: np.ndarray, n: np.ndarray, g: np.ndarray) -> dict[str, Any]:
        total = c.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_journey = total / n
            per_good = total / g
            poor = c[:, COST_COMPONENTS.index("defects")] + c[:, COST_COMPONENTS.index("misses")]
            return {
                "per_journey": mean_ci(per_journey[np.isfinite(per_journey)]).to_dict(),
                "per_defect_free_journey": mean_ci(per_good[np.isfinite(per_good)]).to_dict(),
                "poor_quality_share": mean_ci((poor / total)[total > 0]).to_dict(),
                "components": {name: mean_ci((c[:, i] / n)[n > 0]).to_dict() for i, name in enumerate(COST_COMPONENTS)},
                "total_per_replication": mean_ci(total).to_dict(),
            }

    return {
        "currency": model.currency,
        **block(cost[:, pathway].sum(axis=1), done[:, pathway].sum(axis=1), good[:, pathway].sum(axis=1)),
        "by_class": {name: block(cost[:, k], done[:, k], good[:, k]) for k, name in enumerate(model.class_names)},
    }
