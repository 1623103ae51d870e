"""Event logs for process mining: one case per journey, faithful timed events, CSV and XES that pm4py reads."""

from __future__ import annotations

import datetime as dt
import gzip
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pm4py  # test-only (AGPL): the library never imports it
import pytest

import journeysim as js
from journeysim.cli import main

ROOT = Path(__file__).parent.parent
AMI = ROOT / "scenarios" / "ami.toml"
TANDEM = ROOT / "scenarios" / "tandem.toml"
START = pd.Timestamp("2026-03-02", tz="UTC")  # a Monday, like simulated time 0
XES_EXTENSIONS = {
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
}


@pytest.fixture(scope="module")
def ami():
    """The flagship over 30 days, 2 replications, with a warm-up so that some journeys arrive in it."""
    scenario = js.load_scenario(AMI).with_settings(horizon=30 * 1440.0, warmup=5 * 1440.0, replications=2)
    return js.simulate(scenario, seed=11)


@pytest.fixture(scope="module")
def log(ami):
    return js.event_log(ami, start="2026-03-02")


def case_ids(table: pd.DataFrame) -> pd.Series:
    return "r" + table["replication"].astype(str) + "-j" + table["journey"].astype(str)


def certain_defects_model() -> js.Model:
    """Every defect certain: A's own, the A->B handoff's information, the Lab's own and the result's services.

    Fixed times make ties: B starts on arrival and its request at once; the Lab's result
    comes back (no delay) exactly when B's visit ends, after B's own 3 minutes of work.
    """
    return js.Model(
        [js.Microsystem("A", service=js.Fixed(10), defect=1.0),
         js.Microsystem("B", service=js.Fixed(3)),
         js.Microsystem("Lab", kind="support", service=js.Fixed(5), defects={"hemolysed": 1.0})],
        [js.Handoff("A", "B", defects={"information": 1.0})],
        [js.ServiceRequest("B", "Lab", defects={"services": 1.0})],
        [js.PatientClass("p", entry="A", rate=0.01)],
    )


def test_one_case_per_journey(ami, log):
    """Every journey of every replication, warm-up ones included, is exactly one case, with its attributes."""
    journeys = ami.journeys()
    assert journeys["replication"].nunique() == 2
    assert set(log["case:concept:name"]) == set(case_ids(journeys))
    assert log["case:concept:name"].nunique() == len(journeys)
    cases = log.groupby("case:concept:name").first()
    j = journeys.set_index(case_ids(journeys))
    assert (cases["case:class"] == j.loc[cases.index, "class"].astype(str)).all()
    assert (cases["case:defects"] == j.loc[cases.index, "defects"]).all()
    assert (cases["case:defect_free"] == j.loc[cases.index, "defect_free"]).all()
    warm = j["arrival"] < ami.scenario.warmup
    assert 0 < warm.sum() < len(j)
    assert (cases["case:warmup"] == warm.loc[cases.index]).all()
    # every case attribute is constant within its case
    assert (log.groupby("case:concept:name")[[c for c in log if c.startswith("case:")]].nunique(dropna=False) == 1
            ).all().all()


def test_every_visit_and_request_gives_its_three_events(ami, log):
    """Each visit gives schedule/start/complete at its arrival/start/end; each request at requested/start/end."""
    def expected(table, node, times):
        ids = case_ids(table)
        for transition, col in zip(("schedule", "start", "complete"), times):
            stamps = (START + pd.to_timedelta(table[col], unit="min")).dt.round("ms")
            yield from zip(ids, table[node].astype(str), [transition] * len(table), stamps)

    visits, requests = ami.visits(), ami.requests()
    want = Counter(expected(visits, "node", ("arrival", "start", "end")))
    want.update(expected(requests, "target", ("requested", "start", "end")))
    got = Counter(zip(log["case:concept:name"], log["concept:name"], log["lifecycle:transition"],
                      log["time:timestamp"]))
    assert len(log) == 3 * (len(visits) + len(requests))
    assert got == want


