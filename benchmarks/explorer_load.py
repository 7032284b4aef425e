"""Explorer under load: N concurrent browser sessions against the real Streamlit server on loopback, each moving
the iteration and the latent controls for a bounded time; reports the server's peak memory, its memory after
warm-up and at the end (flat when the caches are bounded) and the slowest interaction.

    python benchmarks/explorer_load.py                          # 10 sessions, 120 s, on six full-size demo runs
    python benchmarks/explorer_load.py --runs checkpoints --sessions 10 --seconds 300

Without --runs it first trains six full-size runs (M1..M6, --iters iterations on the test fixture, a snapshot
every 10) into --work, once. An interaction is timed from the click or key press until the page's images and
text have changed, the app is idle again and the page has been stable for 0.15 s. Browsers: Debian's chromium
(/usr/bin/chromium), never downloaded. The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SETTLE = 0.15               # seconds a page must stay unchanged to count as done
RUNNING = '[data-testid="stStatusWidget"]'
SIGNATURE_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return '';
  const imgs = Array.from(main.querySelectorAll('img')).map(i => i.currentSrc || i.src).join('|');
  return imgs + '#' + main.innerText.length + '#' + main.innerText.slice(0, 2000);
}"""


# ---------------------------------------------------------------------------------------------- runs to browse

def make_runs(root: Path, iters: int) -> Path:
    """Six full-size runs M1..M6 on the fixture faces (a snapshot with weights every 10 iterations)."""
    sys.path.insert(0, str(REPO))
    import torch

    from emogan.data import load_faces
    from emogan.models import ORIGINAL_SIX
    from emogan.runs.store import Run
    from emogan.training.loop import train

    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    faces = load_faces(REPO / "tests" / "fixtures" / "fer2013")
    for model in ORIGINAL_SIX:
        path = root / f"{model}-all-s0"
        if (path / "config.json").exists() and Run(path).status().get("state") == "done":
            continue
        t0 = time.perf_counter()
        train(faces, path, model=model, iters=iters, batch=16, snapshot_every=10, snapshot_at=(), device="cpu",
              resume=True)
        print(f"trained {path.name} ({iters} iterations) in {time.perf_counter() - t0:.0f}s", flush=True)
    return root


# ------------------------------------------------------------------------------------------ the server and its memory

