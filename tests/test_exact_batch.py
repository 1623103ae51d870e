"""The batched exact analysis (issue: exact analysis at the cost of a few solves) gives today's answers to 1e-10.

The oracle is journeysim's own algorithm before the batched solver, copied into
``tests/exact_reference.py``: one scipy sparse system per class and frailty node,
solved again for every scaled element. Each test compares one output (exact
quality, leverage rows, Six Sigma, the cascade's exact column, dependence) on the
flagship, every shipped scenario, hand-made models that exercise one feature
each, and a seeded batch of random small models.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import exact_reference as ref
import journeysim as js
from journeysim.analysis.cascade import cascade
from journeysim.analysis.compiled import DENSE_MAX, CompiledModel
from journeysim.analysis.dependence import dependence_result
from journeysim.analysis.exact import exact_quality, visit_quality
from journeysim.analysis.leverage import _elements, exact_leverage_rows
from journeysim.analysis.sixsigma import exact_six_sigma_result
from journeysim.model.distributions import Exponential, Fixed
from journeysim.model.elements import Handoff, Microsystem, PatientClass, Recovery, ServiceRequest
from journeysim.model.frailty import Frailty
from journeysim.model.mesosystem import Model

#: the singular model's system is singular in the reference and in the batch alike (its answer is nan)
pytestmark = pytest.mark.filterwarnings("ignore:Matrix is exactly singular")

SCENARIOS = Path(__file__).parent.parent / "scenarios"
DATA = Path(__file__).parent / "data"
TOLERANCE = 1e-10


def with_frailty() -> Model:
    """A branching pathway with a loop, requests and a frailty (defects cluster)."""
    return Model(
        [Microsystem("A", capacity=2, service=Exponential(3.0), defects={"x": 0.05, "y": 0.3}),
         Microsystem("B", capacity=1, service=Exponential(2.0), defect=0.1),
         Microsystem("C", service=Exponential(4.0), defect=0.7),
         Microsystem("Lab", kind="support", capacity=1, service=Exponential(2.0), defect=0.03)],
        [Handoff("A", "B", probability=0.6, defects={"information": 0.15, "patient": 0.02}),
         Handoff("A", "C", probability=0.4, defects={"services": 0.1}),
         Handoff("B", "A", probability=0.25, defects={"information": 0.05})],
        requests=[ServiceRequest("A", "Lab", probability=0.5, defects={"information": 0.1, "services": 0.02})],
        classes=[PatientClass("p", entry="A", rate=0.2)],
        frailty=Frailty(0.35),
    )


def requests_and_recovery() -> Model:
    """Two classes, two support microsystems, caught information defects, propagation, a background class."""
    return Model(
        [Microsystem("ED", capacity=3, service=Exponential(5.0), defects={"aspirin": {"S": 0.02, "N": 0.03}}),
         Microsystem("Ward", capacity=4, service=Exponential(20.0), defects={"meds": 0.1, "dc": {"N": 0.2}}),
         Microsystem("Clinic", capacity=2, service=Exponential(10.0), defect=0.05),
         Microsystem("Lab", kind="support", service=Exponential(3.0), defect=0.04),
         Microsystem("Pharmacy", kind="support", service=Exponential(3.0), defects={"recon": 0.14})],
        [Handoff("ED", "Ward", probability={"S": 0.9, "N": 0.7}, defects={"information": 0.25},
                 recovery=Recovery({"S": 0.5, "N": 0.3}, Fixed(5.0)), propagation=2.0),
         Handoff("Ward", "Clinic", probability=0.8, defects={"information": 0.75, "services": {"N": 0.24}},
                 recovery=Recovery(0.2, Fixed(10.0))),
         Handoff("Clinic", "Ward", probability=0.05, defects={"patient": 0.01})],
        requests=[ServiceRequest("ED", "Lab", probability=0.9, defects={"information": 0.05}),
                  ServiceRequest("ED", "Pharmacy", probability={"S": 0.4, "N": 0.6}, defects={"services": 0.1}),
                  ServiceRequest("Ward", "Pharmacy", probability=1.0, defects={"information": 0.3}),
                  ServiceRequest("Ward", "Lab", probability=0.3)],
        classes=[PatientClass("S", entry="ED", rate=0.01), PatientClass("N", entry={"ED": 0.8, "Ward": 0.2}, rate=0.02),
                 PatientClass("bg", entry="Ward", rate=0.005, background=True)],
        frailty=Frailty(0.2),
    )


def without_defects() -> Model:
    """No defect anywhere: quality 1 and no element with leverage."""
    return Model(
        [Microsystem("A", service=Fixed(1.0)), Microsystem("B", service=Fixed(1.0)),
         Microsystem("Lab", kind="support", service=Fixed(1.0))],
        [Handoff("A", "B", probability=0.7), Handoff("B", "A", probability=0.1)],
        requests=[ServiceRequest("B", "Lab", probability=0.5)],
        classes=[PatientClass("p", entry="A", rate=0.1)],
    )


def singular() -> Model:
    """Class ``a`` never reaches the loop B <-> C, which it would never leave: its system is singular, and its
    quality was ``nan`` (a sparse LU of a singular matrix); class ``b``'s is not."""
    return Model([Microsystem("A", defect=0.1), Microsystem("B"), Microsystem("C")],
                 [Handoff("A", "B", probability={"b": 1.0}), Handoff("B", "C", probability={"a": 1.0, "b": 0.5}),
                  Handoff("C", "B", probability={"a": 1.0, "b": 0.5})],
                 classes=[PatientClass("a", entry="A", rate=0.1), PatientClass("b", entry="A", rate=0.1)])


