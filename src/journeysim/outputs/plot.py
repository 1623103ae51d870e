"""Plots of a result: the pathway, the quality cascade, leverage, times, load over time, comparisons.

Every function takes ``ax=None`` (a new figure is made when it is ``None``)
and returns the matplotlib Axes it drew on, in the manner of networkx's
drawing functions. matplotlib is imported inside the functions, so importing
journeysim never loads it.

=====================  ==========================================================
:func:`pathway`        the mesosystem: nodes and handoffs coloured by quality,
                       sized by volume
:func:`cascade`        share of journeys still defect-free along a class's path
:func:`leverage`       tornado of the gain in system quality per element fixed
:func:`journey_times`  distribution of time in the pathway, per class
:func:`standard`       distribution of one standard's interval with its target
:func:`utilisation`    daily utilisation of each microsystem over simulated time
:func:`queue_length`   daily mean number waiting at each microsystem
:func:`comparison`     differences from the base scenario with 95% CIs
:func:`fit`            a sample with the distributions fitted to it
:func:`fit_qq`         QQ plot of the best fitted distribution
:func:`fit_figure`     both, side by side, on a figure to save
=====================  ==========================================================

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Handoff, Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.analysis.result import simulate
>>> model = Model([Microsystem("A", capacity=1, service=Exponential(5), defect=0.1),
...                Microsystem("B", capacity=2, service=Exponential(8), defect=0.05)],
...               [Handoff("A", "B", defects={"information": 0.2})],
...               classes=[PatientClass("all", entry="A", rate=0.1)])
>>> result = simulate(model, horizon=3 * 1440, replications=2, seed=1)
>>> ax = pathway(result)
>>> ax.get_title()
'Pathway quality: all'
>>> utilisation(result).get_ylabel()
'utilisation (%)'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, ParamSpec

import numpy as np
import pandas as pd

from ..analysis.leverage import by_method
from ..analysis.result import SimulationResult
from ..engine.records import Records
from ..errors import JourneySimError, renamed_key

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..analysis.comparison import Comparison
    from ..analysis.metrics import Summary
    from ..data.fit import FamilyFit, FitResult

__all__ = [
    "pathway",
    "quality_colours",
    "QUALITY_BANDS",
    "cascade",
    "leverage",
    "journey_times",
    "standard",
    "utilisation",
    "queue_length",
    "comparison",
    "fit",
    "fit_qq",
    "fit_figure",
    "to_svg",
]

_GOOD, _BAD = "#1a9850", "#d73027"
_Args = ParamSpec("_Args")


def _names_as_written(draw: Callable[_Args, Axes]) -> Callable[_Args, Axes]:
    """Show every text of the plot as written: a name with ``$``, ``_`` or ``\\`` is not mathtext.

    matplotlib reads text between two ``$`` as TeX math, where ``_`` and ``\\``
    are operators and an unknown command fails at drawing time. Names come
    from scenario files, so none of a plot's own texts is parsed as math.
    """

    @functools.wraps(draw)
    def wrapper(*args: _Args.args, **kwargs: _Args.kwargs) -> Axes:
        ax = draw(*args, **kwargs)
        from matplotlib.text import Text

        for text in ax.findobj(Text):
            text.set_parse_math(False)
        return ax

    return wrapper


def _legend_name(name: str) -> str:
    """A name as a legend label: matplotlib leaves out labels that start with ``_``."""
    return "\u200b" + name if name.startswith("_") else name


def _axes(ax: Axes | None, size: tuple[float, float] = (8.0, 4.5)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


def _nothing(ax: Axes, title: str, why: str) -> Axes:
    """An empty plot that says why there is nothing to draw (no journey counted, none reached...)."""
    ax.set_title(title, fontsize=11)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, fontsize=10, color="#555555", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _summary(result: SimulationResult, summary: Summary | None) -> Summary:
    return summary if summary is not None else result.summary()


def _needs_records(result: SimulationResult, what: str) -> None:
    if not result.records:
        raise JourneySimError(f"{what} needs the journeys' records: run with records='full'")


def _time_unit(minutes: float) -> tuple[float, str]:
    """A readable unit for spans around ``minutes``: (minutes per unit, name)."""
    if minutes >= 2 * 1440:
        return 1440.0, "days"
    if minutes >= 180:
        return 60.0, "hours"
    return 1.0, "minutes"


def to_svg(draw: Callable[[Axes], Any], size: tuple[float, float] = (8.0, 4.5), *, salt: str = "") -> str:
    """Draw on a new figure made without pyplot and return it as an SVG element to embed in HTML.

    Text stays text (``svg.fonttype: none``), so the page's fonts render it and it
    can be searched and printed sharply; ``salt`` keeps the element ids of several
    figures on one page apart, and makes them the same from run to run.

    Examples
    --------
    >>> svg = to_svg(lambda ax: ax.plot([0, 1], [1, 0]), (3, 2), salt="demo")
    >>> svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    True
    """
    import io

    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt or "journeysim"}):
        fig = Figure(figsize=size, layout="constrained")
        draw(fig.subplots())
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


# -- the mesosystem ------------------------------------------------------------------------


def _entries(model: Any) -> list[str]:
    """Entry microsystems of the pathway classes (all classes if every one is background)."""
    classes = [k for k in model.classes if not k.background] or list(model.classes)
    names: list[str] = []
    for k in classes:
        names += [name for name, _ in k.entries]
    return list(dict.fromkeys(names))


def _layers(graph: Any, entries: Sequence[str]) -> dict[str, int]:
    """Column of each clinical microsystem: its longest handoff distance from an entry, loops cut."""
    import networkx as nx

    clinical = [n for n, kind in graph.nodes(data="kind") if kind == "clinical"]
    after = {n: [v for _, v, k in graph.out_edges(n, data="kind") if k == "handoff"] for n in clinical}
    forward: nx.DiGraph[str] = nx.DiGraph()
    forward.add_nodes_from(clinical)
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str) -> None:
        state[node] = 1
        for nxt in after[node]:
            if state.get(nxt) != 1:  # an edge back onto the path closes a loop: leave it out
                forward.add_edge(node, nxt)
            if nxt not in state:
                visit(nxt)
        state[node] = 2

    for node in [*entries, *clinical]:
        if node not in state:
            visit(node)
    layer: dict[str, int] = {}
    for node in nx.topological_sort(forward):
        layer[node] = max((layer[u] + 1 for u in forward.predecessors(node)), default=0)
    return layer


#: Quality bands of the pathway figure, in percent: fine near 100%, where handoffs and
#: microsystems differ in practice, coarse below. Each band keeps its colour in every figure.
QUALITY_BANDS = (0.0, 50.0, 70.0, 80.0, 90.0, 95.0, 98.0, 99.0, 99.9, 100.0)
#: Their colours, red to green as ColorBrewer's RdYlGn but with the pale middle darkened to gold
#: and yellow-green, so that a thin handoff arrow in any band stands out on white.
_BAND_COLOURS = ("#a50026", "#d73027", "#f46d43", "#f39a32", "#d4a900", "#9fc03a", "#5cb85c", "#1a9850",
                 "#00592e")


def quality_colours(values: Sequence[float]) -> tuple[Any, Any]:
    """The colour map and norm of the pathway figure for qualities ``values`` (fractions).

    A banded red-yellow-green scale in percent: the bands of :data:`QUALITY_BANDS` from
    the one holding the lowest value (90% at the highest) to 100%; 100% and 90% fall in
    bands four apart, so they never look alike, and a band has the same colour whatever
    the values. Returns ``(cmap, norm)``; colour a quality ``q`` with ``cmap(norm(100 * q))``.

    Examples
    --------
    >>> cmap, norm = quality_colours([0.93, 1.0])
    >>> [float(b) for b in norm.boundaries[:2]], cmap.N
    ([90.0, 95.0], 5)
    >>> cmap(norm(100.0)) != cmap(norm(99.0)) != cmap(norm(90.0))
    True
    """
    import matplotlib as mpl

    bands = np.array(QUALITY_BANDS)
    palette = list(_BAND_COLOURS)
    lowest = min([100.0 * v for v in values if np.isfinite(v)] + [90.0])
    first = int(np.searchsorted(bands, lowest, side="right")) - 1
    edges = bands[max(first, 0):].copy()
    edges[-1] += 1e-9  # 100% itself falls in the top band
    cmap = mpl.colors.ListedColormap(palette[max(first, 0):], name="journeysim_quality")
    return cmap, mpl.colors.BoundaryNorm(edges, cmap.N)


def _wrap(name: str, width: int = 14) -> str:
    """A long name on several lines, broken after spaces, ``_``, ``-``, ``/`` or between camelCase words.

    Examples
    --------
    >>> print(_wrap("CardiologyPractice"))
    Cardiology
    Practice
    >>> _wrap("ED")
    'ED'
    """
    if len(name) <= width:
        return name
    lines = [""]
    for piece in re.split(r"(?<=[\s_\-/])|(?<=[a-z0-9])(?=[A-Z])", name):
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(line.rstrip() for line in lines)


def _support_across(graph: Any, pos: dict[str, tuple[float, float]], support: Sequence[str],
                    width: float) -> dict[str, float]:
    """x of each support microsystem: under the microsystems that request it, kept apart."""
    want = {}
    for node in support:
        users = [pos[u][0] for u, _ in graph.in_edges(node) if u in pos]
        want[node] = float(np.mean(users)) if users else width / 2
    order = sorted(support, key=lambda n: want[n])
    gap = min(1.0, width / max(len(order) - 1, 1)) if width > 0 else 1.0
    xs = [want[n] for n in order]
    for i in range(1, len(xs)):  # push right to keep them a gap apart, then centre the row on the wishes
        xs[i] = max(xs[i], xs[i - 1] + gap)
    shift = float(np.mean([want[n] for n in order]) - np.mean(xs)) if xs else 0.0
    return {n: x + shift for n, x in zip(order, xs, strict=True)}


def _positions(graph: Any, entries: Sequence[str]) -> dict[str, tuple[float, float]]:
    layer = _layers(graph, entries)
    columns: dict[int, list[str]] = {}
    for node in graph.nodes:
        if node in layer:
            columns.setdefault(layer[node], []).append(node)
    pos: dict[str, tuple[float, float]] = {}
    height = max((len(c) for c in columns.values()), default=1)
    for x, nodes in columns.items():
        for i, node in enumerate(nodes):
            pos[node] = (float(x), (len(nodes) - 1) / 2 - i)
    support = [n for n, kind in graph.nodes(data="kind") if kind != "clinical"]
    across = _support_across(graph, pos, support, float(max(columns, default=0)))
    for node in support:
        pos[node] = (across[node], -(height + 1) / 2 - 0.6)
    return pos


def _points_per_unit(ax: Axes, pos: dict[str, tuple[float, float]]) -> tuple[float, float]:
    """Roughly how many points one unit of the layout spans across and down, at the axes' size."""
    box = ax.get_window_extent()  # in pixels, before the layout leaves room for the colour bar (~15%)
    points = 72.0 / ax.figure.dpi * 0.85
    xy = np.array(list(pos.values())) if pos else np.zeros((1, 2))
    span = np.ptp(xy, axis=0) + 1.0
    return points * box.width / span[0], points * box.height / (span[1] + 0.6)


