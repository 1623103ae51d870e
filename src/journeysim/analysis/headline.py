"""The answer first: a result's headline in plain words, its largest levers and the standards met.

:func:`headline` reads a summary and says, in sentences computed from it, what
share of journeys was free of any defect (with its 95% CI) and where the largest
gain would come from. It also lists the three largest levers and every standard,
each with its interval, for the first screen of the report. Every degenerate case
reads as a sentence, never as ``nan``: no journey counted (quality undefined), one
replication (no interval), a model with no defect and no standard (no lever),
a standard no journey reached (``not reached``).

Levers are ranked by their **simulated** gain in system quality (standards
included, the same figure as the first sentence) with its CI across replications;
without records (``--records summary``) by the exact gain, solved from the graph
with standards left out, and labelled so.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.analysis.result import simulate
>>> model = Model([Microsystem("A", capacity=2, service=Exponential(5), defect=0.1),
...                Microsystem("B", capacity=2, service=Exponential(5))],
...               [Handoff("A", "B", defects={"information": 0.3})],
...               classes=[PatientClass("p", entry="A", rate=0.1)])
>>> h = headline(simulate(model, horizon=20 * 1440, replications=3, seed=1))
>>> h.text.split(" of journeys")[1][:29]
' were free of any defect (95%'
>>> h.levers[0].element, h.levers[0].name
('A->B:information', 'the information handed over from A to B')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..model.mesosystem import Model
from ..run.stats import Estimate
from .leverage import LeverageRow, by_method
from .result import SimulationResult
from .summary import StandardResult, SummaryData

__all__ = ["Headline", "Lever", "StandardMet", "headline", "element_name", "percent", "percent_ci", "ci_label",
           "points", "points_ci", "standard_text", "target_text"]


def _given(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def percent(x: float | None, places: int = 1) -> str:
    """A share as a percent, ``"4.4%"`` (``"n/a"`` where undefined).

    Examples
    --------
    >>> percent(0.0437), percent(None), percent(float("nan"))
    ('4.4%', 'n/a', 'n/a')
    """
    x = _given(x)
    return "n/a" if x is None else f"{100 * x:.{places}f}%"


def percent_ci(est: Estimate) -> str:
    """The 95% CI of a share with its unit, ``"95% CI 3.8–5.0%"``, or ``""`` where there is none
    (one replication, or nothing counted).

    Examples
    --------
    >>> percent_ci(Estimate(0.044, (0.038, 0.05), 20))
    '95% CI 3.8–5.0%'
    >>> percent_ci(Estimate(0.044, (float("nan"), float("nan")), 1)), percent_ci(Estimate(1.0, (1.0, 1.0), 5))
    ('', '')
    """
    lo, hi = _given(est.ci95[0]), _given(est.ci95[1])
    if lo is None or hi is None or hi - lo < 1e-12:  # no interval, or every replication alike (0% or 100%)
        return ""
    return f"95% CI {100 * lo:.1f}–{100 * hi:.1f}%"


def points(x: float | None) -> str:
    """A difference of shares in percentage points, signed: ``"+13.9 points"``.

    Examples
    --------
    >>> points(0.139), points(-0.004), points(None)
    ('+13.9 points', '-0.4 points', 'n/a')
    """
    x = _given(x)
    return "n/a" if x is None else f"{100 * x:+.1f} points"


def points_ci(interval: tuple[float | None, float | None] | None) -> str:
    """The 95% CI of a difference in points, ``"95% CI +1.2 to +3.4 points"`` (``""`` where there is none).

    Examples
    --------
    >>> points_ci((-0.001, 0.033)), points_ci(None)
    ('95% CI -0.1 to +3.3 points', '')
    """
    lo, hi = (None, None) if interval is None else (_given(interval[0]), _given(interval[1]))
    if lo is None or hi is None or hi - lo < 1e-12:  # no interval, or the same gain in every replication
        return ""
    return f"95% CI {100 * lo:+.1f} to {100 * hi:+.1f} points"


_KIND_WORDS = {"patient": "the patient handed over", "information": "the information handed over",
               "services": "the services arranged"}


def element_name(element: str, model: Model) -> str:
    """A leverage element in plain words.

    Examples
    --------
    >>> from journeysim.model.elements import Microsystem, PatientClass
    >>> m = Model([Microsystem("ED", defect=0.1)], classes=[PatientClass("p", entry="ED", rate=0.1)])
    >>> element_name("EMS->ED:information", m), element_name("ED", m), element_name("ED=>Lab", m)
    ('the information handed over from EMS to ED', 'care in ED', 'the requests from ED to Lab')
    """
    if element in {s.name for s in model.standards}:
        return f"the standard {element}"
    if "->" in element:
        link, _, kind = element.partition(":")
        source, _, target = link.partition("->")
        return f"{_KIND_WORDS.get(kind, kind or 'the handoff')} from {source} to {target}"
    if "=>" in element:
        source, _, target = element.partition("=>")
        return f"the requests from {source} to {target}"
    return f"care in {element}"


@dataclass(frozen=True, slots=True)
class Lever:
    """One of the largest levers: the gain in system quality if ``element`` never failed.

    ``gain`` is a share of journeys (0.139 is 13.9 points); ``ci95`` is ``None`` for an
    exact gain (no sampling error) and for one replication.
    """

    element: str
    name: str
    method: str
    gain: float
    ci95: tuple[float | None, float | None] | None
    standard: bool = False

    @property
    def if_text(self) -> str:
        """``"if it never failed"``, or ``"if it were always met"`` for a standard."""
        return "if it were always met" if self.standard else "if it never failed"

    @property
    def ci_text(self) -> str:
        """``"95% CI +1.2 to +3.4 points"``, ``"exact, standards aside"`` or ``""``."""
        if self.method == "exact":
            return "exact, from the graph, standards aside"
        return points_ci(self.ci95)


@dataclass(frozen=True, slots=True)
class StandardMet:
    """A timeliness standard's share met, with its target and the number of journeys it judged."""

    name: str
    target_minutes: float
    met: Estimate
    applies: int

    @property
    def reached(self) -> bool:
        """Whether any journey was judged (else the share met is undefined)."""
        return self.applies > 0 and _given(self.met.mean) is not None


