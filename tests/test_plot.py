"""Plots: every one draws on the flagship, returns its Axes, and draws the numbers theory and the summary give."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes

import journeysim as js
from conftest import single_node
from journeysim import plot
from theory import mmc_wait

SCENARIOS = Path(__file__).parent.parent / "scenarios"


@pytest.fixture(scope="module")
def flagship():
    scenario = js.load_scenario(SCENARIOS / "ami.toml").with_settings(horizon=120 * 1440.0, replications=3)
    return js.simulate(scenario, seed=7)


@pytest.fixture(scope="module")
def redesign():
    base = js.load_scenario(SCENARIOS / "ami.toml").with_settings(horizon=120 * 1440.0, replications=3)
    other = js.load_scenario(SCENARIOS / "ami_handoff_redesign.toml").with_settings(
        horizon=120 * 1440.0, replications=3)
    return js.compare([base, other], seed=7)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _plots(result, comparison):
    summary = result.summary()
    return {
        "pathway": lambda: plot.pathway(result, summary=summary),
        "cascade": lambda: plot.cascade(result),
        "leverage": lambda: plot.leverage(result, summary=summary),
        "journey_times": lambda: plot.journey_times(result),
        **{f"standard:{s.name}": (lambda s=s: plot.standard(result, s.name)) for s in result.scenario.model.standards},
        "utilisation": lambda: plot.utilisation(result),
        "queue_length": lambda: plot.queue_length(result),
        "comparison": lambda: plot.comparison(comparison),
    }


def test_every_plot_runs_on_the_flagship_and_returns_labelled_axes(flagship, redesign):
    """Each plot function returns an Axes with a title and axis labels, and draws something."""
    for name, draw in _plots(flagship, redesign).items():
        ax = draw()
        assert isinstance(ax, Axes), name
        assert ax.get_title(), name
        if name != "pathway":
            assert ax.get_xlabel() and ax.get_ylabel(), name
        assert ax.lines or ax.patches or ax.collections or ax.texts, name


def test_plots_draw_on_a_given_axes(flagship):
    """With ax given, the plot draws on it and returns it, making no new figure."""
    fig, (left, right) = plt.subplots(1, 2)
    assert plot.cascade(flagship, ax=left) is left
    assert plot.utilisation(flagship, ax=right) is right
    assert plt.get_fignums() == [fig.number]


def test_importing_the_plot_module_does_not_import_matplotlib():
    """matplotlib is imported only when a plot is drawn."""
    code = "import sys, journeysim, journeysim.outputs.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _window_mean(ax, result, name):
    """Mean of a plotted daily series over the statistics window [warm-up, horizon)."""
    rec = result.records[0]
    line = next(line for line in ax.get_lines() if line.get_label() == name)
    days, values = line.get_xdata(), line.get_ydata()
    inside = (days > rec.warmup / 1440) & (days < rec.horizon / 1440)
    return float(np.mean(values[inside]))


def test_over_time_lines_are_the_mean_of_the_replications_within_their_band(flagship):
    """With 2 replications that differ, the line is their average at every bin and the band holds both."""
    two = js.simulate(flagship.scenario.with_settings(replications=2), seed=5)
    for draw in (plot.utilisation, plot.queue_length):
        alone = [draw(two, replication=r, nodes=["CCU"]).get_lines()[0].get_ydata() for r in (0, 1)]
        # a replication whose last patient left earlier has fewer bins: nothing happened there after
        width = max(len(a) for a in alone)
        both = np.array([np.pad(a, (0, width - len(a))) for a in alone])
        assert not np.allclose(both[0], both[1])
        ax = draw(two, nodes=["CCU"])
        line = ax.get_lines()[0]
        assert line.get_label() == "CCU"
        assert np.allclose(line.get_ydata(), both.mean(axis=0))
        (band,) = ax.collections
        path = band.get_paths()[0].vertices
        n = both.shape[1]
        low, high = path[1:n + 1, 1], path[n + 2:2 * n + 2, 1][::-1]
        assert np.all(low <= both.min(axis=0) + 1e-9) and np.all(high >= both.max(axis=0) - 1e-9)
        assert "band: 95% CI of the mean" in ax.get_xlabel()
        plt.close("all")


def test_over_time_percentile_band_and_one_replication():
    """band='p10-p90' spans the replications' 10th to 90th percentiles; replication=0 draws no band."""
    model = single_node(2, 10.0, 0.14)
    result = js.simulate(model, horizon=30 * 1440, replications=5, seed=3)
    per = np.array([plot.utilisation(result, replication=r).get_lines()[0].get_ydata() for r in range(5)])
    ax = plot.utilisation(result, band="p10-p90")
    vertices = ax.collections[0].get_paths()[0].vertices
    n = per.shape[1]
    assert np.allclose(vertices[1:n + 1, 1], np.clip(np.percentile(per, 10, axis=0), 0, 100))
    assert "10th to 90th percentile" in ax.get_xlabel()
    assert not plot.utilisation(result, replication=0).collections
    with pytest.raises(js.JourneySimError, match="band must be"):
        plot.queue_length(result, band="iqr")


