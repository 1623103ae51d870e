"""journeysim on the tandem benchmark, with full records and quality on.

Every node has a defect probability of 0.01 and every handoff 0.01 for each of
its three kinds, so defects are really drawn and recorded. Patients arrive at
rate 1 until the horizon ``n_patients`` minutes (so about ``n_patients`` arrive)
and every journey is followed to its end; the rate reported is completed
patients per second of wall time, including building the model's plan and the
columnar records.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import journeysim as js

from . import PeerResult

DEFECT = 0.01


def tandem(servers: Sequence[int], rate: float = 1.0, utilisation: float = 0.7, defect: float = DEFECT) -> js.Model:
    """The benchmark's tandem network as a journeysim model."""
    nodes = [
        js.Microsystem(f"N{i}", capacity=c, service=js.Exponential(utilisation * c / rate), defect=defect)
        for i, c in enumerate(servers)
    ]
    kinds = {"patient": defect, "information": defect, "services": defect}
    handoffs = [js.Handoff(f"N{i}", f"N{i + 1}", defects=kinds) for i in range(len(servers) - 1)]
    return js.Model(nodes, handoffs, classes=[js.PatientClass("all", entry="N0", rate=rate)])


def run(servers: Sequence[int], n_patients: int, seed: int) -> PeerResult:
    """Simulate about ``n_patients`` arrivals; return completed count, mean time in system and visits."""
    result = js.simulate(tandem(servers), horizon=float(n_patients), seed=seed)
    rec = result.records[0]
    tis = rec.journeys["time_in_system"]
    return PeerResult(completed=int(np.isfinite(tis).sum()), mean_time_in_system=float(np.nanmean(tis)),
                      visits=len(rec.visits))
