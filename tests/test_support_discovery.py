"""Support units and named exits discovered from logs that are not journeysim's export (data/support.py,
data/exits.py): any activity nested in another activity's instances is a support unit."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import journeysim as js
from journeysim.data.support import NESTED_SHARE, find_support

pytestmark = pytest.mark.filterwarnings("ignore:.*single activity instance:journeysim.errors.JourneySimWarning")

P_XRAY = {"A": 0.3, "B": 0.8}


def _iso(base: np.datetime64, minutes: float) -> str:
    return str(base + np.timedelta64(round(minutes * 60), "s"))


def _write(path: Path, n: int = 600, seed: int = 4) -> dict[str, int]:
    """A ward stay (with an X-ray inside it for some), then a clinic visit for 70% (else death for 10% of the
    rest leaving the ward); one row per activity instance, start and end columns."""
    rng = np.random.default_rng(seed)
    base = np.datetime64("2026-03-02T00:00")
    lines = ["patient,step,begin,finish,kind,outcome"]
    counts = {"A": 0, "B": 0}
    for i in range(n):
        kind = "A" if i % 2 else "B"
        counts[kind] += 1
        t0 = i * 97.0 + rng.uniform(0, 50)
        stay = rng.lognormal(np.log(300), 0.4)
        clinic = rng.random() < 0.7
        outcome = "home" if clinic or rng.random() > 0.1 else "death"
        rows = [("Ward", t0, t0 + stay)]
        if rng.random() < P_XRAY[kind]:
            x0 = t0 + rng.uniform(0, 0.5) * stay
            rows.append(("Xray", x0, min(x0 + rng.lognormal(np.log(30), 0.3), t0 + stay)))
        if clinic:
            c0 = t0 + stay + 60
            rows.append(("Clinic", c0, c0 + 20))
        for step, s, e in rows:
            lines.append(f"p{i},{step},{_iso(base, s)},{_iso(base, e)},{kind},{outcome}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts


def test_a_nested_activity_becomes_a_support_unit_with_request_probabilities(tmp_path: Path) -> None:
    path = tmp_path / "ward.csv"
    counts = _write(path)
    log = js.read_log(path, case="patient", activity="step", start="begin", end="finish", class_="kind",
                      attributes=["outcome"])
    scenario, report = js.discover(log)
    kinds = {m.name: m.kind for m in scenario.model.microsystems}
    assert kinds == {"Ward": "clinical", "Xray": "support", "Clinic": "clinical"}
    assert all("Xray" not in (h.source, h.target) for h in scenario.model.handoffs)
    (req,) = scenario.model.requests
    assert (req.source, req.target) == ("Ward", "Xray")
    for k, p in P_XRAY.items():
        se = math.sqrt(p * (1 - p) / counts[k])
        assert abs(req.probability.get(k) - p) <= 3 * se, (k, req.probability.get(k))
    ward_to_clinic = next(h for h in scenario.model.handoffs if (h.source, h.target) == ("Ward", "Clinic"))
    assert abs(ward_to_clinic.probability.get("A") - 0.7) <= 3 * math.sqrt(0.21 / counts["A"])
    assert any(f.key == "kind" and f.value == "support" for f in report.findings)
    js.simulate(scenario, horizon=5 * 1440.0, replications=1, seed=1)  # it runs


def test_outcomes_of_a_case_outcome_column_become_named_exits(tmp_path: Path) -> None:
    path = tmp_path / "ward.csv"
    _write(path)
    body = path.read_text(encoding="utf-8").replace(",outcome\n", ",case:outcome\n", 1)
    path.write_text(body, encoding="utf-8")
    log = js.read_log(path, case="patient", activity="step", start="begin", end="finish", class_="kind")
    scenario, _ = js.discover(log)
    (death,) = scenario.model.exits
    assert (death.source, death.name) == ("Ward", "death")
    for k in ("A", "B"):  # 10% of the 30% leaving the ward without the clinic: 0.03 per ward visit
        assert abs(death.probability.get(k) - 0.03) <= 3 * math.sqrt(0.03 * 0.97 / 300)


def test_instances_nested_only_sometimes_stay_clinical() -> None:
    # B lies within A in 9 of 10 cases (below the 95% rule); C always within A
    case = np.repeat(np.arange(10), 3)
    unit = np.tile([0, 1, 2], 10)
    start = np.tile([0.0, 10.0, 5.0], 10)
    end = np.tile([100.0, 50.0, 20.0], 10)
    end[1] = 150.0  # the first case's B outlasts its A
    nest = find_support(case, unit, start, start, end, ["A", "B", "C"])
    assert nest.units == (2,)
    assert nest.shares[1] == (0.9, 10) and 0.9 < NESTED_SHARE
