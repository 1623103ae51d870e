"""One module owns the kinds of handoff defect: a fourth kind added there works everywhere, with no other edit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import journeysim

SOURCE = Path(journeysim.__file__).parent

SCRIPT = textwrap.dedent('''
    import json, math, warnings
    import journeysim as js
    from journeysim.model import kinds
    assert kinds.HANDOFF_KINDS == ("patient", "information", "services", "consent"), kinds.HANDOFF_KINDS
    model = js.Model(
        [js.Microsystem("A", capacity=2, service=js.Exponential(10), defect=0.1),
         js.Microsystem("B", capacity=2, service=js.Exponential(10)),
         js.Microsystem("Lab", kind="support", capacity=1, service=js.Exponential(5))],
        [js.Handoff("A", "B", probability=0.8, defects={"consent": 0.3, "information": 0.2},
                    recovery={"probability": 0.5, "rework": js.Fixed(5.0)})],
        [js.ServiceRequest("A", "Lab", probability=0.5, defects={"consent": 0.2})],
        classes=[js.PatientClass("p", entry="A", rate=0.05)])
    # exact: 0.9 * (0.5 + 0.5 * 0.8) * (0.2 + 0.8 * 0.7 * (1 - 0.2 * 0.5))
    exact = js.exact_quality(model).system
    assert math.isclose(exact, 0.9 * 0.9 * (0.2 + 0.8 * 0.7 * 0.9)), exact
    result = js.simulate(model, horizon=60_000.0, replications=3, seed=2)
    summary = result.summary().to_dict()
    json.dumps(summary, allow_nan=False)
    by_kind = summary["quality"]["handoffs"]["A->B"]["by_kind"]
    assert set(by_kind) == {"patient", "information", "services", "consent"}
    assert abs(by_kind["consent"] - 0.7) < 0.03, by_kind
    assert abs(summary["quality"]["requests"]["A=>Lab"]["by_kind"]["consent"] - 0.8) < 0.03
    low, high = summary["quality"]["system"]["simulated"]["ci95"]
    assert low - 0.02 < exact < high + 0.02, (low, exact, high)
    assert "A->B:consent" in {row["element"] for row in summary["quality"]["leverage"]}
    # opportunities: the visit to A, information and consent on 0.8 transfers, consent on 0.5 requests
    assert math.isclose(summary["six_sigma"]["exact"]["opportunities_per_journey"], 1 + 0.8 * 2 + 0.5 * 1)
    assert "consent" in result.summary().to_text()
    handoffs = result.handoffs()
    assert abs(handoffs["consent"].mean() - 0.3) < 0.03 and "consent" in result.requests().columns
    log = js.event_log(result)
    assert log["defect"].str.contains("A->B:consent").any()
    assert "consent" in js.report_html(result)
    scenario = js.loads_scenario("""
    [scenario]
    horizon_days = 5
    [[classes]]
    name = "p"
    entry = "A"
    rate_per_hour = 2
    [[microsystems]]
    name = "A"
    service = 10
    [[microsystems]]
    name = "B"
    service = 10
    [[handoffs]]
    from = "A"
    to = "B"
    defects = { consent = 0.25 }
    """)
    assert scenario.model.handoffs[0].defects.get("consent").get("p") == 0.25
    print("ok")
''')


def test_a_fourth_kind_needs_one_edit(tmp_path):
    """A copy of the package with 'consent' added to model/kinds.py alone simulates, solves, summarises, reports and
    logs the new kind: nothing else knows how many kinds there are."""
    copy = tmp_path / "journeysim"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    kinds = copy / "model" / "kinds.py"
    text = kinds.read_text()
    old = 'HANDOFF_KINDS: tuple[str, ...] = ("patient", "information", "services")'
    assert old in text
    kinds.write_text(text.replace(old, old[:-1] + ', "consent")'))
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