def test_activities_are_the_microsystems_visited(ami, log):
    """The activities are the clinical microsystems visited and the support microsystems that served requests."""
    visited = set(ami.visits()["node"].astype(str)) | set(ami.requests()["target"].astype(str))
    assert {"Lab", "Pharmacy", "ED", "CathLab"} <= visited
    assert set(log["concept:name"]) == visited
    assert (log["org:resource"] == log["concept:name"]).all()
    support = log["requested_by"].notna()
    assert set(log.loc[support, "concept:name"]) == set(ami.requests()["target"].astype(str))


def test_events_are_in_time_order_within_every_case(log):
    """Cases are contiguous and in order; within a case time never goes back."""
    ids = log["case:concept:name"]
    assert (ids != ids.shift()).sum() == ids.nunique()  # each case in one block
    assert (log.groupby("case:concept:name", sort=False)["time:timestamp"].diff().dropna() >= pd.Timedelta(0)).all()
    assert log["time:timestamp"].dt.tz is not None and str(log["time:timestamp"].dt.tz) == "UTC"


def test_ties_keep_the_order_events_happened_in(log):
    """At equal times a visit goes schedule, start, complete, and completes before the next visit is scheduled."""
    clinical = log[log["requested_by"].isna()]
    for _, case in clinical.groupby("case:concept:name", sort=False):
        steps = case["lifecycle:transition"].tolist()
        assert steps == ["schedule", "start", "complete"] * (len(steps) // 3)
        names = case["concept:name"].tolist()
        assert names[0::3] == names[1::3] == names[2::3]
    # zero-time handoffs (EMS->ED) and immediate starts make many such ties
    assert log.duplicated(["case:concept:name", "time:timestamp"]).sum() > len(log) // 10


def test_a_visit_completes_after_its_requests_at_equal_times():
    """With every time tied, events follow what happened: a request inside its visit, the visit completing last."""
    log = js.event_log(js.simulate(certain_defects_model(), horizon=300, seed=1), start="2026-03-02")
    first = log[log["case:concept:name"] == "r0-j0"]
    assert list(zip(first["concept:name"], first["lifecycle:transition"])) == [
        ("A", "schedule"), ("A", "start"), ("A", "complete"),
        ("B", "schedule"), ("B", "start"), ("Lab", "schedule"), ("Lab", "start"), ("Lab", "complete"),
        ("B", "complete"),
    ]
    minutes = (first["time:timestamp"] - first["time:timestamp"].iloc[0]) / pd.Timedelta(minutes=1)
    assert minutes.tolist() == [0, 0, 10, 10, 10, 10, 10, 15, 15]
    assert first["requested_by"].tolist()[5:8] == ["B"] * 3


def test_timestamps_start_at_the_calendar_date(ami, log):
    """Simulated minute m is the start date plus m minutes, UTC, for every way of giving the date."""
    journeys = ami.journeys().sort_values(["replication", "journey"])
    first = journeys.iloc[0]
    case = log[log["case:concept:name"] == f"r{first['replication']}-j{first['journey']}"]
    assert case["time:timestamp"].iloc[0] == (START + pd.Timedelta(minutes=first["arrival"])).round("ms")
    assert log["time:timestamp"].min().date() == dt.date(2026, 3, 2)
    first_rep = log[log["case:replication"] == 0]["time:timestamp"]
    for start, hours in ((dt.date(2026, 3, 2), 0), (dt.datetime(2026, 3, 2), 0), (pd.Timestamp("2026-03-02"), 0),
                         (np.datetime64("2026-03-02"), 0), ("2026-03-02T06:00", 6),
                         (pd.Timestamp("2026-03-02 09:00", tz="Europe/Paris"), 8)):
        again = js.event_log(ami, start=start, replications=0)["time:timestamp"]
        assert (again.to_numpy() == (first_rep + pd.Timedelta(hours=hours)).to_numpy()).all(), start


@pytest.mark.parametrize("bad", ["2026-02-30", "next monday", "", 20260101, None, 1.5])
def test_a_bad_start_date_is_a_clear_error(ami, bad):
    """A start that is not a calendar date raises JourneySimError naming it, not a pandas traceback."""
    with pytest.raises(js.JourneySimError, match=r"start: expected a calendar date"):
        js.event_log(ami, start=bad)


def test_summary_mode_has_no_event_log():
    """A result run with records='summary' has no journeys to export: a clear JourneySimError."""
    res = js.simulate(certain_defects_model(), horizon=300, seed=1, records="summary")
    with pytest.raises(js.JourneySimError, match="summary mode"):
        js.event_log(res)


def test_replications_can_be_chosen(ami, log):
    """`replications=` keeps only those replications' cases; an unknown one is an error."""
    one = js.event_log(ami, start="2026-03-02", replications=[1])
    assert set(one["case:replication"]) == {1}
    pd.testing.assert_frame_equal(one, log[log["case:replication"] == 1].reset_index(drop=True))
    with pytest.raises(js.JourneySimError, match="replications"):
        js.event_log(ami, replications=[7])


def test_defects_sit_on_the_complete_event_where_they_happen():
    """Own defects on the visit or service, handoff defects on the sending visit, result defects on the service."""
    log = js.event_log(js.simulate(certain_defects_model(), horizon=2_000, seed=2))
    done = log[log["lifecycle:transition"] == "complete"]
    by_activity = done.groupby("concept:name")["defect"].agg(lambda s: set(s.dropna()))
    assert by_activity["A"] == {"defect;A->B:information"}
    assert by_activity["B"] == set()
    assert by_activity["Lab"] == {"hemolysed;B=>Lab:services"}
    assert (log.loc[log["lifecycle:transition"] != "complete", "defects"] == 0).all()
    assert (done.groupby("concept:name")["defects"].min() == pd.Series({"A": 2, "B": 0, "Lab": 2})).all()
    assert (log["case:defects"] == 4).all() and not log["case:defect_free"].any()


def test_defects_add_up_to_the_journey(ami, log):
    """Per case: events' defects plus missed standards equal the journey's defects; names match the counts."""
    per_case = log.groupby("case:concept:name").agg(events=("defects", "sum"), missed=("case:missed", "first"),
                                                    total=("case:defects", "first"))
    assert per_case["total"].sum() > 0 and per_case["missed"].sum() > 0
    assert (per_case["events"] + per_case["missed"] == per_case["total"]).all()
    named = log["defect"].fillna("").str.split(";").map(lambda xs: len([x for x in xs if x]))
    assert (named == log["defects"]).all()
    missed = log["case:standards_missed"].fillna("").str.split(";").map(lambda xs: len([x for x in xs if x]))
    assert (missed == log["case:missed"]).all()
    assert len(ami.defects()) == per_case["total"].sum()


def test_csv_reads_back_in_pm4py_and_discovers_the_microsystems(ami, log, tmp_path):
    """The CSV, read with pandas and pm4py.format_dataframe, discovers a model over exactly the visited microsystems."""
    path = js.write_event_log(ami, tmp_path / "ami.csv", start="2026-03-02")
    assert path == tmp_path / "ami.csv"
    raw = pd.read_csv(path)
    # the documented columns, then the flagship's patient attributes and outcome as case attributes
    extra = ["case:treatment", "case:stemi_alert", *js.outputs.eventlog.OUTCOME_COLUMN]
    assert list(raw.columns) == [*js.outputs.eventlog.COLUMNS, *extra] and len(raw) == len(log)
    assert raw["time:timestamp"].min().startswith("2026-03-02T") and raw["time:timestamp"].str.endswith("+00:00").all()
    df = pm4py.format_dataframe(raw, case_id="case:concept:name", activity_key="concept:name",
                                timestamp_key="time:timestamp")
    assert traces(df) == traces(log)  # pm4py re-sorts by time: equal times keep the file's order
    assert labels_discovered(df) == set(log["concept:name"])


@pytest.mark.filterwarnings("ignore:Install the optional requirement:UserWarning")  # pm4py's faster readers
def test_xes_reads_back_in_pm4py_and_discovers_the_microsystems(ami, log, tmp_path):
    """The XES file, read with pm4py.read_xes, has every case and event and discovers the visited microsystems."""
    path = js.write_event_log(ami, tmp_path / "ami.xes", start="2026-03-02")
    df = pm4py.read_xes(str(path))
    assert len(df) == len(log) and traces(df) == traces(log)
    assert {"case:class", "case:defect_free", "case:warmup", "lifecycle:transition", "org:resource"} <= set(df)
    assert labels_discovered(df) == set(log["concept:name"])
    dfg, starts, ends = pm4py.discover_dfg(df)
    assert {a for pair in dfg for a in pair} == set(log["concept:name"])
    journeys = ami.journeys()
    assert set(starts) == set(journeys["entry"].astype(str)) and set(ends) == set(journeys["exit"].astype(str))


def traces(df: pd.DataFrame) -> dict[str, list[tuple[str, str, pd.Timestamp]]]:
    """Each case's events as (activity, transition, time), in the frame's order."""
    cols = ["concept:name", "lifecycle:transition", "time:timestamp"]
    return {case: list(map(tuple, rows[cols].itertuples(index=False)))
            for case, rows in df.groupby("case:concept:name", sort=False)}


def labels_discovered(df: pd.DataFrame) -> set[str]:
    """Visible transition labels of the inductive miner's Petri net over the complete events."""
    done = pm4py.filter_event_attribute_values(df, "lifecycle:transition", ["complete"], level="event")
    net, _, _ = pm4py.discover_petri_net_inductive(done)
    return {t.label for t in net.transitions if t.label is not None}


@pytest.mark.parametrize("name", ["ami.xes", "ami.xes.gz"])
def test_xes_is_well_formed_ieee_xes(ami, log, tmp_path, name):
    """Well-formed XML: IEEE 1849-2016 header, the four extensions, globals, classifiers, one trace per journey."""
    path = js.write_event_log(ami, tmp_path / name, start="2026-03-02")
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        root = ET.parse(fh).getroot()
    assert root.tag == "log" and root.get("xes.version") == "1849-2016"
    assert {(e.get("name"), e.get("prefix"), e.get("uri")) for e in root.findall("extension")} == XES_EXTENSIONS
    scopes = {g.get("scope"): {a.get("key") for a in g} for g in root.findall("global")}
    assert {"concept:name", "time:timestamp", "lifecycle:transition", "org:resource"} <= scopes["event"]
    assert {"concept:name", "class", "defect_free"} <= scopes["trace"]
    assert {c.get("keys") for c in root.findall("classifier")} >= {"concept:name"}
    traces = root.findall("trace")
    assert len(traces) == len(ami.journeys()) and len(root.findall("trace/event")) == len(log)
    first = {a.get("key"): (a.tag, a.get("value")) for a in traces[0] if a.tag != "event"}
    assert first["concept:name"] == ("string", log["case:concept:name"].iloc[0])
    assert first["replication"][0] == "int" and first["defect_free"][0] == "boolean"
    event = {a.get("key"): (a.tag, a.get("value")) for a in traces[0].find("event")}
    assert pd.Timestamp(event["time:timestamp"][1]) == log["time:timestamp"].iloc[0]
    assert event["time:timestamp"][0] == "date" and event["lifecycle:transition"] == ("string", "schedule")


def test_write_rejects_unknown_formats_and_missing_directories(ami, tmp_path):
    """Another suffix, or a directory that does not exist, is a JourneySimError naming the path; nothing is written."""
    with pytest.raises(js.JourneySimError, match=r"ami\.json.*\.csv, \.xes or \.xes\.gz"):
        js.write_event_log(ami, tmp_path / "ami.json")
    with pytest.raises(js.JourneySimError, match="does not exist"):
        js.write_event_log(ami, tmp_path / "nope" / "ami.csv")
    assert list(tmp_path.iterdir()) == []


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


SHORT = ("--horizon-days", "2", "--warmup-days", "0", "--replications", "2", "--seed", "5", "--workers", "1", "--quiet")


def test_cli_run_writes_the_event_log(tmp_path, capsys):
    """`run --events out.csv --start-date` writes every journey of the run, starting on that date."""
    out = tmp_path / "out.csv"
    code, text, _ = run_cli(capsys, "run", TANDEM, "--events", out, "--start-date", "2026-03-02", *SHORT)
    assert code == 0 and "Quality of the health system" in text
    scenario = js.load_scenario(TANDEM).with_settings(horizon=2 * 1440.0, warmup=0.0)
    same = js.simulate(scenario, replications=2, seed=5)
    written = pd.read_csv(out)
    assert written["case:concept:name"].nunique() == len(same.journeys()) > 0
    assert set(written["concept:name"]) == {"Triage", "Treatment", "Discharge"}
    assert written["time:timestamp"].min().startswith("2026-03-02T")


def test_cli_bad_start_date_is_a_usage_error(tmp_path):
    """A --start-date that is not a date exits with status 2 before anything runs."""
    with pytest.raises(SystemExit) as exc:
        main(["run", str(TANDEM), "--events", str(tmp_path / "e.csv"), "--start-date", "2026-02-30"])
    assert exc.value.code == 2
    assert not (tmp_path / "e.csv").exists()


@pytest.mark.parametrize(("extra", "message"), [
    (("--records", "summary"), "--records summary"),
    ((), "must end in .csv, .xes or .xes.gz"),
])
def test_cli_events_problems_are_reported_before_the_run(tmp_path, capsys, extra, message):
    """--events with --records summary, or with an unknown format, exits 2 before simulating (no summary)."""
    target = tmp_path / ("e.csv" if extra else "e.parquet")
    code, out, err = run_cli(capsys, "run", TANDEM, "--events", target, *extra, *SHORT)
    assert code == 2 and message in err and "Traceback" not in err
    assert out == "" and not target.exists()


def test_docs_list_every_column(log):
    """docs/event-logs.md documents every column, and the log has exactly the documented columns in order."""
    text = (ROOT / "docs" / "event-logs.md").read_text()
    # the flagship adds its patient attributes (case:NAME, documented as a pattern) and its outcome
    extra = ["case:treatment", "case:stemi_alert", *js.outputs.eventlog.OUTCOME_COLUMN]
    assert list(log.columns) == [*js.outputs.eventlog.COLUMNS, *extra]
    for name in [*js.outputs.eventlog.COLUMNS, *js.outputs.eventlog.OUTCOME_COLUMN]:
        assert f"| `{name}` |" in text, name
    assert "`case:NAME`" in text or "case:<" in text  # the attributes' columns


# -- the fast writers against the libraries they replace --------------------------------------------------------


def reference_csv(frame: pd.DataFrame) -> bytes:
    """The CSV as pandas writes it (journeysim 0.1's writer): ISO timestamps, then ``to_csv``."""
    out = frame.copy()
    naive = frame["time:timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ms]")
    out["time:timestamp"] = np.char.add(np.datetime_as_string(naive, unit="ms"), "+00:00").astype(object)
    return out.to_csv(index=False, lineterminator="\n").encode()


def reference_xes_traces(frame: pd.DataFrame) -> bytes:
    """The traces as ElementTree writes them (journeysim 0.1's writer): an element per attribute."""
    def text(s: pd.Series) -> tuple[str, list]:
        if pd.api.types.is_bool_dtype(s):
            return "boolean", np.where(s.to_numpy(), "true", "false").tolist()
        if pd.api.types.is_integer_dtype(s):
            return "int", s.astype(str).tolist()
        if pd.api.types.is_float_dtype(s):  # numeric and yes/no patient attributes; NaN is left out
            return "float", [None if np.isnan(x) else repr(float(x)) for x in s.to_numpy()]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            naive = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ms]")
            return "date", [x + "+00:00" for x in np.datetime_as_string(naive, unit="ms").tolist()]
        return "string", s.astype(object).where(s.notna(), None).tolist()

    cols = [(c.removeprefix("case:"), c.startswith("case:"), *text(frame[c])) for c in frame.columns]
    ids = frame["case:concept:name"].tolist()
    out = []
    for case in dict.fromkeys(ids):
        rows = [i for i, x in enumerate(ids) if x == case]
        trace = ET.Element("trace")
        for key, is_case, kind, values in cols:
            if is_case and values[rows[0]] is not None:
                ET.SubElement(trace, kind, {"key": key, "value": values[rows[0]]})
        for i in rows:
            event = ET.SubElement(trace, "event")
            for key, is_case, kind, values in cols:
                if not is_case and values[i] is not None:
                    ET.SubElement(event, kind, {"key": key, "value": values[i]})
        ET.indent(trace, space="  ", level=1)
        out.append(f"  {ET.tostring(trace, encoding='unicode')}\n")
    return "".join(out).encode()


