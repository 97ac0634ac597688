"""report.html for a person, seen in a real browser (Debian's chromium, headless, no network): a card per
artifact, its plots drawn as inline SVG, the routes folded away, and no horizontal scroll at 1280 pixels."""

from __future__ import annotations

from bench.browser import layout, png_size, screenshot
from tests.conftest import read_report


def test_the_report_renders_with_its_plots_at_1280_pixels(example_run, tmp_path):
    page = example_run["run"] / "report.html"
    report = read_report(example_run["run"])
    html = page.read_text()
    assert html.count("class='card") == len(report["artifacts"]) and "<details>" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    outputs = sum(len(a["parity"]["outputs"]) for a in report["artifacts"])
    laid = layout(page, 1280)
    # size and latency bars, then a scatter and an error histogram per output of each artifact
    assert laid["svgs"] == 2 + 2 * outputs and laid["drawn"] == laid["svgs"], laid
    assert laid["scrollWidth"] <= 1280, laid
    shot = screenshot(page, tmp_path / "report.png")
    assert png_size(shot) == (1280, 2400) and shot.stat().st_size > 30_000  # a blank page is a few kB
