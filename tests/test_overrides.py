"""Sweep overrides: parsing `--set PATH=V1,V2,...`, applying it to a scenario document, and grids."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

import journeysim as js
from journeysim.io.overrides import Override, apply_overrides, grid, parse_override, sweep_specs
from journeysim.io.scenario_file import build_scenario, read_spec

AMI = Path(__file__).parent.parent / "scenarios" / "ami.toml"


@pytest.fixture(scope="module")
def ami_spec():
    return read_spec(AMI)


@pytest.fixture(scope="module")
def ami_model(ami_spec):
    return build_scenario(ami_spec).model


def set_one(spec, text):
    """The spec with the first value of one override applied."""
    ov = parse_override(text)
    return dataclasses.replace(spec, data=apply_overrides(spec.data, [(ov, ov.values[0])]))


def handoff(model, label):
    return next(h for h in model.handoffs if h.label == label)


def request(model, label):
    return next(r for r in model.requests if r.label == label)


# -- parsing ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("scenario.replications=5", ("scenario", "replications")),
        ("scenario.horizon_days=30", ("scenario", "horizon_days")),
        ('microsystems["ED"].capacity=20', ("microsystems", "ED", "capacity")),
        ('microsystems["ED"].defects.aspirin_missed.STEMI=0.1',
         ("microsystems", "ED", "defects", "aspirin_missed", "STEMI")),
        ('handoffs["EMS->ED"].defects.information=0.2', ("handoffs", "EMS->ED", "defects", "information")),
        ('handoffs["ED->CathLab"].probability.STEMI=0.9', ("handoffs", "ED->CathLab", "probability", "STEMI")),
        ('requests["ED=>Lab"].defects.services=0.1', ("requests", "ED=>Lab", "defects", "services")),
        ('classes["STEMI"].rate_per_day=0.5', ("classes", "STEMI", "rate_per_day")),
        ('microsystems["ED"].service.median=3', ("microsystems", "ED", "service", "median")),
        ("microsystems.ED.capacity=20", ("microsystems", "ED", "capacity")),
        ("handoffs['EMS->ED'].defects.information=0.2", ("handoffs", "EMS->ED", "defects", "information")),
        ('handoffs[ "EMS -> ED" ].defects["information"]=0.2', ("handoffs", "EMS->ED", "defects", "information")),
        ('["scenario"].seed=1', ("scenario", "seed")),
        ("microsystems[2].steps[0].median=3", ("microsystems", 2, "steps", 0, "median")),
        (" scenario.seed = 1", ("scenario", "seed")),
    ],
)
def test_parse_path_forms(text, parts):
    """Every documented path form parses into its keys, entry names and indices."""
    ov = parse_override(text)
    assert ov.parts == parts
    assert ov.path == text.rsplit("=", 1)[0].strip()


def test_path_text_keeps_equals_inside_quotes():
    """An '=' inside a quoted request name belongs to the path, not the separator."""
    ov = parse_override('requests["ED=>Lab"].defects.services=0.1,0.2')
    assert ov.path == 'requests["ED=>Lab"].defects.services'
    assert ov.values == (0.1, 0.2)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("0.43,0.3,0.2,0.1", (0.43, 0.3, 0.2, 0.1)),
        ("5, 10 ,20", (5, 10, 20)),
        ("1e-3,-2,+0.5", (0.001, -2, 0.5)),
        ("true,false", (True, False)),
        ('"a, b","c"', ("a, b", "c")),
        ("'x,y', \"it's\"", ("x,y", "it's")),
        ("unlimited,12", ("unlimited", 12)),
        ('{ dist = "exponential", mean = 5 },{dist="fixed",value=1}',
         ({"dist": "exponential", "mean": 5}, {"dist": "fixed", "value": 1})),
        ("[1, 2],[3]", ([1, 2], [3])),
    ],
)
def test_parse_value_lists(values, expected):
    """Values are TOML values split at commas outside quotes, brackets and braces; a bare word is a string."""
    ov = parse_override("scenario.x=" + values)
    assert ov.values == expected
    assert [type(v) for v in ov.values] == [type(v) for v in expected]


def test_override_is_frozen():
    """An Override cannot be changed after parsing."""
    ov = parse_override("scenario.seed=1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ov.values = (2,)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("scenario.replications", "expected '='"),
        ("scenario.replications=", "empty value"),
        ("scenario.replications=1,,2", "empty value"),
        ("scenario.replications=1,2,", "empty value"),
        ("=1", "expected a key"),
        ("scenario.=1", "expected a key"),
        ("classes[STEMI].rate_per_day=1", "quoted name"),
        ('classes["STEMI.rate_per_day=1', "unterminated"),
        ('classes["STEMI".rate_per_day=1', "expected ']'"),
        ("handoffs.EMS->ED.defects.information=0.2", "quote names"),
        ("requests.ED=>Lab.defects.services=0.2", "quote names"),
        ('scenario.name="unfinished', "unterminated"),
        ("scenario.replications=0.4.3", "not a TOML value"),
        ("scenario.name=two words", "not a TOML value"),
        ("classes[\"A\"].background=True", "TOML spells it true"),
        ("scenario.seed=1\nextends = 'x.toml'", "not a single TOML value"),
    ],
)
def test_bad_syntax_names_the_expression(text, says):
    """Unparseable expressions raise ValidationError quoting the expression and saying what is wrong."""
    with pytest.raises(js.ValidationError) as info:
        parse_override(text)
    message = str(info.value)
    assert repr(text) in message
    assert says in message


@pytest.mark.parametrize("code", ["__import__('os')", "__import__('os').system('exit 3')", "open('x').read()"])
def test_code_is_never_evaluated(code):
    """Python code is rejected as a value, and as a quoted TOML string stays that exact string."""
    with pytest.raises(js.ValidationError, match="not a TOML value"):
        parse_override("scenario.name=" + code)
    quoted = parse_override('scenario.name="' + code.replace("'", "\\u0027") + '"')
    assert quoted.values == (code,)
    assert parse_override("scenario.name=__import__").values == ("__import__",)


# -- applying ---------------------------------------------------------------------------
def test_apply_changes_only_the_named_handoff(ami_spec, ami_model):
    """Setting EMS->ED information to 0.2 changes that defect and leaves every other element as it was."""
    before = copy.deepcopy(ami_spec.data)
    model = build_scenario(set_one(ami_spec, 'handoffs["EMS->ED"].defects.information=0.2')).model
    assert ami_spec.data == before
    changed = handoff(model, "EMS->ED")
    assert changed.defects.information.get("STEMI") == 0.2
    assert changed.defects.information.get("NSTEMI") == 0.2
    assert handoff(ami_model, "EMS->ED").defects.information.get("STEMI") == 0.43
    assert dataclasses.replace(changed, defects=handoff(ami_model, "EMS->ED").defects) == handoff(ami_model, "EMS->ED")
    others = [h for h in model.handoffs if h.label != "EMS->ED"]
    assert others == [h for h in ami_model.handoffs if h.label != "EMS->ED"]
    assert len(others) == len(ami_model.handoffs) - 1
    assert model.microsystems == ami_model.microsystems
    assert model.requests == ami_model.requests
    assert model.classes == ami_model.classes


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("scenario.replications=3", lambda s: s.replications == 3),
        ("scenario.horizon_days=40", lambda s: s.horizon == 40 * 1440.0),
        ('microsystems["ED"].capacity=5', lambda s: s.model.microsystem("ED").capacity == 5),
        ("microsystems.CCU.capacity=unlimited", lambda s: s.model.microsystem("CCU").capacity is None),
        ('microsystems["CCU"].service.median=2.0',
         lambda s: s.model.microsystem("CCU").steps[0].duration.median == 2.0 * 1440.0),
        ('classes["STEMI"].rate_per_day=1.44',
         lambda s: next(k for k in s.model.classes if k.name == "STEMI").rate == pytest.approx(0.001)),
        ('requests["ED=>Lab"].defects.services=0.05',
         lambda s: request(s.model, "ED=>Lab").defects.services.get("NSTEMI") == 0.05),
        ('microsystems["ED"].defects.aspirin_missed_on_arrival.STEMI=0.5',
         lambda s: dict(s.model.microsystem("ED").defects[0].probability.values) == {"STEMI": 0.5, "NSTEMI": 0.021}),
        ('microsystems["ED"].steps_by_class.STEMI["door_to_ecg"].median=3',
         lambda s: s.model.microsystem("ED").steps_for("STEMI")[0].duration.median == 3.0),
    ],
)
def test_apply_reaches_the_model(ami_spec, text, check):
    """Each documented kind of path sets the value that the built scenario then has."""
    assert check(build_scenario(set_one(ami_spec, text)))


def test_scalar_probability_becomes_per_class_table(ami_spec, ami_model):
    """Setting one class of a single-number probability keeps the old number for the other classes."""
    spec = set_one(ami_spec, 'requests["CathLab=>Pharmacy"].probability.STEMI=0.25')
    assert spec.data["requests"][3]["probability"] == {"default": 1.0, "STEMI": 0.25}
    model = build_scenario(spec).model
    p = request(model, "CathLab=>Pharmacy").probability
    assert (p.get("STEMI"), p.get("NSTEMI"), p.get("OtherCardiac")) == (0.25, 1.0, 1.0)


def test_scalar_defect_becomes_per_class_table(ami_spec):
    """A handoff defect kind given as one number becomes {default = old, CLASS = new}."""
    model = build_scenario(set_one(ami_spec, 'handoffs["EMS->ED"].defects.information.NSTEMI=0.1')).model
    info = handoff(model, "EMS->ED").defects.information
    assert (info.get("STEMI"), info.get("NSTEMI")) == (0.43, 0.1)


def test_missing_probability_counts_as_one(ami_spec):
    """A handoff without probability (1.0) keeps 1.0 for the classes not named."""
    spec = set_one(ami_spec, 'handoffs["HomeHealth->CardiologyPractice"].probability.NSTEMI=0.5')
    h = next(h for h in spec.data["handoffs"] if (h["from"], h["to"]) == ("HomeHealth", "CardiologyPractice"))
    assert h["probability"] == {"default": 1.0, "NSTEMI": 0.5}


def test_new_keys_inside_existing_tables(ami_spec):
    """A defect kind or defect not in the base, and a missing defects table, can be set."""
    spec = set_one(ami_spec, 'handoffs["EMS->ED"].defects.services=0.05')
    spec = set_one(spec, 'handoffs["CathLab->CardiacSurgery"].defects.patient=0.01')
    spec = set_one(spec, 'microsystems["CathLab"].defects.bleeding=0.02')
    model = build_scenario(spec).model
    ems = handoff(model, "EMS->ED").defects
    assert (ems.information.get("STEMI"), ems.services.get("STEMI")) == (0.43, 0.05)
    assert handoff(model, "CathLab->CardiacSurgery").defects.patient.get("STEMI") == 0.01
    assert model.microsystem("CathLab").quality_for("STEMI") == pytest.approx(0.98)


def test_unknown_key_is_left_to_validation(ami_spec):
    """A misspelt key is set, and build_scenario then reports it with a suggestion."""
    with pytest.raises(js.ValidationError, match="capcity: unknown key; did you mean 'capacity'"):
        build_scenario(set_one(ami_spec, 'microsystems["ED"].capcity=3'))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('handoffs["EMS->EX"].defects.information=0.2', 'did you mean handoffs["EMS->ED"]'),
        ('classes["STEMMI"].rate_per_day=1', 'did you mean classes["STEMI"]'),
        ('requests["ED->Lab"].probability=1', 'did you mean requests["ED=>Lab"]'),
        ('microsystems["Wardd"].capacity=1', "no microsystem \"Wardd\""),
        ("microsystems[99].capacity=1", "no [99]"),
        ("scenario.replications.STEMI=1", "scenario.replications is 20, not a table"),
        ('microsystems["ED"].capacity.STEMI=3', "is 30, not a table"),
        ("scenario[0]=1", "give a key, not the index"),
    ],
)
def test_unknown_entry_or_non_table_names_the_path(ami_spec, text, says):
    """An entry that does not exist, or a path into a non-table, raises naming the --set path."""
    ov = parse_override(text)
    with pytest.raises(js.ValidationError) as info:
        apply_overrides(ami_spec.data, [(ov, ov.values[0])])
    message = str(info.value)
    assert message.startswith(f"--set {ov.path}: ")
    assert says in message


def test_missing_array_reports_no_entry():
    """Selecting an entry of an array the document lacks reports the entry, not a type error later."""
    ov = parse_override('requests["ED=>Lab"].probability=1')
    with pytest.raises(js.ValidationError, match='no request "ED=>Lab"'):
        apply_overrides({"scenario": {}}, [(ov, 1)])


def test_later_assignment_wins():
    """Assignments are applied in order, so a later one to the same key wins."""
    a, b = parse_override("scenario.seed=1"), parse_override('["scenario"].seed=2')
    assert apply_overrides({}, [(a, 1), (b, 2)]) == {"scenario": {"seed": 2}}


# -- grids ------------------------------------------------------------------------------
def test_grid_size_and_order():
    """Two overrides of 2 and 3 values give 6 points, the first override varying slowest."""
    a = parse_override("scenario.replications=5,10")
    b = parse_override('handoffs["EMS->ED"].defects.information=0.43,0.3,0.2')
    points = grid([a, b])
    assert points == [
        {"scenario.replications": r, 'handoffs["EMS->ED"].defects.information': i}
        for r in (5, 10) for i in (0.43, 0.3, 0.2)
    ]
    assert [list(p) for p in points] == [[a.path, b.path]] * 6


def test_grid_of_nothing_is_the_base():
    """No overrides give one empty point: the scenario as it is."""
    assert grid([]) == [{}]


def test_grid_rejects_the_same_path_twice():
    """Two overrides of one value, however written, are an error rather than a silent overwrite."""
    with pytest.raises(js.ValidationError, match="sets the same value"):
        grid([parse_override("microsystems.ED.capacity=1"), parse_override('microsystems["ED"].capacity=2')])


def test_sweep_specs_build(ami_spec):
    """Each sweep point's spec builds into a scenario with that point's values, same file and origins."""
    a = parse_override("scenario.replications=2,3")
    b = parse_override('handoffs["EMS->ED"].defects.information=0.43,0.3,0.2')
    before = copy.deepcopy(ami_spec.data)
    specs = sweep_specs(ami_spec, [a, b])
    assert [point for point, _ in specs] == grid([a, b])
    for point, spec in specs:
        assert (spec.file, spec.origins) == (ami_spec.file, ami_spec.origins)
        scenario = build_scenario(spec)
        assert scenario.replications == point[a.path]
        assert handoff(scenario.model, "EMS->ED").defects.information.get("STEMI") == point[b.path]
    assert ami_spec.data == before


def test_sweep_problems_still_point_into_the_file(ami_spec):
    """A value out of range is reported by validation at its line in the scenario file."""
    (_, spec), = sweep_specs(ami_spec, [parse_override('handoffs["EMS->ED"].defects.information=1.4')])
    with pytest.raises(js.ValidationError) as info:
        build_scenario(spec)
    (problem,) = info.value.problems
    assert problem.file == ami_spec.file and problem.line is not None
    assert "1.4 is not a probability" in problem.message


def test_override_needs_parts_and_values():
    """An Override built by hand must have a path and at least one value."""
    with pytest.raises(js.ValidationError, match="no values"):
        Override("scenario.seed", ("scenario", "seed"), ())
    with pytest.raises(js.ValidationError, match="empty"):
        Override("", (), (1,))


def test_override_a_standard_and_a_schedule(ami_spec):
    """Standards are chosen by name; a shift of a schedule by index."""
    m = build_scenario(set_one(ami_spec, 'standards["door_to_balloon"].within=60')).model
    assert next(s for s in m.standards if s.name == "door_to_balloon").within == 60
    m = build_scenario(set_one(ami_spec, 'microsystems["CathLab"].schedule[0].capacity=3')).model
    assert m.microsystem("CathLab").capacity_at(9 * 60.0) == 3