def awkward_names_result():
    """Names that need quoting in CSV and escaping in XML, and a defect on every journey."""
    lab, ward = 'Lab, "B" & <C>', "Unité ü's ward"
    model = js.Model(
        [js.Microsystem("A;1", service=js.Fixed(10), defects={'late, "very"': 0.5, "x>y": 0.5}),
         js.Microsystem(ward, service=js.Exponential(3)),
         js.Microsystem(lab, kind="support", service=js.Fixed(5), defects={"hemolysed": 0.5})],
        [js.Handoff("A;1", ward, defects={"information": 0.5})],
        [js.ServiceRequest(ward, lab, defects={"services": 0.5})],
        [js.PatientClass('walk-in "urgent"', entry="A;1", rate=0.05)],
        standards=[js.Standard("door,to<ward>&Co", start="arrive:A;1", end=f"arrive:{ward}", within=12)],
    )
    return js.simulate(model, horizon=600, replications=2, seed=4)


@pytest.mark.parametrize("which", ["ami", "awkward", "queues"])
def test_files_are_byte_for_byte_what_pandas_and_elementtree_write(ami, which, tmp_path):
    """CSV and XES are assembled from strings for speed; they must equal the libraries' own output."""
    if which == "queues":  # withdraw events and the 'unserved' column
        result = js.simulate(queue_models()["patience"], horizon=2_000, replications=2, seed=5)
    else:
        result = ami if which == "ami" else awkward_names_result()
    frame = js.event_log(result, start="2026-03-02T08:00:00.0004")
    csv_path = js.write_event_log(result, tmp_path / "log.csv", start="2026-03-02T08:00:00.0004")
    assert csv_path.read_bytes() == reference_csv(frame)
    xes = js.write_event_log(result, tmp_path / "log.xes", start="2026-03-02T08:00:00.0004").read_bytes()
    body = xes[xes.index(b"  <trace>"):xes.rindex(b"</log>")]
    assert body == reference_xes_traces(frame)
    assert gzip.decompress(js.write_event_log(result, tmp_path / "log.xes.gz",
                                              start="2026-03-02T08:00:00.0004").read_bytes()) == xes
    if which == "awkward":
        assert b"&quot;" in body and b"&lt;" in body and b"&amp;" in body
        assert b'"Lab, ""B"" & <C>"' in csv_path.read_bytes()