def _split(rng: np.random.Generator, total: float, parts: int) -> list[float]:
    shares = rng.dirichlet(np.ones(parts))
    return [round(float(total * s), 6) for s in shares]


def _probability(rng: np.random.Generator, classes: list[str], high: float = 0.5) -> float | dict[str, float]:
    """A defect probability: often 0, sometimes certain, sometimes different per class."""
    draw = rng.random()
    if draw < 0.25:
        return 0.0
    if draw < 0.3:
        return 1.0
    if draw < 0.6 and len(classes) > 1:
        return {k: round(float(rng.uniform(0, high)), 4) for k in classes if rng.random() < 0.8}
    return round(float(rng.uniform(0, high)), 4)


def random_model(seed: int, size: int | None = None, correlation: float | None = None) -> Model:
    """A random small mesosystem: a chain with extra links (loops and self-loops included), requests to support
    microsystems, recoveries, propagation, several (and background) classes, per-class probabilities, a frailty."""
    rng = np.random.default_rng(seed)
    n = size or int(rng.integers(1, 7))
    classes = ["a", "b", "c"][: int(rng.integers(1, 4))]
    clinical = [f"N{i}" for i in range(n)]
    support = [f"S{i}" for i in range(int(rng.integers(0, 3)))]
    micro = [Microsystem(name, service=Fixed(1.0), kind=kind,
                         defects={f"d{j}": _probability(rng, classes) for j in range(int(rng.integers(0, 4)))})
             for names, kind in ((clinical, "clinical"), (support, "support")) for name in names]
    links = {(i, i + 1) for i in range(n - 1)} | {(int(a), int(b)) for a, b in rng.integers(0, n, (n, 2))}
    out: dict[int, list[int]] = {}
    for a, b in sorted(links):
        out.setdefault(a, []).append(b)
    routing = {k: {a: _split(rng, float(rng.uniform(0.3, 0.95)), len(bs)) for a, bs in out.items()} for k in classes}
    handoffs = []
    for a, bs in out.items():
        for j, b in enumerate(bs):
            recovery = Recovery(_probability(rng, classes, 1.0), Fixed(1.0)) if rng.random() < 0.4 else None
            handoffs.append(Handoff(clinical[a], clinical[b], probability={k: routing[k][a][j] for k in classes},
                                    defects={kind: _probability(rng, classes) for kind in ("patient", "information",
                                                                                           "services")},
                                    recovery=recovery, propagation=1.5 if rng.random() < 0.3 else 1.0))
    requests = [ServiceRequest(clinical[int(rng.integers(0, n))], s, probability=float(rng.uniform(0.1, 1.0)),
                               defects={kind: _probability(rng, classes) for kind in ("information", "services")})
                for s in support]
    requests += [ServiceRequest(clinical[int(rng.integers(0, n))], s, probability=_probability(rng, classes, 1.0))
                 for s in support if rng.random() < 0.5 and n > 1]
    requests = list({(r.source, r.target): r for r in requests}.values())
    kinds = [PatientClass(k, entry={clinical[0]: 0.6, clinical[-1]: 0.4} if n > 1 and rng.random() < 0.5
                          else clinical[0], rate=float(rng.uniform(0.0, 0.1)) if c else 0.05,
                          background=bool(c and rng.random() < 0.3))
             for c, k in enumerate(classes)]
    frailty = Frailty(round(float(rng.uniform(0.05, 0.6)), 3)) if rng.random() < 0.4 else Frailty()
    if correlation is not None:
        frailty = Frailty(correlation)
    return Model(micro, handoffs, requests, classes=kinds, frailty=frailty)


