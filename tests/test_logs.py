"""Reading event logs: real and artificial logs, journeysim's own export, and every kind of bad log.

``tests/data/sepsis_60.csv`` and ``tests/data/patients_60.csv`` are the first 60 cases of the
two logs in ``../shared/data`` (eventdataR 0.3.0, MIT; see ``tests/data/LOGS.md``); the full
files are read only by the tests marked to skip when ``../shared/data`` is missing.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import journeysim as js
from journeysim.cli import main
from journeysim.data.logfiles import MAX_LINE
from journeysim.data.logs import EventLog, Labelled, read_log
from journeysim.errors import JourneySimError, JourneySimWarning, ValidationError

ROOT = Path(__file__).parent.parent
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared" / "data"
if not SHARED.is_dir():  # a worktree beside the main checkout
    SHARED = Path("/work/shared/data")
SEPSIS = dict(case="Case ID", activity="Activity", timestamp="Complete Timestamp",
              time_format="%Y/%m/%d %H:%M:%S.%f")
PATIENTS = dict(case="patient", activity="handling", timestamp="time", lifecycle="registration_type",
                resource="employee", instance="handling_id")
needs_shared = pytest.mark.skipif(not (SHARED / "sepsis.csv").is_file(), reason="../shared/data is not here")


def quiet(path, **options) -> EventLog:
    """read_log with its warnings silenced (tests that check warnings read ``log.warnings``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JourneySimWarning)
        return read_log(path, **options)


