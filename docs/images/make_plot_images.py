"""Draw the plot images of docs/reports.md from the flagship and the urgent-care day.

Run from the repository: ``PYTHONPATH=src python docs/images/make_plot_images.py``.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import journeysim as js
from journeysim import plot

HERE = Path(__file__).parent
SCENARIOS = HERE.parent.parent / "scenarios"


def main() -> None:
    ami = js.simulate(js.load_scenario(SCENARIOS / "ami.toml"), seed=2026)
    summary = ami.summary()
    day = js.simulate(js.load_scenario(SCENARIOS / "urgent_care_day.toml"), seed=2026)
    for name, ax in (("plot_pathway", plot.pathway(ami, summary=summary)),
                     ("plot_utilisation", plot.utilisation(ami)),
                     ("plot_queue_length", plot.queue_length(ami)),
                     ("plot_cascade", plot.cascade(ami)),
                     ("plot_queue_length_urgent_care_day", plot.queue_length(day))):
        ax.figure.savefig(HERE / f"{name}.png", dpi=90)


if __name__ == "__main__":
    main()