def _reference_knows(path: Path) -> bool:
    """The reference predates routing by state and defect multipliers: it solves the scenarios without them
    (the flagship's attributes are checked state by state in :func:`test_the_flagship_is_the_reference_per_state`)."""
    m = js.load_scenario(path).model
    return not m.has_conditions and not any(x.defect_multipliers for x in (*m.microsystems, *m.handoffs))


MODELS: dict[str, Callable[[], Model]] = {
    **{f"scenario:{p.stem}": (lambda p=p: js.load_scenario(p).model) for p in sorted(SCENARIOS.glob("*.toml"))
       if _reference_knows(p)},
    # the flagship as it was before patient attributes: the case the batched solver was built for
    "scenario:ami-before-attributes": lambda: js.load_scenario(DATA / "ami_before_issue16.toml").model,
    "with_frailty": with_frailty,
    "requests_and_recovery": requests_and_recovery,
    "without_defects": without_defects,
    "singular": singular,
    **{f"random:{seed}": (lambda seed=seed: random_model(seed)) for seed in range(24)},
}


def largest(a: object, b: object) -> float:
    difference, where = ref.largest_difference(a, b)
    assert difference <= TOLERANCE, (where, difference)
    return difference


@pytest.fixture(params=sorted(MODELS), scope="module")
def model(request: pytest.FixtureRequest) -> Model:
    return MODELS[request.param]()


def test_the_flagship_is_among_the_models():
    """The flagship has a frailty, requests and several classes: the case the speed-up is for."""
    m = MODELS["scenario:ami-before-attributes"]()
    assert not m.frailty.is_independent and m.requests and len(m.classes) > 1


def test_random_models_cover_every_feature():
    """The random batch holds loops, requests, recoveries, propagation, a frailty and background classes."""
    models = [random_model(seed) for seed in range(24)]
    assert any(any(h.source == h.target for h in m.handoffs) for m in models)
    assert any(m.requests for m in models)
    assert any(any(h.recovery is not None for h in m.handoffs) for m in models)
    assert any(any(h.propagation != 1.0 for h in m.handoffs) for m in models)
    assert any(not m.frailty.is_independent for m in models)
    assert any(any(k.background for k in m.classes) for m in models)


@pytest.mark.parametrize("independent", [False, True], ids=["frailty", "independent"])
def test_exact_quality_is_the_reference(model, independent):
    """Every field of exact_quality (system, by class, from node, visits, visit and handoff qualities)."""
    new = dataclasses.asdict(exact_quality(model, independent=independent))
    old = dataclasses.asdict(ref.exact_quality(model, independent=independent))
    largest(new, old)