# -- arrivals the queue rules turned away (the unserved records) ------------------------------------------------


def queue_models() -> dict[str, js.Model]:
    """Three models whose queue rules turn arrivals away, each making those arrivals journey defects.

    ``reject``: a waiting room of one, full arrivals rejected (the journey ends); ``divert``: a
    loss system B whose arrivals go on to C after 5 minutes, and a second B whose arrivals go to C
    at once (zero-time ties); ``patience``: patients who renege (to Home) or balk at a queue of 3.
    A has defects of its own too, so that its visits' and its queue rule's defects are told apart.
    """
    p = [js.PatientClass("p", entry="A", rate=0.12)]
    return {
        "reject": js.Model(
            [js.Microsystem("A", capacity=1, service=js.Exponential(10), defects={"slip": 0.3}, queue_limit=1,
                            full_is_defect=True),
             js.Microsystem("B", service=js.Exponential(5))],
            [js.Handoff("A", "B")], classes=p),
        "divert": js.Model(
            [js.Microsystem("A", capacity=3, service=js.Exponential(10), defects={"slip": 0.3}),
             js.Microsystem("B", capacity=1, service=js.Exponential(15), queue_limit=0,
                            when_full=js.Divert("C", delay=js.Fixed(5)), full_is_defect="diverted"),
             js.Microsystem("B2", capacity=1, service=js.Fixed(15), queue_limit=0, when_full=js.Divert("C"),
                            full_is_defect=True),
             js.Microsystem("C", service=js.Fixed(3))],
            [js.Handoff("A", "B", probability=0.5), js.Handoff("A", "B2", probability=0.5)], classes=p),
        "patience": js.Model(
            [js.Microsystem("A", capacity=1, service=js.Exponential(10), defects={"slip": 0.3},
                            patience=js.Exponential(15), renege_to="Home", balk_at=3),
             js.Microsystem("Home", service=js.Exponential(5))],
            classes=p),
    }


