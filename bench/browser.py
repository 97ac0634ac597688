"""A page opened in Debian's chromium, headless, with no network (bubblewrap gives it a network namespace of
its own): how it lays out at a width, and a screenshot of it.

    .venv/bin/python -m bench.browser REPORT.html SHOT.png [--width 1280] [--height 2400]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Written into the page's title once it has laid out: its width and its plots as they were drawn.
MEASURE = """<script>window.addEventListener("load", () => {
  const svgs = [...document.querySelectorAll("svg")];
  document.title = JSON.stringify({scrollWidth: document.documentElement.scrollWidth,
    svgs: svgs.length, drawn: svgs.filter(s => s.getBoundingClientRect().width > 50).length});
});</script>"""


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("no chromium on PATH: apt-get install chromium (Debian's package)")


def _run(args: list[str]) -> subprocess.CompletedProcess:
    argv = [
        chromium_binary(),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--hide-scrollbars",
        *args,
    ]
    bwrap = shutil.which("bwrap")
    if bwrap:  # no network at all, whatever the browser tries
        argv = [bwrap, "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def layout(page: Path, width: int = 1280) -> dict:
    """{"scrollWidth": …, "svgs": …, "drawn": …} of the page laid out `width` pixels wide."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / page.name
        copy.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
        done = _run([f"--window-size={width},1000", "--virtual-time-budget=3000", "--dump-dom", copy.as_uri()])
    title = re.search(r"<title>(.*?)</title>", done.stdout, re.S)
    if done.returncode != 0 or not title:
        raise RuntimeError(f"chromium did not lay the page out: {done.stderr[-2000:]}")
    return json.loads(title.group(1).replace("&quot;", '"'))


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 2400) -> Path:
    done = _run(
        [
            f"--window-size={width},{height}",
            "--virtual-time-budget=3000",
            f"--screenshot={out}",
            page.resolve().as_uri(),
        ]
    )
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"chromium made no screenshot: {done.stderr[-2000:]}")
    return out


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("page", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2400)
    args = parser.parse_args()
    print(json.dumps(layout(args.page, args.width)))
    print(screenshot(args.page, args.out, args.width, args.height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
