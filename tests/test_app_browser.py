"""The what-if app in a real browser: `journeysim app` serves the flagship, headless Chromium changes the EMS→ED
information defect, runs, sees the difference, and downloads a redesign that gives the same number from the CLI.

Like tests/test_browser.py: `make test` installs Debian's ``chromium``; without it the test is skipped outside CI
and fails in CI (``CI`` set).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from journeysim.cli import main
from journeysim.io.scenario_file import load_scenario

ROOT = Path(__file__).parent.parent
AMI = ROOT / "scenarios" / "ami.toml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("Chromium is missing: `make test` installs Debian's chromium package for this test")
    pytest.skip("no chromium on this machine (make test installs it)", allow_module_level=True)
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from playwright.sync_api import sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server():
    """`journeysim app scenarios/ami.toml --port N` in a subprocess, once it answers."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "journeysim.cli", "app", str(AMI), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise AssertionError(f"the app stopped: {proc.stderr.read() if proc.stderr else ''}")
            try:
                with urllib.request.urlopen(url, timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the app did not answer within 30 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _watch(page, messages: list[str], url: str) -> None:
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: messages.append(f"page error: {e}"))
    page.on("request", lambda r: None if r.url.startswith((url, "data:")) else messages.append(f"network request: {r.url}"))


def test_out_of_range_input_is_shown_beside_its_control_and_nothing_runs(server):
    """A probability of 1.4 gets the library's message next to its input; no run starts."""
    messages: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            _watch(page, messages, server)
            page.goto(server, wait_until="load")
            page.get_by_label("EMS -> ED information").fill("1.4")
            page.get_by_label("CathLab capacity", exact=True).fill("none")
            page.get_by_role("button", name="Run").click()
            page.wait_for_selector(".problems")
            cell = page.locator("td", has=page.get_by_label("EMS -> ED information"))
            assert "1.4 is not a probability in [0, 1]" in cell.inner_text()
            assert page.get_by_label("EMS -> ED information").get_attribute("aria-invalid") == "true"
            row = page.locator("tr", has=page.get_by_label("CathLab capacity", exact=True))
            assert "must be a positive integer or 'unlimited', got 'none'" in row.inner_text()
            assert page.locator(".progress, table.effects").count() == 0
        finally:
            browser.close()
    assert messages == []


def test_change_run_download_and_reproduce_from_the_cli(server, tmp_path, capsys):
    """EMS→ED information 0.43 → 0.1 raises system quality; the downloaded TOML validates and `journeysim compare`
    with the same replications and seed prints the same system-quality difference."""
    messages: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
            _watch(page, messages, server)
            page.goto(server, wait_until="load")
            page.get_by_label("EMS -> ED information").fill("0.1")
            page.get_by_label("run replications").fill("3")
            page.get_by_role("button", name="Run").click()
            page.wait_for_selector("table.effects", timeout=120_000)
            row = page.locator("table.effects tbody tr", has_text="system quality (%)").first
            shown = row.locator("td").nth(3).inner_text()
            headline = page.locator("p.headline").inner_text()
            assert page.locator("#fig-forest svg").count() == 1
            assert page.locator("table.standards tbody tr").count() == 6
            with page.expect_download() as download:
                page.get_by_text("Download the redesign (TOML)").click()
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            with page.expect_download() as report:
                page.get_by_text("Download the HTML report").click()
            report_text = Path(report.value.path()).read_text()
        finally:
            browser.close()
    assert messages == []
    assert shown.endswith(" pts") and shown.startswith("+") and shown != "+0 pts"
    assert "raised system quality" in headline
    assert report_text.startswith("<!DOCTYPE html>") and "EMS-&gt;ED" in report_text
    assert saved.name == "ami_whatif.toml"
    shutil.copy(AMI, tmp_path / "ami.toml")  # the redesign extends the base, saved beside it
    redesign = load_scenario(saved)
    assert redesign.model.handoffs[0].defects.get("information").default == 0.1
    assert main(["validate", str(saved)]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "ami.toml"), str(saved), "--replications", "3", "--seed", "2026",
                 "--workers", "1", "--quiet"]) == 0
    line = next(t for t in capsys.readouterr().out.splitlines() if t.strip().startswith("system quality (%)"))
    assert f" {shown} " in line, (shown, line)
