"""The what-if app: a small Starlette application, served by uvicorn (``journeysim app SCENARIO``).

Routes (relative, so the app also works behind a path prefix):

- ``GET /``: the page, with the controls of the scenario (:func:`journeysim.io.whatif.controls`);
- ``POST /run``: check the form with the library's validation; with a problem, the form
  comes back with each message next to its control and nothing runs; else the
  comparison starts in a background thread (one at a time) and a progress bar comes back;
- ``GET /job/ID``: the progress (polled by HTMX), then the results;
- ``GET /job/ID/redesign.toml`` and ``GET /job/ID/report.html``: the downloads;
- ``GET /static/htmx.min.js``: HTMX, shipped inside the package, so no network is needed.

Examples
--------
>>> from pathlib import Path
>>> import journeysim.examples
>>> from starlette.testclient import TestClient
>>> client = TestClient(create_app(journeysim.examples.path("ami")))
>>> page = client.get("/")
>>> page.status_code, 'name="handoffs.0.defects.information"' in page.text
(200, True)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..analysis.comparison import Comparison, compare
from ..io.scenario_file import build_scenario, read_spec
from ..io.whatif import check, controls, redesign_toml
from ..model.scenario import Scenario
from ..outputs import plot
from ..outputs.report import report_html
from . import pages
from .jobs import Busy, Job, Runner

__all__ = ["create_app", "STATIC"]

#: The folder of the files the page loads (HTMX and its licence)
STATIC = Path(__file__).parent / "static"


class WhatIf:
    """The state of one app: the base scenario, its controls, and the runs."""

    def __init__(self, source: str | Path) -> None:
        self.source = Path(source)
        self.spec = read_spec(self.source)
        self.base = build_scenario(self.spec)
        self.panel = controls(self.spec, self.base)
        self.runner = Runner()
        self.name = f"{self.base.name} (what-if)"

    async def index(self, request: Request) -> HTMLResponse:
        return HTMLResponse(pages.page(self.base.name, self.source.name, pages.workspace(self.panel)))

    async def run(self, request: Request) -> HTMLResponse:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        edit = check(self.spec, self.panel, form)
        if edit.scenario is None:
            return HTMLResponse(pages.workspace(self.panel, form, edit), status_code=200)
        redesign = edit.scenario.with_settings(name=self.name)
        try:
            job = self.runner.start(self._work(redesign), total=2 * redesign.replications, changed=edit.changed)
        except Busy as err:
            return HTMLResponse(pages.workspace(self.panel, form, status=f'<p class="problems">{err}</p>'))
        return HTMLResponse(pages.workspace(self.panel, form, status=pages.progress(job)))

    def _work(self, redesign: Scenario) -> Callable[[Callable[[], None]], Any]:
        def work(tick: Callable[[], None]) -> tuple[Comparison, str]:
            comp = compare([self.base, redesign], replications=redesign.replications, seed=redesign.seed,
                           workers=1, on_replication=lambda _: tick())
            forest = plot.to_svg(lambda ax: _forest(comp, ax), (8.0, 4.6), salt="forest")
            return comp, forest

        return work

    def _job(self, request: Request) -> Job | None:
        return self.runner.get(str(request.path_params["ident"]))

    async def job(self, request: Request) -> Response:
        job = self._job(request)
        if job is None:
            return HTMLResponse('<p class="problems">This run is no longer kept; run again.</p>', status_code=404)
        if job.state == "running":
            return HTMLResponse(pages.progress(job))
        if job.state == "failed":
            return HTMLResponse(pages.failed(job))
        comp, forest = job.value
        return HTMLResponse(pages.results(job, comp, forest, self.command(job)))

    def command(self, job: Job) -> str:
        """The command that gives the app's numbers from the downloaded redesign."""
        comp: Comparison = job.value[0]
        return (f"journeysim compare {self.source.name} {self.file_name()} --replications "
                f"{len(comp.results[0].stats)} --seed {comp.results[0].provenance.seed}")

    def file_name(self) -> str:
        return f"{self.source.stem}_whatif.toml"

    async def toml(self, request: Request) -> Response:
        job = self._job(request)
        if job is None or job.state != "finished":
            return Response("no such run", status_code=404)
        text = redesign_toml(self.spec, job.extra["changed"], name=self.name,
                             description=f"What-if redesign of {self.source.name}, from journeysim app. "
                             f"Reproduce: {self.command(job)}")
        return Response(text, media_type="application/toml", headers=_attachment(self.file_name()))

    async def report(self, request: Request) -> Response:
        job = self._job(request)
        if job is None or job.state != "finished":
            return Response("no such run", status_code=404)
        html = report_html(job.value[0], title=f"What if? {self.base.name}")
        return HTMLResponse(html, headers=_attachment(f"{self.source.stem}_whatif_report.html"))


def _forest(comp: Comparison, ax: Any) -> Any:
    """The comparison's forest plot, titled for the app (the report's title names the long base scenario)."""
    background = {f"quality.{k.name}" for k in comp.results[0].scenario.model.classes if k.background}
    keys = [m for m in dict.fromkeys(comp.table()["metric"]) if m not in background
            and (m.startswith("quality.") or m == "elements.quality" or m.startswith("standards."))]
    ax = plot.comparison(comp, ax, metrics=keys)
    ax.set_title("Redesign minus base: paired differences with 95% CI (common random numbers)", fontsize=10)
    legend = ax.get_legend()
    if legend is not None:  # one redesign: the title says which
        legend.remove()
    return ax


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def create_app(source: str | Path) -> Starlette:
    """The what-if app of the scenario file ``source``.

    Raises
    ------
    ValidationError
        When the scenario file has a problem (every problem, as ``journeysim validate`` lists them).
    """
    app = WhatIf(source)
    return Starlette(routes=[
        Route("/", app.index),
        Route("/run", app.run, methods=["POST"]),
        Route("/job/{ident}", app.job),
        Route("/job/{ident}/redesign.toml", app.toml),
        Route("/job/{ident}/report.html", app.report),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
