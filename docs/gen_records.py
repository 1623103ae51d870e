"""Regenerate docs/records.md from journeysim.engine.records.FIELDS: python docs/gen_records.py"""

from pathlib import Path

from journeysim.engine.records import FIELDS

HEADER = """# Records

Every replication records eight long-format tables. In Python, `result.journeys()`, `result.visits()`,
`result.handoffs()`, `result.requests()`, `result.defects()`, `result.standards()`,
`result.activations()` and `result.unserved()` return each as one pandas DataFrame over
all replications, with a `replication` column; `result.records[i].visits.to_frame()` gives one replication's.
Coded columns (microsystem, class, handoff names) are pandas categoricals. Times are minutes from the start
of the replication.

Where the model declares patient attributes (`docs/scenarios.md`, "Patient attributes"), the `journeys`
table has one more column per attribute, after those below, named after it: a categorical attribute's value
(a categorical column; missing where the journey's class does not declare it), a numeric attribute's value,
or 1.0 / 0.0 for a yes/no attribute (NaN where the class does not declare them).

In a run that stops at the horizon (`[scenario] end = "stop"`), what was unfinished there is recorded with
`NaN` for what had not happened: a journey in progress has `end = NaN` (and no `exit`); a visit still in
service has `end = NaN`, one still waiting (for a server or the team) has `start = NaN`; a patient in transfer
has `arrive = NaN` on its handoff; a support request has `NaN` from the step it had not reached; a standard
not yet reached is `open`. Nothing after the horizon is recorded (`records.end` is `"stop"`).

This page is generated from `journeysim.engine.records.FIELDS` by `docs/gen_records.py`; a test checks it.
"""

lines = [HEADER]
for table, fields in FIELDS.items():
    lines += [f"## `{table}`", "", "| field | meaning |", "|---|---|"]
    lines += [f"| `{name}` | {meaning} |" for name, meaning in fields.items()]
    lines.append("")
Path(__file__).with_name("records.md").write_text("\n".join(lines))