def test_bins_end_with_the_drawn_microsystems_not_with_unlimited_ones(flagship):
    """Long stays in unlimited microsystems (cardiac rehab) do not stretch the time axis of the utilisation plot."""
    ax = plot.utilisation(flagship)
    drawn = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith(("_", "arrivals"))]
    assert "CardiacRehab" not in drawn
    visits = flagship.visits()
    last = visits.loc[visits["node"].isin(drawn), "end"].max() / 1440
    assert ax.get_lines()[0].get_xdata()[-1] <= last + 1
    assert visits["end"].max() / 1440 > last + 5  # what the axis would have reached


def test_short_runs_get_hourly_bins():
    """A one-day run is drawn in hours, not one daily point."""
    model = single_node(2, 10.0, 0.14)
    result = js.simulate(model, horizon=1440.0, replications=3, seed=3)
    ax = plot.utilisation(result)
    assert len(ax.get_lines()[0].get_xdata()) >= 24
    assert "hour" in ax.get_title() and "simulated hour" in ax.get_xlabel()


def test_utilisation_and_queue_length_match_erlang_c():
    """On M/M/2 at 70% load the plotted utilisation averages 0.7 and the queue averages L_q = lambda W_q."""
    rate, service, servers = 0.14, 10.0, 2
    model = single_node(servers, service, rate)
    result = js.simulate(model, horizon=400 * 1440, warmup=20 * 1440, seed=11)
    utilisation = _window_mean(plot.utilisation(result), result, "Clinic") / 100
    queue = _window_mean(plot.queue_length(result), result, "Clinic")
    assert utilisation == pytest.approx(rate * service / servers, abs=0.015)
    assert queue == pytest.approx(rate * mmc_wait(rate, service, servers), rel=0.12)


def test_utilisation_plot_agrees_with_the_summary_under_a_weekly_schedule(flagship):
    """Daily utilisation averages to the summary's: exactly at fixed capacity, closely for the scheduled cath lab.

    The summary divides busy time by the weekly mean capacity; the plot divides each
    day's busy time by that day's capacity (2 labs on weekdays 08-17, else 1), so the
    cath lab agrees to a few percent, where ignoring the schedule would be 27% off.
    """
    one = js.simulate(flagship.scenario.with_settings(replications=1), seed=3)
    expected = one.summary().to_dict()["microsystems"]
    ax = plot.utilisation(one)
    for name in ("CCU", "Telemetry"):
        assert _window_mean(ax, one, name) / 100 == pytest.approx(expected[name]["utilisation"]["mean"], rel=1e-6)
    assert _window_mean(ax, one, "CathLab") / 100 == pytest.approx(expected["CathLab"]["utilisation"]["mean"],
                                                                   rel=0.05)


def test_pathway_sizes_and_colours_follow_the_summary(flagship):
    """Clinical circles grow with visits; every node is the banded colour of its quality."""
    summary = flagship.summary()
    ax = plot.pathway(flagship, summary=summary)
    clinical, support = ax.collections[:2]
    graph = flagship.scenario.model.graph
    names = [n for n, kind in graph.nodes(data="kind") if kind == "clinical"]
    micro = summary.to_dict()["quality"]["microsystems"]
    visits = np.array([micro[n]["visits"] for n in names])
    sizes = clinical.get_sizes()
    assert len(sizes) == len(names)
    assert np.all(np.diff(sizes[np.argsort(visits)]) >= 0)
    cmap, norm = plot.quality_colours([m["quality"] for m in micro.values()])
    faces = clinical.get_facecolors()
    for name, face in zip(names, faces, strict=True):
        assert np.allclose(face, cmap(norm(100 * micro[name]["quality"]))), name