@pytest.fixture(scope="module", params=["reject", "divert", "patience"])
def queued(request):
    """A run of one of :func:`queue_models`, two replications, with its log."""
    result = js.simulate(queue_models()[request.param], horizon=3_000, replications=2, seed=5)
    return request.param, result, js.event_log(result, start="2026-03-02")


def test_each_unserved_arrival_is_scheduled_then_withdrawn(queued):
    """One schedule at the arrival and one withdraw at the end per unserved row, both saying how it ended."""
    name, result, log = queued
    unserved = result.unserved()
    expected_ways = {"reject": {"rejected"}, "divert": {"diverted"}, "patience": {"reneged", "balked"}}[name]
    assert set(unserved["ended"].astype(str)) == expected_ways and len(unserved) > 20

    def rows(table, col, transition):
        stamps = (START + pd.to_timedelta(table[col], unit="min")).dt.round("ms")
        return Counter(zip(case_ids(table), table["node"].astype(str), [transition] * len(table), stamps,
                           table["ended"].astype(str)))

    marked = log[log["unserved"].notna()]
    got = Counter(zip(marked["case:concept:name"], marked["concept:name"], marked["lifecycle:transition"],
                      marked["time:timestamp"], marked["unserved"]))
    want = rows(unserved, "arrival", "schedule") + rows(unserved, "end", "withdraw")
    assert got == want
    assert (log["lifecycle:transition"] == "withdraw").sum() == len(unserved)
    # without them, the log is the visits' and requests' three events each
    served = log[log["unserved"].isna()]
    assert len(served) == 3 * (len(result.visits()) + len(result.requests()))
    assert set(served["lifecycle:transition"]) == {"schedule", "start", "complete"}