def write(tmp_path, text, name="log.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(path, **options) -> list[str]:
    """The lines of the ValidationError that reading ``path`` raises."""
    with pytest.raises(ValidationError) as err:
        quiet(path, **options)
    return str(err.value).splitlines()


# -- the two logs of ../shared/data


def sepsis_counts(path: Path) -> tuple[int, int, int]:
    """Cases, events and activities of a sepsis file, counted with the csv module (not the reader under test)."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    return len({r["Case ID"] for r in rows}), len(rows), len({r["Activity"] for r in rows})


def test_sepsis_subset_counts_and_completion_times_only():
    """The first 60 sepsis cases: every case, event and activity, one instance per event, start NaN."""
    log = quiet(DATA / "sepsis_60.csv", **SEPSIS)
    assert (log.n_cases, log.n_events, log.n_activities) == sepsis_counts(DATA / "sepsis_60.csv") == (60, 656, 15)
    assert len(log) == 656 and not log.has_starts and np.isnan(log.start).all()
    assert log.warnings == ()
    # every case has one ER Registration (the README of the data: it starts every case; in the timestamps a few
    # lab results come first)
    registration = log.activity == list(log.activity_labels).index("ER Registration")
    assert np.bincount(log.case[registration], minlength=60).tolist() == [1] * 60
    assert log.origin.isoformat() == "2013-11-09T09:21:03" and log.origin.tzinfo is None


@needs_shared
def test_full_sepsis_log():
    """sepsis.csv: 1,050 cases, 15,214 events, 16 activities; its 7 double-logged events are dropped and named."""
    log = quiet(SHARED / "sepsis.csv", **SEPSIS, resource="org:group", attributes=["Age", "Diagnose"])
    assert (log.n_cases, log.n_events, log.n_activities) == (1050, 15214, 16)
    assert (1050, 15214, 16) == sepsis_counts(SHARED / "sepsis.csv")
    assert len(log) == 15214 - 7
    (dup,) = log.warnings
    assert "7 duplicate events" in dup.message and "lines 5171, 5253, 5255, 6062, 6063, ..." in dup.message
    assert "NA" in set(log.case_labels)  # a case id pandas would read as missing
    age = log.attributes["Age"]
    assert isinstance(age, np.ndarray) and np.nanmax(age) == 90 and isinstance(log.attributes["Diagnose"], Labelled)


def test_patients_subset_pairs_start_and_complete():
    """patients.csv's start and complete events pair into instances (by instance id or FIFO alike): start <= end."""
    by_id = quiet(DATA / "patients_60.csv", **PATIENTS)
    fifo = quiet(DATA / "patients_60.csv", **{k: v for k, v in PATIENTS.items() if k != "instance"})
    for log in (by_id, fifo):
        assert (log.n_cases, log.n_events, len(log)) == (60, 656, 328)
        assert np.isfinite(log.start).all() and np.isfinite(log.end).all() and (log.start <= log.end).all()
    assert np.array_equal(by_id.start, fifo.start) and np.array_equal(by_id.end, fifo.end)
    # the file lists every start before the completes: 60 events out of order, sorted and said so
    (order,) = by_id.warnings
    assert order.path == "order" and order.message.startswith("60 events earlier than the event before them")
    assert by_id.origin.isoformat() == "2017-01-02T11:41:53+00:00"


@needs_shared
def test_full_patients_log():
    """patients.csv: 500 patients, 2,721 instances of 7 activities, each with start <= end."""
    log = quiet(SHARED / "patients.csv", **PATIENTS)
    assert (log.n_cases, log.n_events, len(log), log.n_activities) == (500, 5442, 2721, 7)
    assert (log.start <= log.end).all() and len(log.resource_labels) > 1


# -- journeysim's own export, with no options


@pytest.fixture(scope="module")
def ami():
    """The flagship over 20 days, 2 replications, with a warm-up and its support requests."""
    scenario = js.load_scenario(ROOT / "scenarios" / "ami.toml").with_settings(
        horizon=20 * 1440.0, warmup=2 * 1440.0, replications=2)
    return js.simulate(scenario, seed=7)


def record_instances(ami) -> pd.DataFrame:
    """The activity instances the records hold: visits and requests, times in ms from simulated 0."""
    v, r = ami.visits(), ami.requests()
    rows = [pd.DataFrame({"case": "r" + v.replication.astype(str) + "-j" + v.journey.astype(str),
                          "activity": v.node.astype(str), "scheduled": v.arrival, "start": v.start, "end": v.end,
                          "class": v["class"].astype(str)}),
            pd.DataFrame({"case": "r" + r.replication.astype(str) + "-j" + r.journey.astype(str),
                          "activity": r.target.astype(str), "scheduled": r.requested, "start": r.start,
                          "end": r.end, "class": r["class"].astype(str)})]
    out = pd.concat(rows, ignore_index=True)
    for col in ("scheduled", "start", "end"):
        out[col] = np.rint(out[col] * 60_000).astype(np.int64)
    return out.sort_values(["case", "activity", "start", "end"]).reset_index(drop=True)


@pytest.mark.parametrize("name", ["ami.csv", "ami.xes", "ami.xes.gz"])
def test_own_export_reads_with_no_options(ami, tmp_path, name):
    """journeysim's CSV and XES export reads with no column options into the records' cases, activities and times."""
    path = js.write_event_log(ami, tmp_path / name, start="2026-03-02")
    log = read_log(path)  # no warnings either: a journeysim log is clean
    assert log.warnings == ()
    expected = record_instances(ami)
    assert log.n_cases == len(ami.journeys()) == expected.case.nunique()
    assert len(log) == len(expected)
    origin = pd.Timestamp("2026-03-02", tz="UTC")
    shift = (pd.Timestamp(log.origin) - origin) / pd.Timedelta(milliseconds=1)
    frame = log.to_frame()
    got = pd.DataFrame({"case": frame["case"], "activity": frame["activity"], "class": frame["class"]})
    for col, minutes in (("scheduled", log.scheduled), ("start", log.start), ("end", log.end)):
        got[col] = np.rint(minutes * 60_000 + shift).astype(np.int64)
    got = got.sort_values(["case", "activity", "start", "end"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)
    assert set(log.class_labels) == set(ami.journeys()["class"].astype(str))
    assert log.origin.tzinfo is not None and (frame["start"] >= frame["scheduled"]).all()


def test_a_withdrawn_arrival_is_an_instance_that_never_started(tmp_path):
    """schedule then withdraw (journeysim's unserved arrival) is one instance: scheduled, no start, withdrawn."""
    path = write(tmp_path, "case:concept:name,concept:name,time:timestamp,lifecycle:transition\n"
                           "a,ED,2026-01-05T08:00:00Z,schedule\na,ED,2026-01-05T08:20:00Z,withdraw\n"
                           "a,Clinic,2026-01-05T08:30:00Z,schedule\na,Clinic,2026-01-05T08:40:00Z,start\n"
                           "a,Clinic,2026-01-05T09:00:00Z,complete\n")
    log = read_log(path)
    assert log.withdrawn.tolist() == [True, False]
    assert log.scheduled.tolist() == [0, 30] and np.isnan(log.start[0]) and log.start[1] == 40
    assert log.end.tolist() == [20, 60] and log.warnings == ()


def test_start_and_end_columns_make_one_instance_per_row(tmp_path):
    """A start/end log: one row per instance; an empty end is an instance still open."""
    path = write(tmp_path, "stay;unit;admitted;discharged\n1;ED;2026-01-05 08:00;2026-01-05 10:00\n"
                           "1;Ward;2026-01-05 10:30;\n2;ED;2026-01-05 09:00;2026-01-05 09:05\n")
    log = quiet(path, case="stay", activity="unit", start="admitted", end="discharged")
    assert log.start.tolist() == [0, 150, 60] and log.end[[0, 2]].tolist() == [120, 65] and np.isnan(log.end[1])
    assert [w.path for w in log.warnings] == ["cases"]


def test_fifo_pairs_repeated_visits_in_order(tmp_path):
    """Two visits to the same unit in one case: each complete closes the oldest open start."""
    path = write(tmp_path, "c,a,l,t\n1,X,start,2026-01-01 00:00\n1,X,start,2026-01-01 00:10\n"
                           "1,X,complete,2026-01-01 00:30\n1,X,complete,2026-01-01 00:50\n1,Y,complete,2026-01-01 01:00\n")
    log = quiet(path, case="c", activity="a", lifecycle="l", timestamp="t")
    assert log.start[:2].tolist() == [0, 10] and log.end[:2].tolist() == [30, 50]


# -- bad logs: every problem, with counts and line numbers


def test_missing_columns_name_them_and_list_the_file_s(tmp_path):
    """Columns named but absent, and roles with no column, are one error listing the file's columns."""
    path = write(tmp_path, "patient,unit,when\n1,ED,2026-01-05 08:00\n")
    lines = problems(path, case="patient", activity="ward", attributes=["age"])
    assert lines == [
        f"{path}: timestamp: no timestamp column: name it (--timestamp COLUMN), or the start and end columns "
        "(--start, --end)",
        f"{path}:1: activity: no column 'ward'",
        f"{path}:1: attributes[0]: no column 'age'",
        f"{path}:1: columns: the file has columns 'patient', 'unit', 'when'",
    ]


def test_unparseable_timestamps_are_counted_with_the_first_five_lines(tmp_path):
    """Seven bad timestamps: the count, the first five with their lines, and a format that would read them."""
    rows = ["c,a,t"] + [f"1,A,2026-01-0{d} 08:00" for d in range(1, 4)]
    rows += ["1,B,05/01/2026 08:00", "2,A,nonsense", "2,B,2026-13-01 00:00", "2,C,2026-01-05 25:00",
             "3,A,2026-01-05 08:00", "3,B,tomorrow", "3,C,"]
    path = write(tmp_path, "\n".join(rows) + "\n")
    lines = problems(path, case="c", activity="a", timestamp="t")
    assert lines[0] == f"{path}: time: 1 event without a timestamp (lines 11)"
    assert lines[1].startswith(f"{path}: timestamp: 5 unparseable timestamps (expected ISO 8601")
    assert lines[1].endswith("such as '%d/%m/%Y %H:%M', which reads the first); the first 5:")
    assert lines[2:] == [f"{path}:5: t: unparseable timestamp '05/01/2026 08:00'",
                         f"{path}:6: t: unparseable timestamp 'nonsense'",
                         f"{path}:7: t: unparseable timestamp '2026-13-01 00:00'",
                         f"{path}:8: t: unparseable timestamp '2026-01-05 25:00'",
                         f"{path}:10: t: unparseable timestamp 'tomorrow'"]


def test_more_than_five_bad_timestamps_show_five(tmp_path):
    """Twelve bad timestamps: counted as twelve, five shown."""
    path = write(tmp_path, "c,a,t\n" + "".join(f"{i},A,bad{i}\n" for i in range(12)))
    lines = problems(path, case="c", activity="a", timestamp="t")
    assert "12 unparseable timestamps" in lines[0] and len(lines) == 6 and lines[-1].endswith("'bad4'")


def test_an_end_before_its_start_is_an_error_with_its_line(tmp_path):
    """Instances ending before they start (by instance id, or start/end columns) are errors naming their lines."""
    path = write(tmp_path, "c,a,id,l,t\n1,A,7,start,2026-01-05 09:00\n1,A,7,complete,2026-01-05 08:00\n"
                           "1,B,8,start,2026-01-05 10:00\n1,B,8,complete,2026-01-05 11:00\n")
    assert problems(path, case="c", activity="a", instance="id", lifecycle="l", timestamp="t") == [
        f"{path}: end: 1 activity instance ending before it starts; the first 1:",
        f"{path}:2: end: ends 60.00 minutes before it starts"]
    path = write(tmp_path, "c,a,s,e\n1,A,2026-01-05 09:00,2026-01-05 10:00\n2,A,2026-01-05 09:00,2026-01-05 08:30\n"
                           "3,A,2026-01-05 09:00,2026-01-05 08:59\n", "interval.csv")
    assert problems(path, case="c", activity="a", start="s", end="e") == [
        f"{path}: end: 2 activity instances ending before they start; the first 2:",
        f"{path}:3: end: ends 30.00 minutes before it starts", f"{path}:4: end: ends 1.00 minutes before it starts"]


def test_unsorted_events_are_sorted_with_a_warning(tmp_path):
    """Events out of time order within a case are counted, sorted, and named by line: a warning, not an error."""
    path = write(tmp_path, "c,a,t\n1,B,2026-01-05 09:00\n1,A,2026-01-05 08:00\n2,A,2026-01-05 08:00\n"
                           "2,B,2026-01-05 09:00\n1,C,2026-01-05 08:30\n")
    with pytest.warns(JourneySimWarning, match="1 event earlier"):
        log = read_log(path, case="c", activity="a", timestamp="t")
    assert [str(w) for w in log.warnings] == [
        f"{path}: order: 1 event earlier than the event before them in the same case (lines 3): events were "
        "sorted by time within each case"]
    assert log.activity_labels[log.activity].tolist() == ["A", "C", "B", "A", "B"]
    assert log.case_labels.tolist() == ["1", "2"]


def test_duplicates_are_dropped_with_a_warning(tmp_path):
    """Events repeating another's case, activity, lifecycle and time are dropped, counted and named by line."""
    path = write(tmp_path, "c,a,t,v\n1,A,2026-01-05 08:00,x\n1,B,2026-01-05 09:00,\n1,A,2026-01-05 08:00,y\n"
                           "1,A,2026-01-05 08:00,z\n1,B,2026-01-05 10:00,\n")
    log = quiet(path, case="c", activity="a", timestamp="t", attributes=["v"])
    assert [w.message for w in log.warnings] == [
        "1 event earlier than the event before them in the same case (lines 4): events were sorted by time "
        "within each case",
        "2 duplicate events (the same case, activity, lifecycle, time and instance as an earlier one: lines 4, 5) "
        "dropped"]
    assert log.n_events == 5 and len(log) == 3 and log.attributes["v"].values().tolist() == ["x", None, None]


def test_one_event_cases_are_a_warning(tmp_path):
    """Cases with a single activity instance are counted and named."""
    path = write(tmp_path, "c,a,t\n1,A,2026-01-05 08:00\n2,A,2026-01-05 08:10\n2,B,2026-01-05 08:20\n"
                           "3,A,2026-01-05 08:30\n")
    (w,) = quiet(path, case="c", activity="a", timestamp="t").warnings
    assert w.message == "2 cases with a single activity instance (1, 3)"


def test_unmatched_start_and_complete_events_are_warnings(tmp_path):
    """A start never completed stays open (end NaN); a complete never started has start NaN; both counted by line."""
    path = write(tmp_path, "c,a,l,t\n1,A,start,2026-01-05 08:00\n1,A,complete,2026-01-05 08:30\n"
                           "1,B,start,2026-01-05 09:00\n1,C,complete,2026-01-05 09:30\n2,A,complete,2026-01-05 10:00\n"
                           "2,B,start,2026-01-05 10:10\n2,B,complete,2026-01-05 10:20\n")
    log = quiet(path, case="c", activity="a", lifecycle="l", timestamp="t")
    assert [w.message for w in log.warnings] == [
        "1 start event without a complete event (lines 4): kept as instances still open (end = NaN)",
        "2 complete events without a start event (lines 5, 6): kept with start = NaN"]
    assert len(log) == 5 and np.isnan(log.end).sum() == 1 and np.isnan(log.start).sum() == 2


def test_every_problem_at_once(tmp_path):
    """A log with a missing activity, a bad timestamp, a ragged row and an end before its start reports all four
    (the events with reading errors are left out of the later checks)."""
    path = write(tmp_path, "c,a,s,e\n1,,2026-01-05 08:00,2026-01-05 09:00\n2,A,yesterday,2026-01-05 09:00\n"
                           "3,A,2026-01-05 08:00\n4,A,2026-01-05 08:00,2026-01-05 07:00\n")
    lines = problems(path, case="c", activity="a", start="s", end="e")
    assert lines == [
        f"{path}: activity: 1 event without a activity (lines 2)",
        f"{path}: timestamp: 1 unparseable timestamp (expected ISO 8601, e.g. 2026-01-05T08:30:00+00:00; give "
        "--time-format for another); the first 1:",
        f"{path}:3: s: unparseable timestamp 'yesterday'",
        f"{path}: 1 row with a number of fields other than the header's (lines 4 (3 fields))",
        f"{path}: end: 1 activity instance ending before it starts; the first 1:",
        f"{path}:5: end: ends 60.00 minutes before it starts",
    ]


def test_ignored_lifecycles_and_mixed_offsets_are_warnings(tmp_path):
    """suspend/resume are ignored and counted; times with and without an offset are read, the naive as UTC."""
    path = write(tmp_path, "case:concept:name,concept:name,time:timestamp,lifecycle:transition\n"
                           "1,A,2026-01-05T08:00:00+01:00,start\n1,A,2026-01-05T07:10:00,suspend\n"
                           "1,A,2026-01-05T07:20:00,resume\n1,A,2026-01-05T07:30:00Z,complete\n")
    log = quiet(path)
    assert [w.message for w in log.warnings] == [
        "2 events with a lifecycle other than schedule, start, complete, withdraw ignored: 'resume' (1), "
        "'suspend' (1)",
        "2 distinct timestamps without a time zone offset and 2 with: those without are taken as UTC",
        "1 case with a single activity instance (1)"]
    assert log.start.tolist() == [0.0] and log.end.tolist() == [30.0]


# -- files that are not logs


def test_gzipped_csv_and_xes(tmp_path, ami):
    """A gzipped CSV reads like the plain one; a .xes.gz like the .xes."""
    plain = js.write_event_log(ami, tmp_path / "a.csv")
    packed = tmp_path / "a.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = read_log(plain), read_log(packed)
    assert np.array_equal(a.end, b.end) and np.array_equal(a.case_labels, b.case_labels)


def test_xes_with_names_given(tmp_path):
    """A hand-written XES log with other keys: trace attributes are case: columns, dates ISO 8601."""
    path = write(tmp_path, """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <global scope="event"><string key="unit" value="x"/></global>
  <trace><string key="id" value="p1"/><string key="ward" value="North"/>
    <event><string key="unit" value="ED"/><date key="at" value="2026-01-05T08:00:00.000+01:00"/></event>
    <event><string key="unit" value="Ward"/><date key="at" value="2026-01-05T09:00:00.000+01:00"/></event>
  </trace>
</log>
""", "h.xes")
    log = read_log(path, case="case:id", activity="unit", timestamp="at", class_="case:ward")
    assert log.case_labels.tolist() == ["p1"] and log.end.tolist() == [0, 60] and log.class_labels.tolist() == ["North"]
    assert problems(path, case="case:id", activity="activity", timestamp="at") == [
        f"{path}: activity: no attribute 'activity' in any trace or event; the log has 'at', 'case:id', "
        "'case:ward', 'unit'"]


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00", "not a UTF-8 text file"),
    (b"case:concept:name,concept:name,time:timestamp\n" + b"x" * (MAX_LINE + 10) + b"\n",
     f"a line longer than {MAX_LINE:,} characters"),
    (b"<log><trace><event></trace></log>", r"not a readable XES \(XML\) file: mismatched tag: line 1"),
    (b"\x1f\x8b\x08\x00garbage", "cannot be read"),
    (b"", "empty file"),
    (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
     + b'<!ENTITY b "' + b"&a;" * 10 + b'"><!ENTITY c "' + b"&b;" * 10 + b'"><!ENTITY d "' + b"&c;" * 10
     + b'"><!ENTITY e "' + b"&d;" * 10 + b'"><!ENTITY f "' + b"&e;" * 10 + b'"><!ENTITY g "' + b"&f;" * 10
     + b'"><!ENTITY h "' + b"&g;" * 10 + b'">]><log><trace><string key="concept:name" value="&h;"/></trace></log>',
     "amplification"),
])
def test_hostile_files_are_refused_cleanly(tmp_path, content, message):
    """Binary data, a huge line, broken XML, broken gzip, an empty file and an XML entity bomb (expat refuses
    its amplification) are one JourneySimError each."""
    path = tmp_path / ("log.xes" if content.startswith(b"<") else "log.csv")
    path.write_bytes(content)
    with pytest.raises(JourneySimError, match=message):
        read_log(path)