@dataclass(frozen=True, slots=True)
class Headline:
    """What a result means, in plain words, and the figures the first screen shows beside it.

    Attributes
    ----------
    text : str
        One to three sentences: system quality with its CI, the largest gain, and any caveat.
    quality : Estimate
        System quality (simulated, any defect).
    journeys, replications : int
        Journeys counted and replications.
    levers : tuple of Lever
        The three largest, largest first (fewer, or none, when fewer elements can fail).
    element_lever : Lever or None
        The largest exact gain in the quality of elements only (standards aside), where
        the levers are simulated (else it is among them); ``None`` without an exact solve.
    standards : tuple of StandardMet
        Every standard, in the scenario's order.
    no_lever_reason : str
        Why there is no lever, in one sentence (the headline's own words where it says it);
        ``""`` when there are levers.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> result = js.simulate(model, horizon=1440, replications=2, seed=1)
    >>> h = js.headline(result, top=1)
    >>> type(h).__name__, len(h.levers), h.replications
    ('Headline', 1, 2)
    """

    text: str
    quality: Estimate
    journeys: int
    replications: int
    levers: tuple[Lever, ...]
    standards: tuple[StandardMet, ...]
    element_lever: Lever | None = None
    no_lever_reason: str = ""


def _levers(rows: Sequence[LeverageRow], model: Model, top: int) -> tuple[Lever, ...]:
    simulated, exact = by_method(rows)
    use = simulated or list(exact.values())  # without records: the exact gains
    ranked = sorted((r for r in use if r.if_perfect > 0), key=lambda r: -r.if_perfect)[:top]
    return tuple(_lever(r, model) for r in ranked)


def _lever(r: LeverageRow, model: Model) -> Lever:
    standard = r.element in {s.name for s in model.standards}
    return Lever(r.element, element_name(r.element, model), r.method, r.if_perfect, r.ci95_if_perfect, standard)


def _quality_sentence(q: Estimate, journeys: int, replications: int) -> str:
    mean = _given(q.mean)
    if journeys == 0 or mean is None:
        return ("No journey was counted (none arrived after the warm-up and ended before the run stopped), "
                "so quality is undefined: lengthen the horizon or raise the arrival rate.")
    ci = percent_ci(q)
    tail = f" ({ci_label(ci, replications)})" if ci else (" (one replication: no confidence interval)"
                                                         if replications < 2 else "")
    if mean >= 1.0:
        return f"Every one of the {journeys:,} journeys counted was free of any defect (100%)."
    if mean <= 0.0:
        return f"Not one of the {journeys:,} journeys counted was free of any defect (0%)."
    return f"{percent(mean)} of journeys were free of any defect{tail}."


def ci_label(ci: str, replications: int) -> str:
    """A share's CI text labelled with its kind where it is not across replications: with one
    replication it is the Wilson interval over the journeys (:func:`~journeysim.run.stats.proportion_ci`).

    Examples
    --------
    >>> ci_label("95% CI 3.8–5.0%", 1), ci_label("95% CI 3.8–5.0%", 5)
    ('95% CI 3.8–5.0%, Wilson interval over journeys; one replication', '95% CI 3.8–5.0%')
    """
    return f"{ci}, Wilson interval over journeys; one replication" if ci and replications < 2 else ci