def test_the_queue_rules_defects_sit_on_the_withdraw_events(queued):
    """Each withdraw holds its queue rule's defect; the events' defects add up to the journeys' and the table's."""
    name, result, log = queued
    withdrawn = log[log["lifecycle:transition"] == "withdraw"]
    rule = {"reject": "rejected", "divert": "diverted", "patience": "left_unseen"}[name]
    if name == "divert":  # B's full_is_defect names 'diverted', B2's both: every diversion is a defect
        assert set(withdrawn["concept:name"]) == {"B", "B2"}
    assert (withdrawn["defects"] == 1).all() and (withdrawn["defect"] == rule).all()
    defects = result.defects()
    assert len(withdrawn) == (defects["defect"].astype(str) == rule).sum()
    assert not log.loc[log["lifecycle:transition"] != "withdraw", "defect"].fillna("").str.contains(rule).any()
    # A's own defects stay on A's visits
    slips = log["defect"].fillna("").str.count("slip")
    assert slips.sum() == (defects["defect"].astype(str) == "slip").sum() > 0
    assert set(log.loc[slips > 0, "lifecycle:transition"]) == {"complete"}
    per_case = log.groupby("case:concept:name").agg(events=("defects", "sum"), missed=("case:missed", "first"),
                                                    total=("case:defects", "first"))
    assert (per_case["events"] + per_case["missed"] == per_case["total"]).all()
    assert per_case["total"].sum() == len(defects)