def test_support_microsystems_are_squares_of_one_small_size(flagship):
    """Lab, Radiology and Pharmacy are drawn as dashed squares, all one size, no larger than the smallest circle."""
    ax = plot.pathway(flagship)
    clinical, support = ax.collections[:2]
    graph = flagship.scenario.model.graph
    kinds = dict(graph.nodes(data="kind"))
    assert sorted(n for n, k in kinds.items() if k == "support") == ["Lab", "Pharmacy", "Radiology"]
    assert len(support.get_sizes()) == 3 and len(clinical.get_sizes()) == len(kinds) - 3
    assert np.ptp(support.get_sizes()) == 0
    assert support.get_sizes()[0] <= clinical.get_sizes().min()
    square, circle = (c.get_paths()[0].vertices for c in (support, clinical))
    assert len(square) < len(circle)  # a square's path has 5 vertices, a circle's dozens
    assert support.get_linestyle()[0][1] is not None  # dashed outline
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("support" in t for t in labels) and any("clinical" in t for t in labels)


def test_quality_colours_separate_100_from_90_and_label_percent(flagship):
    """100% and 90% are far apart in colour (RGB distance), 99.5% is between; the colour bar is in percent."""
    from matplotlib.colors import to_rgba

    cmap, norm = plot.quality_colours([0.85, 1.0])
    top, ninety, near = (np.array(to_rgba(cmap(norm(v)))) for v in (100.0, 90.0, 99.5))
    assert np.linalg.norm(top[:3] - ninety[:3]) > 0.5
    assert np.linalg.norm(top[:3] - near[:3]) > 0.05
    # a band keeps its colour whatever the lowest value shown
    other_cmap, other_norm = plot.quality_colours([0.3, 1.0])
    assert np.allclose(cmap(norm(90.0)), other_cmap(other_norm(90.0)))
    ax = plot.pathway(flagship)
    bar = ax.figure.axes[-1]
    assert "%" in bar.get_ylabel()
    ticks = [t.get_text() for t in bar.get_yticklabels()]
    assert "100%" in ticks and "90%" in ticks


def test_long_names_are_wrapped_and_labels_stay_readable():
    """A name of 40 characters is broken over lines of at most 16; labels are at least 6 pt."""
    long = [f"Department_of_{w}_and_Related_Services" for w in ("Cardiology", "Neurology", "Oncology", "Renal")]
    model = js.Model([js.Microsystem(n, capacity=2, service=js.Exponential(10), defect=0.05) for n in long],
                     [js.Handoff(long[0], n, probability=1 / 3) for n in long[1:]],
                     classes=[js.PatientClass("all", entry=long[0], rate=0.05)])
    result = js.simulate(model, horizon=5 * 1440.0, replications=2, seed=1)
    ax = plot.pathway(result)
    texts = [t for t in ax.texts if "Department" in t.get_text()]
    assert len(texts) == 4
    for text in texts:
        assert max(len(line) for line in text.get_text().split("\n")[:-1]) <= 16
        assert text.get_fontsize() >= 6


def test_leverage_bars_are_the_gains_in_points(flagship):
    """The tornado's bars are the simulated gains in system quality, ranked as the report ranks its levers; the exact
    gains in quality of elements only (standards aside: another scale) are markers beside them, not bars."""
    summary = flagship.summary()
    rows = summary.to_dict()["quality"]["leverage"]
    simulated = [r for r in rows if r["method"] == "simulated"][:5]
    exact = {r["element"]: r["if_perfect"] for r in rows if r["method"] == "exact"}
    ax = plot.leverage(flagship, top=5, summary=summary)
    assert len(ax.patches) == 10
    widths = [p.get_width() for p in ax.patches[:5]]  # the if-perfect bars, top row first
    assert widths == pytest.approx([100 * r["if_perfect"] for r in simulated])
    assert [t.get_text().removesuffix(" (standard)") for t in ax.get_yticklabels()] == [r["element"] for r in simulated]
    from matplotlib.collections import PathCollection

    markers = [x for c in ax.collections if isinstance(c, PathCollection) for x in c.get_offsets()[:, 0]]
    expected = [100 * exact[r["element"]] for r in simulated if r["element"] in exact]
    assert expected and sorted(markers) == pytest.approx(sorted(expected))
    assert "simulated, standards included" in ax.get_xlabel()
    assert max(exact.values()) > max(r["if_perfect"] for r in simulated)  # why they must not share one ranking