def test_a_huge_quoted_field_is_refused(tmp_path):
    """A field longer than the csv module allows is a clear error, not a csv traceback."""
    path = write(tmp_path, 'c,a,t\n1,"' + "y" * 200_000 + '",2026-01-05\n')
    with pytest.raises(JourneySimError, match="not a readable CSV file: field larger than field limit"):
        read_log(path, case="c", activity="a", timestamp="t")


def test_arguments_are_checked():
    """A lone string for attributes, and an unknown option, are errors naming them."""
    with pytest.raises(JourneySimError, match="attributes: expected a list of column names, got the string 'Age'"):
        read_log(DATA / "sepsis_60.csv", attributes="Age")
    with pytest.raises(TypeError, match="unexpected keyword argument 'klass'"):
        read_log(DATA / "sepsis_60.csv", klass="x")  # type: ignore[call-arg]
    with pytest.raises(JourneySimError, match="no such file"):
        read_log(DATA / "nope.csv")


# -- the EventLog and the command line


def test_event_log_is_frozen_and_views(tmp_path):
    """The columns are read-only; repr, text, dict (strict JSON) and frame agree on the counts."""
    log = quiet(DATA / "sepsis_60.csv", **SEPSIS, attributes=["Age"])
    with pytest.raises(ValueError):
        log.end[0] = 1.0
    assert repr(log) == ("EventLog(sepsis_60.csv: 60 cases, 656 events, 656 activity instances (completion times "
                         "only), 15 activities, 2013-11-09 09:21 to 2015-05-09 10:52)")
    d = log.to_dict()
    json.dumps(d, allow_nan=False)
    assert (d["cases"], d["events"], d["activity_instances"]) == (60, 656, 656) and sum(d["activities"].values()) == 656
    frame = log.to_frame()
    assert len(frame) == 656 and frame["case"].nunique() == 60 and frame["start"].isna().all()
    assert frame["end"].min() == pd.Timestamp("2013-11-09 09:21:03") and "Age" in frame
    assert math.isclose(log.span, (frame["end"].max() - frame["end"].min()).total_seconds() / 60)