def _tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    """Samples the summed VmRSS of the server's process tree every 0.2 s; keeps the per-process VmHWM too."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.hwm = pid, [], {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.2):
            pids = _tree(self.pid)
            self.samples.append((time.perf_counter(), sum(_status_kb(p, "VmRSS") for p in pids)))
            for p in pids:
                self.hwm[p] = max(self.hwm.get(p, 0), _status_kb(p, "VmHWM"))

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def rss_at(self, t: float) -> int:
        return next((kb for ts, kb in self.samples if ts >= t), self.samples[-1][1] if self.samples else 0)


def start_server(runs: Path, port: int, log: Path) -> subprocess.Popen:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is taken (another server?): pass --port")
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "explorer_app.py"), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--", "--runs", str(runs)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
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


# ---------------------------------------------------------------------------------------------- one browser session

class Session:
    def __init__(self, index: int, page, base: str, seed: int):
        self.index, self.page, self.base = index, page, base
        self.rng = random.Random(seed)
        self.timings: list[tuple[float, float, str]] = []        # (start, seconds, action)
        self.timeouts = 0
        self.where = "side-by-side"

    async def signature(self) -> str:
        return await self.page.evaluate(SIGNATURE_JS)

    async def settle(self, before: str, timeout: float) -> float | None:
        """Seconds until the page changed from `before`, is idle and stayed so for SETTLE; None on timeout."""
        t0 = time.perf_counter()
        last, since = None, None
        while time.perf_counter() - t0 < timeout:
            sig = await self.signature()
            idle = await self.page.locator(RUNNING).count() == 0
            now = time.perf_counter()
            if sig != before and idle:
                if sig != last:
                    last, since = sig, now
                elif now - since >= SETTLE:
                    return since - t0
            else:
                last, since = None, None
            await asyncio.sleep(0.03)
        return None

    async def open(self, where: str) -> None:
        self.where = where
        await self.page.goto(f"{self.base}/{where}", timeout=300_000)
        await self.page.wait_for_selector(".st-key-step_fwd button", timeout=300_000)
        await self.settle("", 300)

    async def _slider_value(self, key: str) -> tuple[float, float, float]:
        """(value, min, max) of a keyed slider: Streamlit draws it around an <input type=range>."""
        thumb = self.page.locator(f".st-key-{key} input[type=range]").first
        return tuple(await thumb.evaluate("e => [Number(e.value), Number(e.min), Number(e.max)]"))

    async def _nudge(self, key: str) -> None:
        """Arrow key on a keyed slider, towards whichever side it can still move."""
        now, lo, hi = await self._slider_value(key)
        await self.page.locator(f".st-key-{key} input[type=range]").first.focus()
        right = now <= lo or (now < hi and self.rng.random() < 0.5)
        await self.page.keyboard.press("ArrowRight" if right else "ArrowLeft")

    async def act(self) -> str:
        """One user action that changes what the page shows; returns its name."""
        p, rng = self.page, self.rng
        choices = ["step", "iteration slider"] + (["latent t", "latent seed"] * 2 if self.where == "latent" else [])
        action = rng.choice(choices)
        if action == "step":
            now, lo, hi = await self._slider_value("iteration_slider")
            fwd = now <= lo or (now < hi and rng.random() < 0.5)
            await p.click(f".st-key-{'step_fwd' if fwd else 'step_back'} button")
        elif action == "iteration slider":
            await self._nudge("iteration_slider")
        elif action == "latent t":
            await self._nudge("lat_t")
        else:
            await p.click(".st-key-A_value button[data-testid='stNumberInputStepUp']")
        return action

    async def drive(self, until: float, timeout: float) -> None:
        while time.perf_counter() < until:
            if self.rng.random() < 0.12:                             # move between the two pages now and then
                target = "latent" if self.where != "latent" else "side-by-side"
                before = await self.signature()
                t0 = time.perf_counter()
                await self.page.click(f'[data-testid="stSidebarNav"] a[href$="/{target}"]')
                self.where = target
                action = f"open {target} page"
            else:
                before = await self.signature()
                t0 = time.perf_counter()
                action = await self.act()
            took = await self.settle(before, timeout)
            if took is None:
                self.timeouts += 1
                await self.open(self.where)                          # start over from a known state
            else:
                self.timings.append((t0, took, action))
            await asyncio.sleep(self.rng.uniform(0.2, 1.0))         # a person's pause between moves


async def drive_sessions(base: str, n: int, seconds: float, timeout: float, seed: int) -> tuple[list[Session], float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM,
                                           args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        sessions = []
        for i in range(n):
            ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
            sessions.append(Session(i, await ctx.new_page(), base, seed + i))
        t_open = time.perf_counter()
        await asyncio.gather(*(s.open("side-by-side") for s in sessions))
        warm = time.perf_counter()
        print(f"{n} sessions open after {warm - t_open:.0f}s", flush=True)
        await asyncio.gather(*(s.drive(warm + seconds, timeout) for s in sessions))
        await browser.close()
    return sessions, warm


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, default=None, help="runs root to browse (default: build demo runs in --work)")
    p.add_argument("--work", type=Path, default=Path("/tmp/emogan-explorer-load"))
    p.add_argument("--iters", type=int, default=100, help="iterations of each demo run")
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--seconds", type=float, default=120, help="how long the sessions interact after opening")
    p.add_argument("--warmup", type=float, default=30, help="seconds after opening that count as warm-up")
    p.add_argument("--timeout", type=float, default=120, help="an interaction slower than this counts as failed")
    p.add_argument("--port", type=int, default=8599)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    runs = args.runs or make_runs(args.work / "runs", args.iters)
    server = start_server(runs, args.port, args.work / "server.log")
    sampler = MemorySampler(server.pid)
    sampler.start()
    idle_kb = _status_kb(server.pid, "VmRSS")
    try:
        sessions, warm = asyncio.run(drive_sessions(f"http://127.0.0.1:{args.port}", args.sessions, args.seconds,
                                                    args.timeout, args.seed))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        sampler.stop()
    sampler.samples = [(t, kb) for t, kb in sampler.samples if kb]       # not the moments after it stopped
    timings = [(t, s, a, sess.index) for sess in sessions for t, s, a in sess.timings]
    after_warm = [x for x in timings if x[0] >= warm + args.warmup]
    secs = sorted(s for _, s, _, _ in timings)
    slowest = max(timings, key=lambda x: x[1]) if timings else None
    peak_kb = max(kb for _, kb in sampler.samples)
    rss_warm = sampler.rss_at(warm + args.warmup)
    rss_end = sampler.samples[-1][1]
    late = [kb for ts, kb in sampler.samples if ts >= warm + args.warmup]
    summary = {
        "sessions": args.sessions, "seconds": args.seconds, "runs": str(runs), "interactions": len(timings),
        "interactions_after_warmup": len(after_warm), "timeouts": sum(s.timeouts for s in sessions),
        "slowest_s": round(slowest[1], 2) if slowest else None, "slowest_action": slowest[2] if slowest else None,
        "median_s": round(statistics.median(secs), 2) if secs else None,
        "p95_s": round(secs[int(0.95 * (len(secs) - 1))], 2) if secs else None,
        "slowest_after_warmup_s": round(max(s for _, s, _, _ in after_warm), 2) if after_warm else None,
        "server_rss_idle_mb": round(idle_kb / 1024, 1), "server_peak_rss_mb": round(peak_kb / 1024, 1),
        "server_vmhwm_mb": round(max(sampler.hwm.values()) / 1024, 1),
        "server_rss_after_warmup_mb": round(rss_warm / 1024, 1), "server_rss_end_mb": round(rss_end / 1024, 1),
        "server_rss_max_after_warmup_mb": round(max(late) / 1024, 1) if late else None,
        # Every 30 s from the moment the sessions were open: flat after warm-up when the caches are bounded.
        "server_rss_every_30s_mb": [round(sampler.rss_at(warm + t) / 1024)
                                    for t in range(0, int(args.seconds) + 1, 30)],
    }
    by_action: dict[str, list[float]] = {}
    for _, s, a, _ in timings:
        by_action.setdefault(a, []).append(s)
    for a, v in sorted(by_action.items()):
        print(f"{a:22s} n={len(v):4d}  median {statistics.median(v):6.2f}s  max {max(v):6.2f}s")
    print(f"server RSS: idle {summary['server_rss_idle_mb']} MB, after warm-up {summary['server_rss_after_warmup_mb']} "
          f"MB, peak {summary['server_peak_rss_mb']} MB, end {summary['server_rss_end_mb']} MB; every 30 s (MB): "
          f"{summary['server_rss_every_30s_mb']}")
    print(json.dumps(summary))
    return 0 if summary["timeouts"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
