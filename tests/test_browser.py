"""The HTML report in a real browser: headless Chromium loads it without errors and shows every figure and number.

`make test` installs Debian's ``chromium`` when it is missing; Playwright (a test
extra) drives it. Outside CI a machine without Chromium skips this test; in CI
(``CI`` set) a missing browser is a failure, so the check can never pass unseen.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from journeysim.cli import main

SCENARIOS = Path(__file__).parent.parent / "scenarios"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("Chromium is missing: `make test` installs Debian's chromium package for this test")
    pytest.skip("no chromium on this machine (make test installs it)", allow_module_level=True)

from playwright.sync_api import sync_playwright


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The flagship report from `journeysim run --json --report`, opened in Chromium at laptop size."""
    out = tmp_path_factory.mktemp("report")
    report, result = out / "ami.html", out / "ami.json"
    assert main(["run", str(SCENARIOS / "ami.toml"), "--replications", "3", "--horizon-days", "60",
                 "--warmup-days", "10", "--workers", "1", "--quiet", "--json", str(result),
                 "--report", str(report)]) == 0
    messages: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: messages.append(f"page error: {e}"))
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:"))
                    else messages.append(f"network request: {r.url}"))
            page.goto(report.as_uri(), wait_until="load")
            figures = page.eval_on_selector_all(
                "figure.plot svg", "els => els.map(e => { const r = e.getBoundingClientRect(); "
                "return [e.closest('figure').id, r.width, r.height]; })")
            text = page.inner_text("body")
            width = page.evaluate("document.documentElement.scrollWidth")
            shot = out / "ami.png"
            page.screenshot(path=str(shot), full_page=True)
            page.emulate_media(media="print")
            pdf = page.pdf(format="A4")
        finally:
            browser.close()
    return {"messages": messages, "figures": figures, "text": text, "width": width, "shot": shot, "pdf": pdf,
            "result": json.loads(result.read_text())}


def test_report_loads_without_console_errors_or_network(rendered):
    """The page logs no console error, throws nothing, and fetches nothing from a network."""
    assert rendered["messages"] == []


def test_every_figure_has_a_size(rendered):
    """Every figure is laid out with a non-zero width and height, and fits the laptop viewport."""
    assert len(rendered["figures"]) >= 8
    for ident, width, height in rendered["figures"]:
        assert width > 300 and height > 150, ident
    assert rendered["width"] <= 1366  # no horizontal scrolling


def test_key_numbers_of_the_json_result_are_on_the_page(rendered):
    """System quality, exact quality, each standard met and cost per journey, as in the JSON, are shown."""
    d, text = rendered["result"], rendered["text"]
    q = d["quality"]["system"]
    assert f"{100 * q['simulated']['mean']:.1f}%" in text
    assert f"{100 * q['analytic']:.1f}%" in text
    for name, s in d["standards"].items():
        assert f"{100 * s['met']['mean']:.1f}%" in text, name
    assert f"{d['cost']['per_journey']['mean']:,.0f}" in text
    assert str(d["seed"]) in text


def test_screenshot_and_print(rendered):
    """The screenshot is a tall PNG of the whole page, and the page prints to a multi-page A4 PDF."""
    png = rendered["shot"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == 1366 and height > 4 * 768
    pdf = rendered["pdf"]
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pdf[:5] == b"%PDF-" and pages >= 3


def _first_screen(report: Path, shot: Path) -> dict[str, object]:
    """Open ``report`` at 1366×768 and say where the headline and the first lever or key metric are."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(report.as_uri(), wait_until="load")
            boxes = {}
            for name, selector in (("headline", "p.headline"), ("lever", "ol.levers li"),
                                   ("changes", "table.changes tbody tr"), ("effect", "table.effects tbody tr")):
                element = page.query_selector(selector)
                boxes[name] = None if element is None else (element.bounding_box(), element.is_visible(),
                                                            element.inner_text())
            page.screenshot(path=str(shot))  # the first screen only, as a user sees it
        finally:
            browser.close()
    return boxes


def _in_view(box: object) -> bool:
    assert box is not None
    rect, visible, _ = box  # type: ignore[misc]
    return bool(visible) and rect["y"] >= 0 and rect["y"] + rect["height"] <= 768 and rect["width"] > 0


def test_flagship_headline_and_top_lever_are_on_the_first_screen(rendered, tmp_path):
    """At 1366×768 without scrolling: the headline sentence and the largest lever are fully visible."""
    report = Path(rendered["shot"]).with_suffix(".html")
    boxes = _first_screen(report, tmp_path / "first.png")
    assert _in_view(boxes["headline"]) and _in_view(boxes["lever"])
    assert "of journeys were free of any defect" in boxes["headline"][2]  # type: ignore[index]
    assert boxes["lever"][2].split("\n")[0].lstrip("0123456789. ") in boxes["headline"][2]  # type: ignore[index]


def test_comparison_opens_with_what_changed_and_what_it_did(tmp_path):
    """A comparison report's first screen shows the headline, what changed and the first key metric."""
    report = tmp_path / "compare.html"
    assert main(["report", str(SCENARIOS / "ami.toml"), str(SCENARIOS / "ami_handoff_redesign.toml"), "-o",
                 str(report), "--replications", "3", "--horizon-days", "45", "--warmup-days", "5", "--workers", "1",
                 "--quiet"]) == 0
    boxes = _first_screen(report, tmp_path / "compare.png")
    assert _in_view(boxes["headline"]) and _in_view(boxes["changes"]) and _in_view(boxes["effect"])
    assert "system quality" in boxes["effect"][2]  # type: ignore[index]
    assert "EMS->ED" in boxes["changes"][2]  # type: ignore[index]