def test_cli_log_info(tmp_path, capsys):
    """log-info prints the summary and the warnings (exit 0), or every problem without a traceback (exit 2)."""
    path = DATA / "patients_60.csv"
    assert main(["log-info", str(path), "--case", "patient", "--activity", "handling", "--timestamp", "time",
                 "--lifecycle", "registration_type", "--instance", "handling_id"]) == 0
    out = capsys.readouterr()
    assert "60 cases, 656 events, 328 activity instances (start and end times)" in out.out
    assert "Warnings:" in out.out and "60 events earlier" in out.out and out.err == ""
    assert main(["log-info", str(DATA / "sepsis_60.csv"), "--json", "-", "--case", "Case ID", "--activity",
                 "Activity", "--timestamp", "Complete Timestamp", "--time-format", "%Y/%m/%d %H:%M:%S.%f",
                 "--attribute", "Age", "--sep", ";"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["cases"] == 60 and payload["attributes"] == {"Age": "number"}
    assert main(["log-info", str(DATA / "sepsis_60.csv")]) == 2
    err = capsys.readouterr().err
    assert "no case column" in err and "'Case ID'" in err and "Traceback" not in err


def test_log_api_is_public():
    """js.read_log and js.EventLog are the reader and its result."""
    assert js.read_log is read_log and js.EventLog is EventLog


def test_a_patient_still_waiting_at_the_end_is_an_open_instance(tmp_path):
    """A schedule with no start or complete (a run stopped at its horizon) is kept, start and end NaN, with a warning."""
    path = write(tmp_path, "case:concept:name,concept:name,time:timestamp,lifecycle:transition\n"
                           "a,ED,2026-01-05T08:00:00Z,schedule\na,ED,2026-01-05T08:10:00Z,start\n"
                           "a,ED,2026-01-05T08:20:00Z,complete\na,Ward,2026-01-05T08:30:00Z,schedule\n")
    log = quiet(path)
    assert log.scheduled.tolist() == [0, 30] and np.isnan(log.start[1]) and np.isnan(log.end[1])
    assert [w.message for w in log.warnings] == [
        "1 schedule event with neither a start nor a complete event (lines 5): kept as instances still waiting "
        "(start and end NaN)"]
