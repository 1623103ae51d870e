"""Running experiments: replications of a scenario, each with its own streams.

Examples
--------
>>> from journeysim.distributions import Exponential
>>> from journeysim.elements import Microsystem, PatientClass
>>> from journeysim.model import Model
>>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8))],
...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
>>> a = simulate(model, horizon=5_000, seed=11)
>>> b = simulate(model, horizon=5_000, seed=11)
>>> a.visits().equals(b.visits())
True
"""

from __future__ import annotations

import platform
import time
from datetime import datetime, timezone
from importlib.metadata import version

import numpy as np

from ._version import __version__
from .engine import run_replication
from .plan import plan
from .model import Model
from .results import Provenance, SimulationResult
from .scenario import Scenario
from .streams import SeedLike, root_seed_sequence

__all__ = ["simulate"]


def simulate(
    target: Scenario | Model,
    *,
    horizon: float | None = None,
    warmup: float | None = None,
    replications: int | None = None,
    seed: SeedLike = None,
) -> SimulationResult:
    """Simulate independent replications of a scenario or model.

    Parameters
    ----------
    target : Scenario or Model
        What to simulate. A scenario supplies defaults for every other argument.
    horizon : float, optional
        Arrivals stop at this time (minutes); every journey that arrived before
        it is followed to its end. Required for a bare model.
    warmup : float, optional
        Journeys arriving before this time (minutes) are left out of the statistics.
    replications : int, optional
        Number of replications (default: the scenario's, or 1).
    seed : int, SeedSequence, Generator or None
        Root seed (default: the scenario's; if neither is given, fresh entropy
        that is recorded in ``result.provenance.seed``). Replication ``i`` draws
        from streams keyed by the root seed, ``i`` and the stream names only.

    Returns
    -------
    SimulationResult
    """
    scenario = target if isinstance(target, Scenario) else None
    if scenario is None:
        if horizon is None:
            raise TypeError("simulate(model, ...) needs horizon= (minutes)")
        scenario = Scenario(target, name=target.name, horizon=horizon)
    changes = {
        k: v
        for k, v in {"horizon": horizon, "warmup": warmup, "replications": replications}.items()
        if v is not None
    }
    if changes:
        scenario = scenario.with_settings(**changes)
    root = root_seed_sequence(scenario.seed if seed is None else seed)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clock = time.perf_counter()
    compiled = plan(scenario.model)
    records = tuple(
        run_replication(compiled, horizon=scenario.horizon, warmup=scenario.warmup, seed=root, replication=i)
        for i in range(scenario.replications)
    )
    provenance = Provenance(
        journeysim_version=__version__,
        seed=int(root.entropy),  # type: ignore[arg-type]
        replications=scenario.replications,
        scenario=scenario.name,
        source=scenario.source,
        horizon=scenario.horizon,
        warmup=scenario.warmup,
        started=started,
        wall_seconds=time.perf_counter() - clock,
        platform=f"Python {platform.python_version()}, numpy {np.__version__}, simpy {version('simpy')}, "
        f"{platform.machine()} {platform.system()}",
    )
    return SimulationResult(scenario.with_settings(seed=int(root.entropy)), records, provenance)  # type: ignore[arg-type]