def test_a_scaled_solve_is_the_reference(model):
    """Several scale keys at once, a request's own key and a handoff-kind key on a request included."""
    rng = np.random.default_rng(len(model.microsystems))
    scale: dict[tuple[str, ...], float] = {("nothing", "here"): 0.0, ("microsystem",): 0.0, ("request", "X=>Y"): 0.0}
    for m in model.microsystems:
        scale[("microsystem", m.name)] = float(rng.choice([0.0, 0.3, 1.0]))
    for h in model.handoffs:
        scale[("handoff", h.label, "information")] = float(rng.choice([0.0, 0.5]))
        scale[("request", h.label)] = 0.7  # a handoff answers to its label's request key too
        scale[("handoff", h.label)] = 0.0  # names no kind: ignored
    for r in model.requests:
        scale[("request", r.label)] = 0.5
        scale[("handoff", r.label, "services")] = 0.0
        scale[("handoff", r.label, "patient")] = 0.0  # a request carries no patient: ignored
    largest(dataclasses.asdict(exact_quality(model, scale)), dataclasses.asdict(ref.exact_quality(model, scale)))


def test_exact_leverage_is_the_reference(model):
    """Each element's gains if perfect and if halved, and the ranking by gain if perfect."""
    new = exact_leverage_rows(model)
    old = ref.exact_leverage_rows(model)
    assert [r.if_perfect for r in new] == sorted((r.if_perfect for r in new), reverse=True)
    largest({r.element: dataclasses.asdict(r) for r in sorted(new, key=lambda r: r.element)},
            {r.element: dataclasses.asdict(r) for r in sorted(old, key=lambda r: r.element)})


def test_exact_six_sigma_is_the_reference(model):
    """Opportunities and defects per journey (propagation under a frailty included), DPMO, sigma level, RTY."""
    largest(exact_six_sigma_result(model).to_dict(), ref.exact_six_sigma_result(model).to_dict())


def test_visit_quality_is_the_reference(model):
    """The visit quality of every clinical microsystem and class (support requests included, no frailty)."""
    for m in model.microsystems:
        if m.kind == "clinical":
            for k in model.class_names:
                assert abs(visit_quality(model, m.name, k) - ref.visit_quality(model, m.name, k)) <= TOLERANCE


def test_dense_and_sparse_solves_agree(model):
    """The stacked dense systems and the one-at-a-time sparse solves give the same batch."""
    compiled = CompiledModel.of(model)
    multipliers = compiled.multipliers([{}] + [{key: 0.5} for _, key in _elements(model)])
    dense = compiled.solve(multipliers, detail=True, method="dense")
    sparse = compiled.solve(multipliers, detail=True, method="sparse")
    for field in ("system", "by_class", "from_node", "visit", "handoff"):
        np.testing.assert_allclose(getattr(dense, field), getattr(sparse, field), rtol=0.0, atol=TOLERANCE,
                                   err_msg=field)  # nan where the reference had nan, in both


@pytest.mark.parametrize("size, correlation", [(60, 0.3), (120, 0.0)], ids=["dense-chunks", "sparse-blocks"])
def test_a_large_batch_is_the_reference(size, correlation):
    """Leverage of a 60-microsystem model with a frailty (stacked dense systems, in many memory-bounded
    chunks) and of a 120-microsystem one (block-diagonal sparse systems): sampled elements' gains are the
    reference's scaled solves."""
    model = random_model(101, size=size, correlation=correlation)
    compiled = CompiledModel.of(model)
    elements = _elements(model)
    dense = size <= DENSE_MAX
    assert not dense or 2 * len(elements) > compiled._chunk(len(model.frailty.nodes()[0]), dense) > 1
    rows = {r.element: r for r in exact_leverage_rows(model)}
    base = ref.exact_quality(model).system
    for label, key in [elements[i] for i in np.random.default_rng(0).choice(len(elements), 4, replace=False)]:
        assert abs(rows[label].if_perfect - (ref.exact_quality(model, {key: 0.0}).system - base)) <= TOLERANCE
        assert abs(rows[label].if_halved - (ref.exact_quality(model, {key: 0.5}).system - base)) <= TOLERANCE