def _pathway_size(pos: dict[str, tuple[float, float]]) -> tuple[float, float]:
    """A figure size that gives every column and row of the layout room: at least 11 by 6 inches."""
    xy = np.array(list(pos.values())) if pos else np.zeros((1, 2))
    span = np.ptp(xy, axis=0)
    return max(11.0, 1.1 * span[0] + 3.0), max(6.0, 1.0 * span[1] + 2.5)


@_names_as_written
def pathway(
    result: SimulationResult, ax: Axes | None = None, *, summary: Summary | None = None
) -> Axes:
    """The mesosystem as a graph, coloured by simulated quality and sized by volume.

    Clinical microsystems (circles) are laid out left to right by their handoff
    distance from the entry microsystems; support microsystems (lab, pharmacy,
    ...: squares with a dashed outline, all of one small size, since their
    volume counts requests rather than patients) sit in a row below, each under
    the microsystems that request it, joined to them by dashed lines. A
    circle's area grows with its visits and a handoff's width with its
    transfers. Both are coloured by their quality (share of visits or transfers
    without a defect) on the banded percent scale of :func:`quality_colours`,
    from red (below 50%) to dark green (99.9% to 100%). Long names are wrapped
    and the labels shrink when the layout is crowded.

    Parameters
    ----------
    result : SimulationResult
    ax : matplotlib Axes, optional
        Default: a new figure sized to the layout (at least 11 by 6 inches).
    summary : Summary, optional
        ``result.summary()``, if already computed.

    Returns
    -------
    matplotlib.axes.Axes
    """
    quality = _summary(result, summary).quality
    model = result.scenario.model
    graph = model.graph
    micro = {name: (m.quality, m.visits) for name, m in quality.microsystems.items()}
    links = {label: (h.quality, h.transfers) for label, h in (*quality.handoffs.items(), *quality.requests.items())}
    pos = _positions(graph, _entries(model))
    ax = _axes(ax, _pathway_size(pos))
    cmap, norm = quality_colours([q for q, _ in (*micro.values(), *links.values()) if q is not None])

    def colour(q: float | None, missing: str) -> Any:
        return cmap(norm(100.0 * q)) if q is not None else missing

    nodes: list[str] = list(graph.nodes)
    support = {m.name for m in model.microsystems if m.kind != "clinical"}
    across, down = _points_per_unit(ax, pos)
    wrapped = {n: _wrap(n) for n in nodes}
    longest = max((len(line) for text in wrapped.values() for line in text.split("\n")), default=1)
    fontsize = float(np.clip(min(1.1 * across / (0.55 * max(longest, 4)), 0.2 * down), 6.0, 8.5))
    diameter = float(np.clip(min(0.6 * across, down - 3.2 * fontsize), 8.0, 52.0))
    visits = np.array([micro.get(n, (None, 0))[1] for n in nodes], dtype=float)
    clinical_most = max([v for n, v in zip(nodes, visits, strict=True) if n not in support] + [1.0])
    sizes = {n: (0.35 * diameter) ** 2 if n in support
             else (diameter * (0.35 + 0.65 * np.sqrt(min(v / clinical_most, 1.0)))) ** 2
             for n, v in zip(nodes, visits, strict=True)}
    transfers = max([n for _, n in links.values()] + [1])
    edges: list[tuple[str, str, str]] = list(graph.edges(data="kind"))
    for u, v, kind in edges:
        label = f"{u}->{v}" if kind == "handoff" else f"{u}=>{v}"
        q, moved = links.get(label, (None, 0))
        # requests are many and fan out to the support row: thin, so that the handoffs stand out
        width = 0.6 + 6.0 * np.sqrt(moved / transfers) if kind == "handoff" else 0.9
        ax.annotate(
            "", xy=pos[v], xytext=pos[u], zorder=1,
            arrowprops={
                "arrowstyle": "-|>" if kind == "handoff" else "-", "lw": width,
                "color": colour(q, "#bbbbbb"), "linestyle": "-" if kind == "handoff" else (0, (3, 2)),
                "connectionstyle": "arc3,rad=0.12", "shrinkA": np.sqrt(sizes[u]) / 2 + 2,
                "shrinkB": np.sqrt(sizes[v]) / 2 + 3, "mutation_scale": 8 + width * 1.5,
                "alpha": 0.9 if kind == "handoff" else 0.5,
            },
        )
    for group, marker, style in (([n for n in nodes if n not in support], "o", "solid"),
                                 ([n for n in nodes if n in support], "s", "dashed")):
        if not group:
            continue
        xy = np.array([pos[n] for n in group])
        ax.scatter(xy[:, 0], xy[:, 1], s=[sizes[n] for n in group], marker=marker, linestyles=style,
                   c=[colour(micro.get(n, (None, 0))[0], "#cccccc") for n in group],
                   edgecolors="#333333", linewidths=0.9, zorder=2,
                   label="clinical microsystem (area: visits)" if marker == "o"
                   else "support microsystem (requests; one size)")
    for n in nodes:
        q = micro.get(n, (None, 0))[0]
        text = wrapped[n] if q is None else f"{wrapped[n]}\n{100 * q:.1f}%"
        ax.annotate(text, pos[n], xytext=(0, -np.sqrt(sizes[n]) / 2 - 3), textcoords="offset points",
                    ha="center", va="top", fontsize=fontsize, zorder=3, linespacing=1.05,
                    fontstyle="italic" if n in support else "normal",
                    bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.8})
    bar = ax.figure.colorbar(_mappable(cmap, norm), ax=ax, shrink=0.8, pad=0.01, spacing="uniform")
    bar.set_ticks(norm.boundaries, labels=[f"{b:g}%" for b in np.round(norm.boundaries, 6)])
    bar.ax.tick_params(labelsize=8)
    bar.set_label("quality: visits / transfers without a defect (%)", fontsize=9)
    classes = ", ".join(model.pathway_classes) or ", ".join(model.class_names)
    ax.set_title(f"Pathway quality: {classes}")
    ax.set_xlabel("circle area: visits by counted journeys; arrow width: transfers"
                  + ("; dashed lines: service requests to support microsystems (squares)" if support else ""),
                  fontsize=8)
    if support:
        ax.legend(loc="upper left", fontsize=7, frameon=False, markerscale=0.4, handletextpad=0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    ax.margins(0.08 if len(pos) > 1 else 0.5, 0.22)
    return ax


def _mappable(cmap: Any, norm: Any) -> Any:
    """A ScalarMappable for a colour bar (matplotlib imported here, when a plot is drawn)."""
    import matplotlib as mpl

    return mpl.cm.ScalarMappable(norm=norm, cmap=cmap)


# -- quality ---------------------------------------------------------------------------------


@_names_as_written
def cascade(
    result: SimulationResult, ax: Axes | None = None, *, patient_class: str | None = None, path: int = 0
) -> Axes:
    """The quality cascade of one class's path: share still defect-free after each step.

    Parameters
    ----------
    result : SimulationResult
        Needs full records.
    ax : matplotlib Axes, optional
    patient_class : str, optional
        Default: the first pathway (non-background) class.
    path : int
        Which of the class's most frequent paths (0: the most frequent).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from ..analysis.cascade import cascade as cascade_table

    _needs_records(result, "the cascade")
    model = result.scenario.model
    name = patient_class if patient_class is not None else (model.pathway_classes or model.class_names)[0]
    table = cascade_table(result, top=path + 1, exact=result.exact())
    rows = table[table["class"] == name]
    paths = list(dict.fromkeys(rows["path"]))
    ax = _axes(ax, (10.0, 4.5))
    if not paths:
        return _nothing(ax, f"Quality cascade: {name}", f"no journey of class {name!r} was counted")
    if path >= len(paths):
        raise JourneySimError(f"class {name!r} has {len(paths)} recorded path(s); path={path} is out of range")
    rows = rows[rows["path"] == paths[path]]
    x = np.arange(len(rows))
    ax.plot(x, 100 * rows["simulated"], "o-", color="#2166ac", label="simulated")
    exact = rows["exact"].to_numpy(dtype=float)
    if np.isfinite(exact).any():
        ax.plot(x, 100 * exact, "s--", color="#b2182b", markerfacecolor="none", label="exact (independent defects)")
    steps = [_wrap(str(label).replace("->", "-> "), 24).replace("-> ", "->") for label in rows["step_label"]]
    ax.set_xticks(x, steps, rotation=40 if len(steps) > 6 else 0, ha="right" if len(steps) > 6 else "center",
                  fontsize=8, rotation_mode="anchor" if len(steps) > 6 else "default")
    ax.set_xlabel("step along the path: each visit (with its service requests), then each handoff")
    ax.set_ylabel("journeys still defect-free (%)")
    ax.set_ylim(0, 102)
    share = float(rows["path_share"].iloc[0])
    ax.set_title(f"Quality cascade: {name}, {share:.0%} of its journeys take this path", fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return ax


@_names_as_written
def leverage(
    result: SimulationResult, ax: Axes | None = None, *, top: int = 12, summary: Summary | None = None
) -> Axes:
    """Tornado of leverage: the gain in system quality if each element were perfect or half as defective.

    As the report ranks levers: by the simulated gain in system quality (from the recorded journeys,
    standards included), with its 95% CI; the exact gain of each element in quality of elements only
    (solved on the graph, standards aside) is marked beside it on its own scale, not ranked with it
    (it is larger where the journeys an element would fix also miss a standard). Without simulated
    gains (``records="summary"``) the bars are the exact gains, labelled so.

    Parameters
    ----------
    result : SimulationResult
    ax : matplotlib Axes, optional
    top : int
        How many elements, largest gain first.
    summary : Summary, optional
        ``result.summary()``, if already computed.

    Returns
    -------
    matplotlib.axes.Axes
    """
    everything = _summary(result, summary).quality.leverage
    simulated, exact = by_method(everything)
    rows = (simulated or list(exact.values()))[:top]
    ax = _axes(ax, (9.0, 0.9 + 0.38 * max(len(rows), 1)))
    title = "Leverage: what fixing each element would add to system quality"
    if not rows:
        return _nothing(ax, title, "no element has a defect: there is nothing to fix")
    y = np.arange(len(rows))[::-1]
    perfect = np.array([100 * r.if_perfect for r in rows])
    halved = np.array([100 * r.if_halved for r in rows])
    ax.barh(y, perfect, color="#92c5de", label="if perfect")
    ax.barh(y, halved, height=0.45, color="#2166ac", label="if halved")
    for i, r in enumerate(rows):
        low, high = r.ci95_if_perfect or (None, None)
        if low is not None and high is not None:
            ax.errorbar(perfect[i], y[i], xerr=[[perfect[i] - 100 * low], [100 * high - perfect[i]]],
                        color="#333333", capsize=3, lw=1)
    standards = {st.name for st in result.scenario.model.standards}
    if simulated:
        beside = [(y[i], 100 * exact[r.element].if_perfect) for i, r in enumerate(rows) if r.element in exact]
        if beside:
            ax.scatter([x for _, x in beside], [yy for yy, _ in beside], marker="D", facecolors="none",
                       edgecolors="#b2182b", zorder=3,
                       label="exact, elements only (standards aside): another scale" if standards else "exact")
        xlabel = "gain in system quality (percentage points; simulated" + (", standards included)" if standards
                                                                            else ")")
    else:
        xlabel = ("gain in quality of elements only (percentage points; exact, standards aside)" if standards
                  else "gain in system quality (percentage points; exact)")
        if standards:
            title = "Leverage: what fixing each element would add to quality of elements only"
    labels = [f"{r.element}{' (standard)' if r.element in standards else ''}" for r in rows]
    ax.set_yticks(y, labels, fontsize=8)
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("element (microsystem, handoff:kind, request, standard)", fontsize=8)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return ax


# -- times -------------------------------------------------------------------------------------


def _counted_journeys(result: SimulationResult) -> pd.DataFrame:
    journeys = result.journeys()
    warmup = {r.replication: r.warmup for r in result.records}
    # journeys still in progress at the horizon of a stopped run have no time in the pathway yet
    return journeys[(journeys["arrival"] >= journeys["replication"].map(warmup)) & journeys["end"].notna()]


@_names_as_written
def journey_times(
    result: SimulationResult, ax: Axes | None = None, *, classes: Sequence[str] | None = None, bins: int = 50
) -> Axes:
    """Distribution of each class's time in the pathway (arrival to leaving), counted journeys.

    Parameters
    ----------
    result : SimulationResult
        Needs full records.
    ax : matplotlib Axes, optional
    classes : sequence of str, optional
        Default: the pathway (non-background) classes.
    bins : int

    Returns
    -------
    matplotlib.axes.Axes
    """
    _needs_records(result, "the journey-time plot")
    model = result.scenario.model
    names = list(classes) if classes is not None else list(model.pathway_classes or model.class_names)
    journeys = _counted_journeys(result)
    journeys = journeys[journeys["class"].isin(names)]
    title = "Journey time: arrival to leaving the pathway"
    if journeys.empty:
        return _nothing(_axes(ax), title, f"no journey of {', '.join(names)} was counted")
    scale, unit = _time_unit(float(journeys["time_in_system"].median()))
    top = float(np.quantile(journeys["time_in_system"], 0.99)) / scale
    edges = np.linspace(0.0, top, bins + 1)
    ax = _axes(ax)
    for name in names:
        times = journeys.loc[journeys["class"] == name, "time_in_system"].to_numpy() / scale
        if times.size:
            ax.hist(np.clip(times, None, top), bins=list(edges), histtype="step", lw=1.6,
                    label=_legend_name(f"{name} (n={times.size:,}, median {np.median(times):.1f} {unit})"))
            ax.axvline(np.median(times), color=ax.patches[-1].get_edgecolor(), ls=":", lw=1.2)
    ax.set_xlabel(f"time in the pathway ({unit}; the last bin holds the top 1%)")
    ax.set_ylabel("journeys")
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8)
    return ax


def _standard_intervals(result: SimulationResult, name: str) -> tuple[np.ndarray, float, int]:
    """Of the counted journeys judged on standard ``name``: the intervals of those that reached
    its end (minutes), the share met, and how many were judged; read from the records' columns."""
    reached: list[np.ndarray] = []
    met = judged = 0
    for rec in result.records:
        table = rec.standards
        if name not in table.labels["standard"]:
            continue
        journeys = rec.journeys
        counted = journeys["journey"][np.asarray(journeys["arrival"], dtype=float) >= rec.warmup]
        rows = (table["standard"] == table.labels["standard"].index(name)) & np.isin(table["journey"], counted)
        if "open" in table.columns:  # still open where a run stopped at the horizon: neither met nor missed
            rows &= ~table["open"].astype(bool)
        judged += int(rows.sum())
        met += int(table["met"][rows].astype(bool).sum())
        done = rows & table["reached"].astype(bool)
        reached.append(table["minutes"][done].astype(float))
    minutes = np.concatenate(reached) if reached else np.zeros(0)
    return minutes, (met / judged if judged else float("nan")), judged


@_names_as_written
def standard(result: SimulationResult, name: str, ax: Axes | None = None, *, bins: int = 40,
             summary: Summary | None = None) -> Axes:
    """Distribution of one timeliness standard's interval, with its target line and the share met.

    The title's share met is the summary's (the mean of the replications' shares, as the text,
    the JSON and the report's table give it), not the journeys pooled across replications.

    Parameters
    ----------
    result : SimulationResult
        Needs full records.
    name : str
        The standard, e.g. ``"door_to_balloon"``.
    ax : matplotlib Axes, optional
    bins : int
    summary : Summary, optional
        ``result.summary()`` if already computed (it is computed otherwise).

    Returns
    -------
    matplotlib.axes.Axes
    """
    _needs_records(result, "the standard plot")
    targets = {s.name: s for s in result.scenario.model.standards}
    if name not in targets:
        raise JourneySimError(f"no standard {name!r}; the scenario has {', '.join(targets) or 'none'}")
    target = float(targets[name].within)
    minutes, _, judged = _standard_intervals(result, name)
    met_share = _summary(result, summary).standards[name].met.mean
    ax = _axes(ax)
    if minutes.size == 0:
        return _nothing(ax, f"{name}: n/a", f"no counted journey reached the end of standard {name!r}")
    scale, unit = _time_unit(target)
    top = max(float(np.quantile(minutes, 0.98)), 1.2 * target) / scale
    edges = np.linspace(0.0, top, bins + 1)
    values = np.clip(minutes / scale, None, top)
    met = minutes <= target
    # two filled step outlines, stacked, rather than a bar per bin: one artist each draws
    # and lays out in a fraction of the time of 2 x ``bins`` rectangles
    within, _ = np.histogram(values[met], bins=edges)
    over, _ = np.histogram(values[~met], bins=edges)
    ax.stairs(within, edges, fill=True, color=_GOOD, label="within target")
    ax.stairs(within + over, edges, baseline=within, fill=True, color=_BAD, label="over target")
    ax.axvline(target / scale, color="#333333", ls="--", lw=1.5, label=f"target {target / scale:g} {unit}")
    ax.set_xlabel(f"{name.replace('_', ' ')} interval ({unit}; the last bin holds the slowest 2%)")
    ax.set_ylabel("journeys")
    ax.set_title(f"{name}: {100 * met_share:.1f}% met (n={judged:,}, median {np.median(minutes) / scale:.1f} {unit})",
                 fontsize=11)
    ax.legend(fontsize=8)
    return ax


# -- load over simulated time --------------------------------------------------------------------


def _integral(starts: np.ndarray, ends: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Integral from 0 to each of ``at`` of the number of intervals [start, end) open."""
    times = np.concatenate([starts, ends])
    steps = np.concatenate([np.ones(starts.size), -np.ones(ends.size)])
    order = np.argsort(times, kind="stable")
    times, level = times[order], np.cumsum(steps[order])
    area = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(times))]) if times.size else np.zeros(0)
    if times.size == 0:
        return np.zeros(at.size)
    # between events the count is constant, so the integral is linear there
    i = np.searchsorted(times, at, side="right") - 1
    inside = i >= 0
    out = np.zeros(at.size)
    out[inside] = area[i[inside]] + level[i[inside]] * (at[inside] - times[i[inside]])
    return out


def _replications(result: SimulationResult, replication: int | None) -> list[Records]:
    """The records to draw: every replication, or one of them (a clear error naming those there are)."""
    if replication is None:
        return list(result.records)
    records = {r.replication: r for r in result.records}
    if replication not in records:
        raise JourneySimError(f"no replication {replication}; the result has {', '.join(map(str, records))}")
    return [records[replication]]


def _intervals(rec: Records) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per microsystem: (arrival, start, end) of every visit or served request in one replication.

    Read from the records' columns (no DataFrame: this runs once per replication). In a run
    that stops at the horizon, what was unfinished there lasts until the horizon.
    """
    out = {}
    for table, node, arrival in ((rec.visits, "node", "arrival"), (rec.requests, "target", "requested")):
        if not len(table):
            continue
        codes = np.asarray(table[node])
        times = [np.asarray(table[col], dtype=float) for col in (arrival, "start", "end")]
        for code, name in enumerate(table.labels[node]):
            rows = codes == code
            if rows.any():
                first, start, end = (t[rows] for t in times)
                out[name] = (first, np.nan_to_num(start, nan=rec.horizon), np.nan_to_num(end, nan=rec.horizon))
    return out


def _capacity_minutes(micro: Any, edges: np.ndarray) -> np.ndarray | None:
    """Server-minutes available in each bin, from the weekly (or ``period_days``) schedule; ``None`` if ever
    unlimited."""
    pieces = micro.segments()
    if any(cap is None for _, cap, _ in pieces):
        return None
    week = micro.period_days * 1440.0
    weeks = int(np.ceil(edges[-1] / week)) + 1
    starts = np.array([w * week + t for w in range(weeks) for t, _, _ in pieces])
    caps = np.array([cap for _ in range(weeks) for _, cap, _ in pieces], dtype=float)
    ends = np.append(starts[1:], weeks * week)
    total = np.concatenate([[0.0], np.cumsum(caps * (ends - starts))])
    at = np.interp(edges, np.append(starts, weeks * week), total)
    return np.diff(at)


def _last_time(interval: tuple[np.ndarray, np.ndarray, np.ndarray], queue: bool) -> float:
    """When the last wait (queue) or the last busy time ends: the bins reach no further."""
    arrival, start, end = interval
    last = start[start > arrival] if queue else end
    return float(last.max()) if last.size else 0.0


def _bin_minutes(last: float) -> float:
    """Default bin width for a span of ``last`` minutes: a day, or shorter so that there are 24 bins or more."""
    for hours in (24.0, 12.0, 6.0, 4.0, 2.0, 1.0):
        if last / (hours * 60.0) >= 24:
            return hours * 60.0
    return 30.0


def _over_time(result: SimulationResult, nodes: Sequence[str] | None, replication: int | None,
               bin_days: float | None, queue: bool) -> tuple[list[Records], np.ndarray, dict[str, np.ndarray]]:
    """Bin edges (minutes) and, per microsystem, its series in each replication: an array (replications, bins)."""
    _needs_records(result, "a plot over simulated time")
    model = result.scenario.model
    recs = _replications(result, replication)
    intervals = [_intervals(rec) for rec in recs]
    seen = {name for one in intervals for name in one}
    chosen = list(nodes) if nodes is not None else [n for n in model.node_names if n in seen]
    unknown = [n for n in chosen if n not in model.node_names]
    if unknown:
        raise JourneySimError(f"unknown microsystem(s): {', '.join(unknown)}")
    if not queue:
        unlimited = [n for n in chosen if any(cap is None for _, cap, _ in model.microsystem(n).segments())]
        if unlimited and nodes is not None:
            raise JourneySimError(f"{unlimited[0]} has unlimited capacity at times: it has no utilisation")
        chosen = [n for n in chosen if n not in unlimited]
    span = max((_last_time(one[n], queue) for one in intervals for n in chosen if n in one), default=0.0)
    last = max(span, max(rec.horizon for rec in recs))
    width = bin_days * 1440.0 if bin_days is not None else _bin_minutes(last)
    edges = np.arange(0.0, last + width, width)
    empty = (np.zeros(0),) * 3
    series = {}
    for name in chosen:
        if queue:
            series[name] = np.array([np.diff(_integral(a, s, edges)) for a, s, _ in
                                     (one.get(name, empty) for one in intervals)]) / width
            continue
        capacity = _capacity_minutes(model.microsystem(name), edges)
        assert capacity is not None  # unlimited microsystems were left out above
        busy = np.array([np.diff(_integral(s, e, edges)) for _, s, e in (one.get(name, empty) for one in intervals)])
        with np.errstate(invalid="ignore", divide="ignore"):
            series[name] = np.where(capacity > 0, busy / capacity, np.nan)
    return recs, edges, series


_BANDS = {"ci95": "95% CI of the mean", "p10-p90": "10th to 90th percentile"}


def _band(values: np.ndarray, band: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over replications (axis 0) of each bin, and the band around it (the mean itself if there is none).

    ``"ci95"``: the mean plus or minus Student's t quantile times its standard error;
    ``"p10-p90"``: the 10th and 90th percentiles of the replications' values. Bins that
    are NaN in every replication (no server-time available) stay NaN.

    Examples
    --------
    >>> mean, low, high = _band(np.array([[1.0, 2.0], [3.0, 2.0]]), "ci95")
    >>> mean.tolist(), bool(low[0] < 1.0 and high[0] > 3.0), (float(low[1]), float(high[1]))
    ([2.0, 2.0], True, (2.0, 2.0))
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bins
        mean = np.nanmean(values, axis=0)
        n = values.shape[0]
        if band is None or n < 2:
            return mean, mean, mean
        if band == "p10-p90":
            low, high = np.nanpercentile(values, [10, 90], axis=0)
            return mean, low, high
        from scipy import stats

        half = stats.t.ppf(0.975, n - 1) * np.nanstd(values, axis=0, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def _draw_over_time(ax: Axes, recs: list[Records], edges: np.ndarray, series: dict[str, np.ndarray],
                    scale: float, band: str | None, top: float | None) -> None:
    import matplotlib as mpl

    if band is not None and band not in _BANDS:
        raise JourneySimError(f"band must be one of {', '.join(_BANDS)} or None, not {band!r}")
    horizon, warmup = recs[0].horizon, recs[0].warmup
    unit, units = _time_unit(float(edges[-1]))
    name_of_unit = units.removesuffix("s")
    mid = (edges[:-1] + edges[1:]) / 2 / unit
    palette = mpl.colormaps["tab10" if len(series) <= 10 else "tab20"]
    banded = band is not None and len(recs) > 1
    for i, (name, values) in enumerate(series.items()):
        mean, low, high = _band(scale * values, band if banded else None)
        colour = palette(i % palette.N)
        ax.plot(mid, mean, lw=1.3, color=colour, label=_legend_name(name), ls="-" if i < palette.N else "--")
        if banded:
            ax.fill_between(mid, np.clip(low, 0, top), np.clip(high, 0, top), color=colour, alpha=0.18, lw=0)
    if warmup > 0:
        ax.axvspan(0, warmup / unit, color="#999999", alpha=0.15, label="warm-up")
    ax.axvline(horizon / unit, color="#666666", ls=":", lw=1, label="arrivals stop")
    busy = [np.flatnonzero(np.nan_to_num(v).max(axis=0, initial=0.0) > 0) for v in series.values()]
    last = max([edges[b[-1] + 1] for b in busy if b.size] + [horizon])
    ax.set_xlim(0, 1.02 * last / unit)
    if len(recs) == 1:
        ax.set_xlabel(f"simulated {name_of_unit} (replication {recs[0].replication})")
    else:
        ax.set_xlabel(f"simulated {name_of_unit} (line: mean of {len(recs)} replications"
                      + (f"; band: {_BANDS[band]})" if banded and band is not None else ")"))
    ax.grid(alpha=0.3)
    if len(series) <= 8:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:  # many microsystems: below the plot, in columns, so the plot keeps its width
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False,
                  ncol=_legend_columns(series))


def _legend_columns(series: dict[str, np.ndarray]) -> int:
    """Columns of a legend below a plot 10 inches wide: as many as the longest name allows, at most 4."""
    longest = max((len(name) for name in series), default=10)
    return max(1, min(4, 110 // (longest + 6)))


def _over_time_size(series: dict[str, np.ndarray]) -> tuple[float, float]:
    """A figure size for a plot over time: taller when its legend goes below (more than 8 lines)."""
    if len(series) <= 8:
        return 10.0, 4.5
    return 10.0, 4.5 + 0.17 * np.ceil((len(series) + 2) / _legend_columns(series))


def _bin_title(edges: np.ndarray) -> str:
    width = float(edges[1] - edges[0]) if edges.size > 1 else 1440.0
    return f"{width / 1440.0:g}-day" if width >= 1440.0 else f"{width / 60.0:g}-hour"


@_names_as_written
def utilisation(
    result: SimulationResult,
    ax: Axes | None = None,
    *,
    nodes: Sequence[str] | None = None,
    replication: int | None = None,
    bin_days: float | None = None,
    band: Literal["ci95", "p10-p90"] | None = "ci95",
) -> Axes:
    """Utilisation of each microsystem over simulated time: busy server-time over server-time available.

    A visit keeps its server from its start until the patient leaves (boarding
    included); a support microsystem is busy from a request's start to its end.
    The available server-time follows the weekly schedule. Microsystems with
    unlimited capacity at any time have no utilisation and are left out.

    Each line is the mean over the replications of each bin's utilisation; the
    shaded band around it is, by default, the 95% confidence interval of that
    mean (Student's t over the replications), or with ``band="p10-p90"`` the
    10th to 90th percentile of the replications' values (how busy a bin can be
    in one run). The band is clipped to 0 to 100%; the x-axis label says which
    band is drawn.

    Parameters
    ----------
    result : SimulationResult
        Needs full records.
    ax : matplotlib Axes, optional
    nodes : sequence of str, optional
        Default: every microsystem with finite capacity that was visited.
    replication : int, optional
        Draw this replication alone (no band). Default: the mean of all.
    bin_days : float, optional
        Width of the averaging bins, in days. Default: one day, or a shorter
        width (12, 6, 4, 2, 1 hours, half an hour) giving at least 24 bins.
    band : {"ci95", "p10-p90"} or None
        The band around the mean; ``None`` draws the mean alone.

    Returns
    -------
    matplotlib.axes.Axes
    """
    recs, edges, series = _over_time(result, nodes, replication, bin_days, queue=False)
    ax = _axes(ax, _over_time_size(series))
    _draw_over_time(ax, recs, edges, series, 100.0, band, 100.0)
    ax.set_ylabel("utilisation (%)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Utilisation over simulated time (mean per {_bin_title(edges)} bin)", fontsize=11)
    return ax


@_names_as_written
def queue_length(
    result: SimulationResult,
    ax: Axes | None = None,
    *,
    nodes: Sequence[str] | None = None,
    replication: int | None = None,
    bin_days: float | None = None,
    band: Literal["ci95", "p10-p90"] | None = "ci95",
) -> Axes:
    """Mean number of patients (or requests) waiting for a server at each microsystem, over simulated time.

    Each line is the mean over the replications of each bin's time-averaged
    queue; the band is the 95% confidence interval of that mean (Student's t),
    or with ``band="p10-p90"`` the 10th to 90th percentile of the replications'
    values, clipped at 0; the x-axis label says which.

    Parameters
    ----------
    result : SimulationResult
        Needs full records.
    ax : matplotlib Axes, optional
    nodes : sequence of str, optional
        Default: every microsystem where someone waited.
    replication : int, optional
        Draw this replication alone (no band). Default: the mean of all.
    bin_days : float, optional
        Width of the averaging bins, in days; the default as for :func:`utilisation`.
    band : {"ci95", "p10-p90"} or None
        The band around the mean; ``None`` draws the mean alone.

    Returns
    -------
    matplotlib.axes.Axes
    """
    recs, edges, series = _over_time(result, nodes, replication, bin_days, queue=True)
    if nodes is None:
        series = {k: v for k, v in series.items() if np.any(v > 0)}
    ax = _axes(ax, _over_time_size(series))
    _draw_over_time(ax, recs, edges, series, 1.0, band, None)
    ax.set_ylabel("patients waiting (mean)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Queue length over simulated time (mean per {_bin_title(edges)} bin)", fontsize=11)
    return ax


# -- scenarios -------------------------------------------------------------------------------------


def _is_share(metric: str) -> bool:
    return metric.endswith((".met", ".quality", ".utilisation")) or metric.startswith("quality.")


@_names_as_written
def comparison(
    comp: Comparison, ax: Axes | None = None, *, metrics: Sequence[str] | None = None
) -> Axes:
    """Forest plot of each scenario's difference from the base, with 95% CIs (common random numbers).

    Parameters
    ----------
    comp : Comparison
        From :func:`journeysim.compare`.
    ax : matplotlib Axes, optional
    metrics : sequence of str, optional
        Metric names of ``comp.table()``, all shares (qualities, standards met,
        utilisations: drawn in percentage points) or all in one other unit.
        Default: system quality, each class's quality and every standard.

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = comp.table()
    if metrics is None:
        chosen = [m for m in dict.fromkeys(table["metric"])
                  if m.startswith("quality.") or m == "elements.quality" or m.startswith("standards.")]
    else:
        chosen = [renamed_key(m) for m in metrics]
        unknown = [m for m in chosen if m not in set(table["metric"])]
        if unknown:
            raise JourneySimError(f"unknown metric(s): {', '.join(unknown)}")
    shares = {_is_share(m) for m in chosen}
    if len(shares) > 1:
        raise JourneySimError("metrics in one comparison plot must share a unit: shares or one other unit")
    scale = 100.0 if shares == {True} else 1.0
    rows = table[table["metric"].isin(chosen)].astype(dict.fromkeys(("difference", "ci95_low", "ci95_high"), float))
    rows = rows.dropna(subset=["difference"])
    names = list(dict.fromkeys(rows["scenario"]))
    ax = _axes(ax, (9.0, 1.0 + 0.32 * max(len(chosen), 1) * max(len(names), 1)))
    title = f"Scenario differences from {comp.results[0].scenario.name} (95% CI, common random numbers)"
    if rows.empty:
        return _nothing(ax, title, "no difference could be estimated (no journey was counted)")
    y0 = np.arange(len(chosen))[::-1].astype(float)
    offsets = np.linspace(-0.25, 0.25, len(names)) if len(names) > 1 else np.zeros(1)
    colours = ["#2166ac", "#b2182b", "#4d9221", "#762a83", "#e08214"]
    for k, name in enumerate(names):
        part = rows[rows["scenario"] == name].set_index("metric")
        label: str | None = _legend_name(name)  # on the scenario's first point drawn
        for i, metric in enumerate(chosen):
            if metric not in part.index:
                continue
            d = part.loc[metric]
            mean, low, high = scale * d["difference"], scale * d["ci95_low"], scale * d["ci95_high"]
            spread = [[mean - low], [high - mean]] if np.isfinite([low, high]).all() else None  # 1 replication
            ax.errorbar(mean, y0[i] + offsets[k], xerr=spread, fmt="o",
                        color=colours[k % len(colours)], capsize=3, label=label)
            label = None
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_yticks(y0, chosen, fontsize=8)
    ax.set_ylabel("metric")
    ax.set_xlabel("difference from the base (percentage points)" if scale == 100.0 else "difference from the base")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax


# -- fitted distributions ------------------------------------------------------------------


def _fit_label(f: FamilyFit) -> str:
    weight = "" if f.weight is None else f" (AIC weight {f.weight:.2f})"
    return f"{f.family}{weight}"


def fit(result: FitResult, ax: Axes | None = None, *, top: int = 4, bins: int = 40) -> Axes:
    """The sample with the fitted distributions: a histogram with their densities, or for
    right-censored data the Kaplan-Meier CDF with their CDFs.

    Parameters
    ----------
    result : FitResult
        What :func:`journeysim.data.fit.fit` returned.
    ax : matplotlib Axes, optional
    top : int
        How many of the best fits to draw.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from journeysim.data.fit import fit as fit_sample
    >>> r = fit_sample([3.0, 5.0, 4.0, 8.0, 6.0, 5.5, 7.0, 2.0] * 4, bootstrap=0)
    >>> fit(r).get_xlabel()
    'duration (minutes)'
    """
    from ..data.fit import kaplan_meier

    ax = _axes(ax)
    x = np.asarray(result.values)
    cens = np.asarray(result.censored)
    grid = np.linspace(0.0, float(np.quantile(x, 0.995)) * 1.05 or 1.0, 400)
    fits = [f for f in result.fits if f.frozen() is not None][:top]
    if cens.any():
        times, km = kaplan_meier(x, cens)
        ax.step(np.concatenate([[0.0], times]), np.concatenate([[0.0], km]), where="post", color="black",
                label=f"Kaplan-Meier ({int(cens.sum())} of {x.size} censored)")
        for f in fits:
            ax.plot(grid, f.frozen().cdf(grid), label=_fit_label(f))
        ax.set_ylabel("cumulative probability")
    else:
        ax.hist(x[x <= grid[-1]], bins=bins, density=True, color="#cccccc", edgecolor="#999999",
                label=f"{x.size} values")
        for f in fits:
            ax.plot(grid, f.frozen().pdf(grid), label=_fit_label(f))
        ax.set_ylabel("density")
    ax.set_xlabel(f"duration ({result.unit})")
    ax.set_title(f"Fitted distributions (best: {result.best.family})", fontsize=11)
    ax.legend(fontsize=8)
    return ax


def fit_qq(result: FitResult, ax: Axes | None = None) -> Axes:
    """Quantile-quantile plot of the best fit: the sample's quantiles against the fitted ones.

    With censored data the sample's quantiles are those of the Kaplan-Meier estimate at
    each uncensored value.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from journeysim.data.fit import fit as fit_sample
    >>> r = fit_sample([3.0, 5.0, 4.0, 8.0, 6.0, 5.5, 7.0, 2.0] * 4, bootstrap=0)
    >>> fit_qq(r).get_ylabel()
    'observed (minutes)'
    """
    from ..data.fit import kaplan_meier

    ax = _axes(ax, (4.5, 4.5))
    best = result.best
    x = np.asarray(result.values)
    cens = np.asarray(result.censored)
    d = best.frozen()
    if d is None:
        return _nothing(ax, "QQ plot", f"every value is {x[0]:g} {result.unit}: a fixed duration")
    if cens.any():
        obs, km = kaplan_meier(x, cens)
        before = np.concatenate([[0.0], km[:-1]])
        probs = (before + km) / 2.0
    else:
        obs = np.sort(x)
        probs = (np.arange(1, x.size + 1) - 0.5) / x.size
    theo = d.ppf(probs)
    ax.plot(theo, obs, ".", color="#1f77b4", markersize=3)
    top = float(max(np.max(theo[np.isfinite(theo)], initial=0.0), np.max(obs, initial=0.0)))
    ax.plot([0.0, top], [0.0, top], color="#555555", linewidth=1)
    ax.set_xlabel(f"{best.family} quantile ({result.unit})")
    ax.set_ylabel(f"observed ({result.unit})")
    ax.set_title(f"QQ plot: {best.family}", fontsize=11)
    return ax


def fit_figure(result: FitResult) -> Figure:
    """A figure (made without pyplot) with :func:`fit` and :func:`fit_qq` side by side, for saving.

    Examples
    --------
    >>> from journeysim.data.fit import fit as fit_sample
    >>> fig = fit_figure(fit_sample([3.0, 5.0, 4.0, 8.0, 6.0, 5.5, 7.0, 2.0] * 4, bootstrap=0))
    >>> len(fig.axes)
    2
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.6, 1.0])
    fit(result, left)
    fit_qq(result, right)
    return fig
