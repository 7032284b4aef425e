"""Real or fake under load: N browser sessions answer rounds at once on the real Streamlit server (loopback), then
every click must be one whole line of the answers file -- none lost, none torn, none doubled.

    python benchmarks/real_or_fake_load.py                            # 10 sessions, one round each
    python benchmarks/real_or_fake_load.py --sessions 10 --rounds 3 --runs checkpoints --data ../shared/data/fer2013

The runs (default: M2-all-s0, M7-all-s0 and M8-all-s0 of checkpoints/, which the page opens at iteration 950, where
each has weights: every round asks their generators for new faces) are copied into --work first, so the shipped
folder gets no answers file. Browsers:
Debian's chromium (/usr/bin/chromium), one context per session. The last line printed is a JSON summary; the exit
status is 1 when an answer is lost or a line is damaged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.async_api import TimeoutError as PlaywrightTimeout

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CHROMIUM = "/usr/bin/chromium"
MAIN = '[data-testid="stMain"]'
DEFAULT_RUNS = ("M2-all-s0", "M7-all-s0", "M8-all-s0")
KEYS_JS = ("() => [...document.querySelectorAll('[data-testid=stMain] [class*=st-key-]')]"
           ".map(e => e.className.match(/st-key-\\S+/)[0])")


def start_server(runs: Path, data: str, port: int, log: Path, cache: Path) -> subprocess.Popen:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is taken (another server?): pass --port")
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "explorer_app.py"), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--", "--runs", str(runs), "--data", data]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            env=dict(os.environ, EMOGAN_CACHE=str(cache)))
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"the explorer did not start; see {log}")


class Session:
    def __init__(self, index: int, page, base: str, seed: int, patience_s: float):
        self.index, self.page, self.base = index, page, base
        self.rng = random.Random(seed)
        self.patience_ms = patience_s * 1000
        self.clicks = 0                         # faces answered: one click each, the retries not counted
        self.retries = {"start": 0, "answer": 0}
        self.waits: list[float] = []            # click -> the next face (or the score) on screen
        self.problems: list[str] = []

    async def open(self) -> None:
        await self.page.goto(f"{self.base}/real-or-fake", timeout=300_000)
        await self.page.get_by_role("button", name="Start a round of").wait_for(timeout=300_000)

    async def _click_until(self, button, expected, timeout_ms: float, what: str) -> None:
        """Click, and click again while `expected` has not shown after `patience` seconds, as a person would when a
        click seems to do nothing. Under heavy load Streamlit now and then leaves a page half redrawn: the new face
        under the previous face's buttons, or the previous drawing although the server ran the click. The page
        records a click only for the face its buttons were drawn with, so clicking again never answers twice; it
        redraws the page."""
        deadline = time.perf_counter() + timeout_ms / 1000
        await button.click()
        while True:
            try:
                await expected.wait_for(timeout=min(self.patience_ms, max(1.0, (deadline - time.perf_counter()) * 1000)))
                return
            except PlaywrightTimeout:
                if time.perf_counter() >= deadline:
                    raise
                self.retries[what] += 1
                try:        # the button may go as the late drawing arrives: then there is nothing to click again
                    await button.click(timeout=self.patience_ms)
                except PlaywrightTimeout:
                    pass

    async def round(self, first: bool, timeout_ms: float) -> None:
        main = self.page.locator(MAIN)
        start = main.get_by_role("button", name="Start a round of" if first else "New round")
        await self._click_until(start, main.locator("h4", has_text="Face 1 of "), timeout_ms, "start")
        k = 0
        while True:
            heading = main.locator("h4", has_text=f"Face {k + 1} of ")
            n = int((await heading.inner_text()).rsplit(" ", 1)[1])
            await asyncio.sleep(self.rng.uniform(0.1, 0.6))      # a person looks before clicking
            t0 = time.perf_counter()
            # The button a person sees: a click that lands on the previous face's buttons, still on screen while the
            # page redraws, is not recorded (and redraws the page), so the answer is counted once the next face shows.
            button = main.get_by_role("button", name=self.rng.choice(("Real", "Fake")), exact=True)
            k += 1
            done = k == n
            expected = main.locator("h3", has_text="Score: ") if done else main.locator("h4", has_text=f"Face {k + 1} of ")
            await self._click_until(button, expected, timeout_ms, "answer")
            self.clicks += 1
            self.waits.append(time.perf_counter() - t0)
            if done:
                break
        if await main.get_by_text("Answer not saved").count():
            self.problems.append(f"session {self.index}: " + await main.get_by_text("Answer not saved").first.inner_text())


async def drive(base: str, n: int, rounds: int, timeout_s: float, patience_s: float, seed: int, shots: Path
                ) -> tuple[list[Session], float, float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM,
                                           args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        sessions = []
        for i in range(n):
            ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await ctx.new_page()
            page.set_default_timeout(timeout_s * 1000)
            sessions.append(Session(i, page, base, seed + i, patience_s))
        await asyncio.gather(*(s.open() for s in sessions))
        t0 = time.perf_counter()

        async def play(s: Session) -> None:
            try:
                for r in range(rounds):
                    await s.round(r == 0, timeout_s * 1000)
            except PlaywrightTimeout as e:
                shot = shots / f"stuck-{s.index}.png"
                await s.page.screenshot(path=str(shot), full_page=True)
                text = " ".join((await s.page.locator(MAIN).inner_text()).split())[:300]
                keys = await s.page.evaluate(KEYS_JS)
                text += f" (its widgets: {', '.join(keys)})"
                s.problems.append(f"session {s.index} stuck after {s.clicks} answers ({str(e).splitlines()[0]}); "
                                  f"the page said: {text}; see {shot}")

        await asyncio.gather(*(play(s) for s in sessions))
        took = time.perf_counter() - t0
        await browser.close()
    return sessions, t0, took


def check_file(path: Path) -> dict:
    """Lines of the answers file: how many, how many parse as whole answers (emogan's own reader), any repeated."""
    from emogan.runs.answers import read_answers
    raw = path.read_bytes() if path.exists() else b""
    got = read_answers(path.parent)
    keys = [(x["face"], x["time"]) for x in got.lines]
    return {"lines": raw.count(b"\n"), "ends_whole": raw.endswith(b"\n") or not raw, "good": len(got.lines),
            "damaged": len(got.damaged), "repeated": len(keys) - len(set(keys)), "note": got.note}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, default=REPO / "checkpoints", help="runs root to copy runs from")
    p.add_argument("--names", nargs="*", default=list(DEFAULT_RUNS), help="runs to copy (default: %(default)s)")
    p.add_argument("--data", default=os.environ.get("EMOGAN_DATA") or str(REPO / "tests" / "fixtures" / "fer2013"),
                   help="FER2013 for the real faces (default: $EMOGAN_DATA, else the test fixture)")
    p.add_argument("--work", type=Path, default=Path("/tmp/emogan-real-or-fake-load"))
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--rounds", type=int, default=1, help="rounds each session answers")
    p.add_argument("--timeout", type=float, default=180, help="seconds a page may take to show the next face")
    p.add_argument("--patience", type=float, default=20,
                   help="seconds without the next face before the same button is clicked again")
    p.add_argument("--port", type=int, default=8598)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    root = args.work / "runs"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for name in args.names:
        shutil.copytree(args.runs / name, root / name)
    server = start_server(root, args.data, args.port, args.work / "server.log", args.work / "cache")
    try:
        sessions, _, took = asyncio.run(drive(f"http://127.0.0.1:{args.port}", args.sessions, args.rounds,
                                              args.timeout, args.patience, args.seed, args.work))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    clicks = sum(s.clicks for s in sessions)
    waits = sorted(w for s in sessions for w in s.waits)
    found = check_file(root / "real_or_fake.jsonl")
    summary = {
        "sessions": args.sessions, "rounds_each": args.rounds, "runs": args.names, "answered": clicks,
        "answers_clicked_again": sum(s.retries["answer"] for s in sessions),
        "starts_clicked_again": sum(s.retries["start"] for s in sessions),
        "lines": found["lines"], "whole_answers": found["good"], "damaged_lines": found["damaged"],
        "repeated": found["repeated"], "lost": clicks - found["good"], "seconds": round(took, 1),
        "answers_per_s": round(clicks / took, 2) if took else None,
        "next_face_median_s": round(statistics.median(waits), 2) if waits else None,
        "next_face_p95_s": round(waits[int(0.95 * (len(waits) - 1))], 2) if waits else None,
        "next_face_max_s": round(waits[-1], 2) if waits else None,
        "problems": [x for s in sessions for x in s.problems],
    }
    print(json.dumps(summary))
    ok = (summary["lost"] == 0 and found["damaged"] == 0 and found["repeated"] == 0 and found["ends_whole"]
          and found["lines"] == clicks and not summary["problems"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