SIMULATED = ["scenario:ami-before-attributes", "with_frailty", "requests_and_recovery", "without_defects", "random:1", "random:4",
             "random:7", "random:12"]


@pytest.fixture(params=SIMULATED, scope="module")
def run(request: pytest.FixtureRequest) -> js.SimulationResult:
    model = MODELS[request.param]()
    horizon = 40 * 1440.0 if request.param.startswith("scenario:ami") else 3_000.0
    return js.simulate(model, horizon=horizon, replications=2, seed=5)


def test_the_cascade_is_the_reference(run):
    """The cascade's exact column multiplies the same element qualities as the reference's solution."""
    model = run.scenario.model
    new = cascade(run)
    old = cascade(run, exact=ref.exact_quality(model))
    assert new.drop(columns="exact").equals(old.drop(columns="exact"))
    largest(new["exact"].tolist(), old["exact"].tolist())


def test_dependence_is_the_reference(run):
    """The independent product and the exact value with the frailty, pathway and per class."""
    model = run.scenario.model
    new = dependence_result(run).to_dict()
    old = dependence_result(run, ref.exact_quality(model), ref.exact_quality(model, independent=True)).to_dict()
    largest(new, old)


# -- the flagship routes by patient attributes: the reference solves it one attribute state at a time

#: the flagship's conditions, evaluated here by hand (not by journeysim's parser)
FLAGSHIP_CONDITIONS: dict[str, Callable[[dict[str, object]], bool]] = {
    "stemi_alert": lambda s: bool(s["stemi_alert"]),
    "not stemi_alert": lambda s: not s["stemi_alert"],
    'treatment != "CABG"': lambda s: s["treatment"] != "CABG",
    'treatment == "CABG"': lambda s: s["treatment"] == "CABG",
}


def _states(attributes: dict) -> list[tuple[float, dict[str, object]]]:
    """Every combination of the class's attribute values with its probability (attributes are independent)."""
    treatment = attributes["treatment"]
    alert = attributes["stemi_alert"]["bernoulli"]
    return [(share * (alert if a else 1.0 - alert), {"treatment": t, "stemi_alert": a})
            for t, share in treatment.items() for a in (True, False)]


def test_the_flagship_is_the_reference_per_state():
    """The flagship's exact quality, which sums over its classes' treatment and ECG-alert states, equals the
    reference solved on each state's fixed routing (each conditional handoff's probability where its condition
    holds, 0 elsewhere), weighted by the state's probability: per class, and for the pathway by arrival rate."""
    from journeysim.io.scenario_file import build_scenario, read_spec

    spec = read_spec(SCENARIOS / "ami.toml")
    model = js.load_scenario(SCENARIOS / "ami.toml").model
    new = exact_quality(model)
    classes = {k["name"]: k for k in spec.data["classes"]}
    expected: dict[str, float] = {}
    for name in ("STEMI", "NSTEMI"):
        total = 0.0
        for weight, state in _states(classes[name]["attributes"]):
            data = dict(spec.data, handoffs=[dict(h) for h in spec.data["handoffs"]])
            for h in data["handoffs"]:
                when = h.pop("when", None)
                if when is not None:
                    p = h.get("probability", 1.0)
                    p = p.get(name, 0.0) if isinstance(p, dict) else p
                    h["probability"] = {name: p if FLAGSHIP_CONDITIONS[when](state) else 0.0}
            fixed = build_scenario(dataclasses.replace(spec, data=data)).model
            assert not fixed.has_conditions
            total += weight * ref.exact_quality(fixed).by_class[name]
        expected[name] = total
        assert abs(new.by_class[name] - total) <= TOLERANCE, (name, new.by_class[name], total)
    rates = {k.name: k.rate for k in model.classes if not k.background}
    system = sum(rates[k] * expected[k] for k in rates) / sum(rates.values())
    assert abs(new.system - system) <= TOLERANCE