def test_standard_plot_counts_the_counted_journeys_and_marks_the_target(flagship):
    """The standard's histogram holds every counted journey that reached its end; the target line is drawn."""
    ax = plot.standard(flagship, "door_to_balloon")
    # the stacked step outlines: each holds its bins' counts above its baseline
    total = sum(float(np.sum(np.asarray(d.values) - d.baseline)) for d in (p.get_data() for p in ax.patches))
    rows = flagship.standards()
    journeys = flagship.journeys()
    counted = journeys[journeys["arrival"] >= flagship.records[0].warmup][["replication", "journey"]]
    reached = rows[(rows["standard"] == "door_to_balloon") & rows["reached"]].merge(counted)
    assert total == len(reached)
    assert any(np.allclose(line.get_xdata(), 90.0) for line in ax.get_lines())


def test_comparison_plot_has_one_interval_per_scenario_and_metric(redesign):
    """Every chosen metric gets a point with its CI for the redesign, at the difference in points."""
    metrics = ["quality.system", "elements.quality"]
    ax = plot.comparison(redesign, metrics=metrics)
    table = redesign.table().set_index("metric")
    points = sorted(float(bars[0].get_xdata()[0]) for bars in ax.containers)
    assert points == pytest.approx(sorted(100 * table.loc[m, "difference"] for m in metrics))


def test_plot_errors_are_clear(flagship, redesign):
    """Unknown standards, metrics and summary-only results give a JourneySimError, not a traceback."""
    with pytest.raises(js.JourneySimError, match="no standard 'door_to_nowhere'"):
        plot.standard(flagship, "door_to_nowhere")
    with pytest.raises(js.JourneySimError, match="share a unit"):
        plot.comparison(redesign, metrics=["quality.system", "time_in_system_minutes"])
    summary_only = js.simulate(flagship.scenario.with_settings(replications=1), seed=1, records="summary")
    for draw in (plot.cascade, plot.journey_times, plot.utilisation, plot.queue_length):
        with pytest.raises(js.JourneySimError, match="records='full'"):
            draw(summary_only)


def test_one_replication_draws_points_without_intervals():
    """With one replication there is no CI: the comparison and leverage plots draw the estimates alone."""
    base = js.load_scenario(SCENARIOS / "ami.toml").with_settings(horizon=40 * 1440.0, warmup=1440.0)
    other = js.load_scenario(SCENARIOS / "ami_handoff_redesign.toml").with_settings(horizon=40 * 1440.0,
                                                                                      warmup=1440.0)
    comp = js.compare([base, other], replications=1, seed=1)
    ax = plot.comparison(comp, metrics=["elements.quality"])
    (bars,) = ax.containers
    assert bars.has_xerr is False
    assert float(bars[0].get_xdata()[0]) == pytest.approx(
        100 * comp.differences[other.name]["elements.quality"]["mean"])
    assert isinstance(plot.leverage(comp.results[0]), Axes)


def test_names_with_dollars_underscores_and_backslashes_are_drawn_as_written(tmp_path):
    """Names are not mathtext: '$\\frac$' draws literally, and a name starting with '_' stays in the legend."""
    first, second = "$x$ \\alpha_1", "a_b $"
    model = js.Model([js.Microsystem(first, capacity=2, service=js.Exponential(10), defect=0.1),
                      js.Microsystem(second, capacity=2, service=js.Exponential(10), defects={"$bad_$": 0.1})],
                     [js.Handoff(first, second, probability=0.5, defects={"information": 0.2})],
                     classes=[js.PatientClass("_hidden $\\frac$", entry=first, rate=0.05)])
    result = js.simulate(model, horizon=3000.0, replications=2, seed=1)
    for draw in (plot.pathway, plot.cascade, plot.leverage, plot.journey_times, plot.utilisation, plot.queue_length):
        ax = draw(result)
        ax.figure.canvas.draw()
    assert "_hidden $\\frac$" in plot.pathway(result).get_title()
    legend = [t.get_text() for t in plot.journey_times(result).get_legend().get_texts()]
    assert any("_hidden $\\frac$" in text for text in legend)
    comparison = js.compare([js.Scenario(model, name="base", horizon=3000.0),
                             js.Scenario(model, name="_other $\\x_$", horizon=3000.0)], replications=2, seed=1)
    plot.comparison(comparison).figure.canvas.draw()
    js.write_report(comparison, tmp_path / "names.html")
