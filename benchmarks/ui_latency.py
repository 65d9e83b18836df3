"""The web interface's start-up cost and its responsiveness while a run goes.

    python benchmarks/ui_latency.py [--steps 150] [--requests 20]

Start-up: `dreamsampler3d ui` in a fresh process until the page answers, against the same process importing what
every CLI run imports (torch, Lightning, diffusers, the tasks) — the difference is what the UI adds. The UI loads
no model at start: each run loads its own, as the CLI does (the prior's load time is shown for reference).

Under a run: the page's HTTP latency (GET / and /config) idle and while a text-to-SVG run of --steps steps goes,
and, in headless Chromium (Playwright, /usr/bin/chromium), how long switching to another page takes and how long
a second run request takes to come back as "queued" (not blocking the page). Needs the [ui] extra, playwright
and Chromium; no network.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ENV = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "HF_HUB_OFFLINE": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_ms(url: str) -> float:
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        r.read()
    return (time.perf_counter() - t) * 1000


def output_of(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], env=ENV, check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]


def seconds_of(code: str) -> float:
    """Wall time of a fresh Python process running ``code``."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True, capture_output=True)
    return time.perf_counter() - t


def start_server(out: Path) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dreamsampler3d.cli.main", "ui", "--port", str(port), "--out",
                             str(out)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while True:
        try:
            get_ms(url)
            return proc, url, time.perf_counter() - t
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)


def latencies(url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        out.append(get_ms(url))
        time.sleep(0.05)
    return out


def row(name: str, idle: list[float] | str, busy: list[float] | str = "") -> str:
    def fmt(v):
        return v if isinstance(v, str) else f"{statistics.median(v):.0f} / {max(v):.0f}"
    return f"| {name} | {fmt(idle)} | {fmt(busy)} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150, help="steps of the run the page must stay usable beside")
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()

    baseline = statistics.median(seconds_of("import dreamsampler3d.cli.main, dreamsampler3d.tasks.runner, "
                                            "dreamsampler3d.tasks.registry as r; r.specs()") for _ in range(2))
    prior_s = output_of("import time; from dreamsampler3d.priors.diffusion_prior import DiffusionPrior; "
                       "from dreamsampler3d.priors.embedded import resolve_model; t = time.perf_counter(); "
                       "DiffusionPrior.from_pretrained(resolve_model('embedded')); "
                       "print(time.perf_counter() - t)")
    out = Path(tempfile.mkdtemp(prefix="ui-latency-"))
    proc, url, startup = start_server(out)
    try:
        from playwright.sync_api import sync_playwright

        idle_root, idle_cfg = latencies(url, args.requests), latencies(url + "config", args.requests)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t = time.perf_counter()
            page.goto(url)
            page.wait_for_selector(".ds-run")
            page_load = time.perf_counter() - t

            def switch(title: str) -> float:
                t = time.perf_counter()
                page.get_by_role("tab", name=title, exact=True).click()
                page.locator(".ds-run >> visible=true").first.wait_for()
                return (time.perf_counter() - t) * 1000

            idle_switch = [switch(name) for name in ("SVG editing", "Text to SVG") * 3]
            page.locator(".ds-prompt textarea >> visible=true").first.fill("a red star on a white background")
            steps = page.get_by_label("run.steps", exact=True).locator("visible=true").first
            steps.fill(str(args.steps))
            steps.press("Tab")
            page.locator(".ds-run >> visible=true").first.click()
            while int(page.locator(".ds-progress >> visible=true").first.get_attribute("data-step")) < 2:
                time.sleep(0.05)
            busy: dict[str, list[float]] = {"/": [], "/config": []}

            def hammer() -> None:
                busy["/"] += latencies(url, args.requests)
                busy["/config"] += latencies(url + "config", args.requests)
            thread = threading.Thread(target=hammer)
            thread.start()
            busy_switch = [switch(name) for name in ("Text to 3D", "Text to SVG") * 3]
            switch("Text to 3D")
            page.locator(".ds-prompt textarea >> visible=true").first.fill("a red cube")
            t = time.perf_counter()
            page.locator(".ds-run >> visible=true").first.click()
            page.locator(".ds-status >> visible=true").filter(has_text="run(s) ahead").first.wait_for(timeout=60_000)
            queued_ms = (time.perf_counter() - t) * 1000
            thread.join()
            step_at_end = page.locator(".ds-progress").first.get_attribute("data-step")
            page.locator(".ds-cancel >> visible=true").first.click()  # the queued one
            switch("Text to SVG")
            page.locator(".ds-cancel >> visible=true").first.click()
            browser.close()
        print(f"start-up: `dreamsampler3d ui` answers after {startup:.2f} s; a process importing what every CLI run "
              f"imports takes {baseline:.2f} s: the UI adds {startup - baseline:.2f} s (no model loads at start; a run "
              f"loads the embedded prior in {float(prior_s):.2f} s)")
        print(f"first page load in Chromium: {page_load:.2f} s; the run was at step {step_at_end} of {args.steps} "
              f"when the measurements ended\n")
        print("| median / max, ms | idle | during a run |\n|---|---|---|")
        print(row("GET /", idle_root, busy["/"]))
        print(row("GET /config", idle_cfg, busy["/config"]))
        print(row("switch page (click tab -> its Run button shown)", idle_switch, busy_switch))
        print(row("second run request -> 'queued' shown", "", [queued_ms]))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
