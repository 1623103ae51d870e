"""HTML views of results for Jupyter (the ``_repr_html_`` of Summary, Comparison and, from
:mod:`journeysim.analysis.exact`, ExactQuality)."""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from .exact import exact_html
from .summary import SummaryData

__all__ = ["summary_html", "comparison_html", "exact_html"]


def _share(x: Any) -> str:
    return "" if x is None or pd.isna(x) else f"{100 * x:.1f}%"


def _money(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:,.0f}"


def _frame(df: pd.DataFrame, shares: tuple[str, ...] = (), caption: str = "") -> str:
    formatters = {c: _share for c in shares if c in df.columns}
    html = df.to_html(formatters=formatters, float_format=lambda x: f"{x:,.3g}", na_rep="", border=0)
    return (f"<p style='margin:.6em 0 .2em'><b>{escape(caption)}</b></p>" if caption else "") + html


def summary_html(d: SummaryData, quality: pd.DataFrame, standards: pd.DataFrame) -> str:
    """System quality by class, standards and cost of a summary (with its tables), as HTML tables."""
    q = d.quality.system
    low, high = q.simulated.ci95
    head = (f"<p><b>{escape(d.scenario)}</b>: system quality {_share(q.simulated.mean)} "
            f"(95% CI {_share(low)} to {_share(high)}; exact {_share(q.analytic)}), "
            f"{d.journeys.completed:,} journeys, {d.replications} replications, seed {d.seed}.</p>")
    parts = [head, _frame(quality, ("simulated", "ci95_low", "ci95_high", "exact"), "System quality by class")]
    if d.journeys.outcomes is not None:
        outcomes = pd.DataFrame([{"outcome": name, "share": o.share.mean, "ci95_low": o.share.ci95[0],
                                  "ci95_high": o.share.ci95[1], "per_replication": o.count.mean, "exact": o.exact}
                                 for name, o in d.journeys.outcomes.items()]).set_index("outcome")
        parts.append(_frame(outcomes, ("share", "ci95_low", "ci95_high", "exact"), "Outcomes (how journeys ended)"))
    if not standards.empty:
        parts.append(_frame(standards, ("met", "ci95_low", "ci95_high"), "Timeliness standards"))
    cost = d.cost
    if cost is not None:
        parts.append(f"<p>Cost per journey {cost.currency} {_money(cost.pathway.per_journey.mean)}; "
                     f"cost of poor quality {_share(cost.pathway.poor_quality_share.mean)} of all cost.</p>")
    return "<div>" + "".join(parts) + "</div>"


def comparison_html(table: pd.DataFrame, base: str) -> str:
    """The differences from the ``base`` scenario in quality and standards, with CIs (``Comparison.table()``)."""
    keep = table["metric"].str.startswith(("quality.", "elements.", "standards.", "cost."))
    shown = table[keep].set_index(["scenario", "metric"])
    share_rows = ~shown.index.get_level_values("metric").str.startswith("cost.")
    shown = shown.astype(object)
    for col in ("base", "value", "difference", "ci95_low", "ci95_high"):
        level = col in ("base", "value")
        shown.loc[share_rows, col] = [_share(x) if level else "" if pd.isna(x) else f"{100 * x:+.2f} pt"
                                      for x in shown.loc[share_rows, col]]
        shown.loc[~share_rows, col] = ["" if pd.isna(x) else f"{x:,.0f}" if level else f"{x:+,.0f}"
                                       for x in shown.loc[~share_rows, col]]
    head = (f"<p><b>Comparison</b> with common random numbers; base: "
            f"{escape(base)}. All metrics: <code>.table()</code>.</p>")
    return "<div>" + head + shown.drop(columns=["variance_reduction"]).to_html(border=0, na_rep="") + "</div>"