def _no_lever_reason(quality: float | None, has_elements: bool) -> str:
    """Why no lever would raise quality, in one sentence."""
    if not has_elements:
        return "No element can fail and no standard is set, so there is no lever to pull."
    if quality is None:
        return "No journey was counted, so no lever can be measured."
    if quality >= 1.0:
        return "Every journey counted was free of any defect, so there is nothing for a lever to gain."
    return ("No single element, if it never failed, would make a journey free of any defect: every "
            "defective journey has defects in two or more places.")


def _lever_sentence(levers: Sequence[Lever], quality: float | None, has_elements: bool) -> str:
    if quality is None:
        return ""
    if not levers:  # levers hold positive gains only; the quality sentence already says 100%
        return "" if has_elements and quality >= 1.0 else _no_lever_reason(quality, has_elements)
    top = levers[0]
    ci = top.ci_text
    return (f"The largest gain would come from {top.name} ({points(top.gain)} {top.if_text}"
            f"{', ' + ci if ci else ''}).")


def _element_sentence(lever: Lever | None, levers: Sequence[Lever], exact: float | None) -> str:
    """The largest exact gain in quality of elements only, where it is not the top simulated lever."""
    if lever is None or lever.gain <= 0 or exact is None or (levers and levers[0].element == lever.element):
        return ""
    return (f"For element defects alone (standards aside, {percent(exact)} exact), it would be "
            f"{lever.name} ({points(lever.gain)}, exact).")


def headline(result: SimulationResult, summary: SummaryData | None = None, *, top: int = 3) -> Headline:
    """The headline of ``result``: plain sentences, the ``top`` largest levers and the standards met.

    Parameters
    ----------
    result : SimulationResult
    summary : SummaryData, optional
        ``result.summary()``, if already computed.
    top : int
        How many levers to keep.

    Returns
    -------
    Headline

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> result = js.simulate(model, horizon=1440, replications=2, seed=1)
    >>> h = js.headline(result)
    >>> h.text.split(" (")[0]
    '95.9% of journeys were free of any defect'
    >>> h.levers[0].name
    'care in Clinic'
    """
    d = summary if summary is not None else result.summary()
    model = result.scenario.model
    rows = d.quality.leverage
    levers = _levers(rows, model, top)
    q = d.quality.system.simulated
    mean = _given(q.mean) if d.journeys.completed else None
    has_elements = bool(rows) or bool(model.standards)  # something can fail, even if no fix alone helps
    exact_rows = list(by_method(rows)[1].values())
    element_lever = (_lever(exact_rows[0], model) if exact_rows and levers and levers[0].method == "simulated"
                     else None)
    exact = _given(d.quality.system.analytic) if d.quality.system.analytic_unavailable is None else None
    sentences = [_quality_sentence(q, d.journeys.completed, d.replications),
                 _lever_sentence(levers, mean, has_elements),
                 _element_sentence(element_lever, levers, exact) if mean is not None else ""]
    standards = tuple(StandardMet(name, s.target_minutes, s.met, s.applies) for name, s in d.standards.items())
    return Headline(" ".join(s for s in sentences if s), q, d.journeys.completed, d.replications, levers,
                    standards, element_lever, "" if levers else _no_lever_reason(mean, has_elements))


def standard_text(s: StandardMet | StandardResult, name: str | None = None) -> str:
    """``"door_to_balloon: 78.1% within 90 min (95% CI 71.2–85.0%)"`` or ``"…: no journey reached it"``."""
    label = name or getattr(s, "name", "")
    met, applies = s.met, s.applies
    if applies == 0 or _given(met.mean) is None:
        return f"{label}: no journey reached it"
    ci = percent_ci(met)
    return f"{label}: {percent(met.mean)} within {target_text(s.target_minutes)}" + (f" ({ci})" if ci else "")


def target_text(minutes: float) -> str:
    """A target as people say it.

    Examples
    --------
    >>> target_text(10.0), target_text(240.0), target_text(7 * 1440.0)
    ('10 min', '4 h', '7 days')
    """
    if minutes >= 1440 and minutes % 1440 == 0:
        days = int(minutes // 1440)
        return f"{days} day" + ("s" if days != 1 else "")
    if minutes >= 120 and minutes % 60 == 0:
        return f"{int(minutes // 60)} h"
    return f"{minutes:g} min"