def test_unserved_events_keep_the_order_things_happened_in(queued):
    """Time never goes back in a case; a withdraw follows its schedule; zero-time diversions keep their order."""
    name, result, log = queued
    assert (log.groupby("case:concept:name", sort=False)["time:timestamp"].diff().dropna() >= pd.Timedelta(0)).all()
    for _, case in log[log["unserved"].notna()].groupby("case:concept:name", sort=False):
        assert case["lifecycle:transition"].tolist() == ["schedule", "withdraw"] * (len(case) // 2)
    if name == "divert":  # A, then B2 full at once, then C at the same minute
        b2 = result.unserved()
        b2 = b2[b2["node"].astype(str) == "B2"].iloc[0]
        case = log[log["case:concept:name"] == f"r{b2['replication']}-j{b2['journey']}"]
        assert list(zip(case["concept:name"], case["lifecycle:transition"])) == [
            ("A", "schedule"), ("A", "start"), ("A", "complete"), ("B2", "schedule"), ("B2", "withdraw"),
            ("C", "schedule"), ("C", "start"), ("C", "complete")]
        minutes = ((case["time:timestamp"] - case["time:timestamp"].iloc[2]) / pd.Timedelta(minutes=1)).tolist()
        assert minutes[2:] == [0, 0, 0, 0, 0, 3]


def test_the_unserved_column_is_documented_and_only_in_logs_with_queue_rules(queued, log):
    """A model with queue rules adds 'unserved' after 'defect'; others (the flagship) have neither it nor withdraw."""
    _, _, qlog = queued
    columns = list(js.outputs.eventlog.COLUMNS)
    at = columns.index("defect") + 1
    assert list(qlog.columns) == [*columns[:at], "unserved", *columns[at:], "case:outcome"][:len(qlog.columns)]
    assert "unserved" not in log and "withdraw" not in set(log["lifecycle:transition"])
    text = (ROOT / "docs" / "event-logs.md").read_text()
    assert "| `unserved` |" in text and "`withdraw`" in text


@pytest.mark.filterwarnings("ignore:Install the optional requirement:UserWarning")  # pm4py's faster readers
def test_pm4py_reads_logs_with_unserved_arrivals(queued, tmp_path):
    """pm4py reads the CSV and the XES back with every event, the withdraw transitions and the 'unserved' attribute."""
    _, result, log = queued
    csv = js.write_event_log(result, tmp_path / "q.csv", start="2026-03-02")
    df = pm4py.format_dataframe(pd.read_csv(csv), case_id="case:concept:name", activity_key="concept:name",
                                timestamp_key="time:timestamp")
    assert traces(df) == traces(log)
    xes = pm4py.read_xes(str(js.write_event_log(result, tmp_path / "q.xes", start="2026-03-02")))
    assert len(xes) == len(log) and traces(xes) == traces(log)
    withdrawn = xes[xes["lifecycle:transition"] == "withdraw"]
    assert len(withdrawn) == len(result.unserved())
    assert (withdrawn["unserved"] == log.loc[log["lifecycle:transition"] == "withdraw", "unserved"].to_numpy()).all()
    assert labels_discovered(xes) == set(log.loc[log["lifecycle:transition"] == "complete", "concept:name"])


def test_a_run_that_stops_at_the_horizon_withdraws_only_what_ended():
    """With end='stop', patients still waiting at the horizon have a schedule only; every unserved row ended before it."""
    model = queue_models()["patience"]
    result = js.simulate(model, horizon=600, replications=3, seed=2, end="stop")
    log = js.event_log(result, start="2026-03-02")
    unserved, visits = result.unserved(), result.visits()
    assert (unserved["end"] <= 600).all() and len(unserved) > 0
    waiting = visits["start"].isna().sum()
    assert waiting > 0  # the scenario leaves some patients in the queue at the horizon
    assert (log["lifecycle:transition"] == "withdraw").sum() == len(unserved)
    assert (log["lifecycle:transition"] == "schedule").sum() == len(visits) + len(unserved)
    assert (log["lifecycle:transition"] == "start").sum() == len(visits) - waiting
    assert log["time:timestamp"].max() <= START + pd.Timedelta(minutes=600)


def test_cli_run_writes_the_event_log_of_a_model_with_queue_rules(tmp_path, capsys):
    """`run --events` on a scenario whose queue rules make defects writes the log (it used to fail)."""
    scenario = tmp_path / "q.toml"
    scenario.write_text(
        '[scenario]\nname = "Queue rules"\nhorizon_days = 2\nreplications = 2\nseed = 3\n\n'
        '[[classes]]\nname = "p"\nentry = "A"\nrate_per_minute = 0.1\n\n'
        '[[microsystems]]\nname = "A"\ncapacity = 1\nservice = { dist = "exponential", mean = 10 }\n'
        'queue_limit = 1\nfull_is_defect = true\npatience = { dist = "exponential", mean = 10 }\n')
    for name in ("e.csv", "e.xes"):
        code, _, err = run_cli(capsys, "run", scenario, "--events", tmp_path / name, "--workers", "1", "--quiet")
        assert code == 0, err
    written = pd.read_csv(tmp_path / "e.csv")
    assert {"rejected", "reneged"} <= set(written["unserved"].dropna())
    assert set(written.loc[written["lifecycle:transition"] == "withdraw", "defect"]) == {"rejected", "left_unseen"}
