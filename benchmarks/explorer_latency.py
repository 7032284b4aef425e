"""Benchmark: the explorer's server-side latency on the CPU, measured through the real app code.

(a) change the iteration and redraw the side-by-side page (six models x 16 faces): AppTest rerun after moving the
    sidebar's iteration control, first visit of an iteration (grids decoded) and revisit (cached);
(b) a 9-step interpolation strip for six models: the page's own calls (6 generators x 9 latents + tiling + PNG) for a
    new endpoint seed, generators already loaded, and the whole latent page's AppTest rerun for the same change;
(c) cold start: `streamlit run` process start to the first full render of the landing page in a fresh chromium
    (its four loss plots painted, the runs table shown, no script running), then a click to each other page until it is
    drawn, on the same fresh server; the same clock for the smallest app of the stack (a title and one chart), the
    floor under any page; and each page's AppTest first run in a fresh process (imports + first script run, no
    browser).

Runs: six full-size M1..M6 run folders written here (untrained seeded generators, 4850 iterations of synthetic
losses, a snapshot every 50 iterations plus the original's iterations, 64 fixed latents, weights at the
original's iterations), or your own with --runs (the shipped demo: --runs checkpoints); the browser waits for as
many curves and images as the runs the explorer selects on opening. AppTest times include AppTest's own
bookkeeping, so they overstate the server.
Wall times on a shared machine grow with its load (printed); the CPU times beside them are what the same work costs
on an idle machine of the same speed (for the cold start: the server process's CPU, without the browser's).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script from anywhere, without installing the package

import numpy as np  # noqa: E402
import torch  # noqa: E402

from emogan.original import ORIGINAL_ITERATIONS  # noqa: E402
from explorer.charts import CURVES, DRAWN_JS  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")


# ---------------------------------------------------------------- a run store of the original size

def build_store(root: Path, iters: int = 4850, every: int = 50, n_fixed: int = 64) -> None:
    from emogan.data import load_faces
    from emogan.images import make_grid
    from emogan.models import ORIGINAL_SIX, build_generator, get_config
    from emogan.runs.atomic import atomic_write_bytes
    from emogan.runs.checkpoint import save_generator
    from emogan.runs.store import RunWriter
    from emogan.sampling import generate, random_latents
    from emogan.training.options import TrainConfig
    from emogan.training.session import run_config

    faces = load_faces(REPO / "tests" / "fixtures" / "fer2013", "train", cache_dir=root / ".cache")
    its = sorted(set(range(every, iters + 1, every)) | set(ORIGINAL_ITERATIONS))
    rng = np.random.default_rng(0)
    for k, model in enumerate(ORIGINAL_SIX):
        cfg = get_config(model)
        torch.manual_seed(k)
        G, G2 = build_generator(cfg).eval(), build_generator(cfg).eval()
        z = random_latents(n_fixed, cfg.z_dim, 0)
        writer = RunWriter(root / f"{model}-all-s0")
        options = TrainConfig(iters=iters, snapshot_every=every, n_fixed=n_fixed, command=("benchmark",))
        writer.create(run_config(cfg, faces, options, name=writer.path.name, seed=0, device=torch.device("cpu")), z)
        t = np.arange(1, iters + 1)
        noise = rng.normal(size=(4, iters))
        writer.append_losses({"iteration": int(i), "loss_D": 0.7 - 0.2 * i / iters + 0.05 * a,
                              "loss_G": 0.9 + k * 0.4 * i / iters + 0.1 * b, "D_x": 0.6 + 0.05 * c,
                              "D_G_z": 0.4 + 0.05 * d, "seconds": 0.05 * i}
                             for i, a, b, c, d in zip(t, *noise))
        # Grids: blends of two generators' faces plus noise, so each snapshot's PNG differs (and decodes) like a
        # real one; drawing 100 real grids per model would take minutes on the CPU for the same file sizes.
        a_faces, b_faces = generate(G, z).astype(np.float32), generate(G2, z).astype(np.float32)
        entries = []
        for j, it in enumerate(its):
            w = j / max(1, len(its) - 1)
            faces_it = np.clip((1 - w) * a_faces + w * b_faces + rng.normal(0, 6, a_faces.shape), 0, 255).astype(np.uint8)
            entry = {"iteration": it, "grid": f"samples/{it:06d}.png", "weights": None}
            buf = __import__("io").BytesIO()
            make_grid(faces_it, ncols=8).save(buf, format="PNG", optimize=True)
            atomic_write_bytes(writer.path / entry["grid"], buf.getvalue())
            if it in ORIGINAL_ITERATIONS:
                entry["weights"] = f"weights/G_{it:06d}.safetensors"
                save_generator(writer.path / entry["weights"], G if w < 0.5 else G2, it)
            entries.append(entry)
        writer.write_index(entries, {"state": "done", "iteration": iters, "message": ""})


# ---------------------------------------------------------------- (a) and (b): AppTest and the page's own calls

def _script(repo: str, root: str, start: str) -> None:
    import sys
    if repo not in sys.path:
        sys.path.insert(0, repo)
    import explorer_app
    explorer_app.main(["--runs", root], start=start)


def _app(root: Path, start: str):
    from streamlit.testing.v1 import AppTest
    return AppTest.from_function(_script, args=(str(REPO), str(root), start), default_timeout=300)


CPU: dict[str, list[float]] = {}   # CPU seconds of the same measurements: what the wall time is on an idle machine


def _timed_run(at, tag: str) -> float:
    t0, c0 = time.perf_counter(), time.process_time()
    at.run()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    if at.exception:
        raise RuntimeError(f"the app raised: {at.exception[0].value}")
    CPU.setdefault(tag, []).append(dc)
    return dt


def _ms(xs: list[float], tag: str | None = None) -> str:
    text = f"median {1000 * statistics.median(xs):.0f} ms, max {1000 * max(xs):.0f} ms (n={len(xs)})"
    if tag and CPU.get(tag):
        text += f"; CPU median {1000 * statistics.median(CPU[tag]):.0f} ms"
    return text


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_iteration(root: Path, visits: int) -> dict[str, list[float]]:
    at = _app(root, "side-by-side")
    first = _timed_run(at, "first")
    slider = at.sidebar.select_slider(key="iteration_slider")
    options = [int(o) for o in slider.options]
    picks = [options[i] for i in np.linspace(0, len(options) - 2, visits).astype(int)]
    cold, warm = [], []
    for it in picks:                              # first visits: each run's PNG grid decoded, tiled, encoded
        at.sidebar.select_slider(key="iteration_slider").set_value(it)
        cold.append(_timed_run(at, "a_cold"))
        assert f"Iteration {it}" in " ".join(str(m.value) for m in at.main.markdown)
        assert len(at.main.image) == selected_runs(root)
    for it in picks:                              # revisits: every piece cached
        at.sidebar.select_slider(key="iteration_slider").set_value(it)
        warm.append(_timed_run(at, "a_warm"))
    return {"first_run": [first], "cold": cold, "warm": warm}


def bench_interpolation(root: Path, trials: int) -> dict[str, list[float]]:
    from emogan.runs.catalog import list_runs
    from emogan.views import latent
    from explorer import loaders, session

    # The page's own calls, outside a script run (Streamlit's caches work without a server).
    runs = list_runs(root)[:6]
    session.configure(session.AppConfig(root))
    wits = [loaders.weights_iteration(r, ORIGINAL_ITERATIONS[0])[0] for r in runs]
    t0 = time.perf_counter()
    for r, it in zip(runs, wits):                 # load the six generators once, as the page's first visit does
        loaders.generated(r, it, latent.seed_latent(0).reshape(1, -1))
    load = time.perf_counter() - t0
    strips = []
    for seed in range(1, trials + 1):             # a new endpoint each time: nothing of the strip is cached
        t0, c0 = time.perf_counter(), time.thread_time()
        path = latent.interpolate(latent.seed_latent(0), latent.seed_latent(1000 + seed), 9, "slerp")
        for r, it in zip(runs, wits):
            faces, err = loaders.generated(r, it, path)
            assert faces is not None, err
            loaders.image_png(faces, 9, scale=2)
        strips.append(time.perf_counter() - t0)
        CPU.setdefault("b_strip", []).append(time.thread_time() - c0)

    # The whole latent page rerun for the same change (strip + the t row; the directions part is cached).
    at = _app(root, "latent")
    _timed_run(at, "first")
    page = []
    for seed in range(1, trials + 1):
        at.main.number_input(key="B_value").set_value(2000 + seed)
        page.append(_timed_run(at, "b_page"))
    return {"generator_load": [load], "strip": strips, "page": page}


COLD_SCRIPT = """import sys
sys.path.insert(0, {repo!r})
import explorer_app
explorer_app.main(["--runs", {root!r}], start={start!r})
"""
COLD_RUN = """import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({script!r}, default_timeout=300).run()
assert not at.exception, [e.value for e in at.exception]
print(json.dumps({{"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "loaded": [m for m in ("torch", "sklearn", "scipy", "torchmetrics") if m in sys.modules]}}))
"""
# (url path, page title, nav label, whether a drawn page shows an image per selected run, else a painted chart)
PAGE_CHECKS = (("side-by-side", "Side by side", "Side by side", True), ("timeline", "Timeline", "Timeline", True),
               ("latent", "Latent space", "Latent space", True), ("mode-collapse", "Mode collapse", "Mode collapse", False))


def selected_runs(root: Path) -> int:
    """How many runs the explorer selects when it opens on `root` (each draws its curves and images)."""
    from emogan.runs.catalog import default_selection, groups, list_runs

    first = next(iter(groups(list_runs(root)).values()), [])
    return len(default_selection(first))


def bench_apptest_cold(root: Path, start: str) -> dict:
    """AppTest's first run of a page in a fresh interpreter that has imported nothing else: wall and CPU seconds
    (imports + first script run), and which of the heavy libraries the page loaded."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / f"cold_{start}.py"
        script.write_text(COLD_SCRIPT.format(repo=str(REPO), root=str(root), start=start))
        out = subprocess.run([sys.executable, "-c", COLD_RUN.format(script=str(script))], capture_output=True,
                             text=True, cwd=REPO, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- (c) cold start in a browser

def _drawn(page, title: str, images: int) -> None:
    """Wait until the page shows its title, at least `images` loaded images and no script is running."""
    page.wait_for_function("t => [...document.querySelectorAll('[data-testid=stMain] h2')].some(h => "
                           "h.innerText.trim() === t)", arg=title, timeout=120_000)
    page.wait_for_function("n => { const im = [...document.querySelectorAll('[data-testid=stMain] img')];"
                           " return im.length >= n && im.every(i => i.complete && i.naturalWidth > 0); }",
                           arg=images, timeout=120_000)
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=120_000)


FLOOR_APP = """import streamlit as st
from streamlit_echarts import st_echarts
st.header("Floor")
st_echarts({"xAxis": {"type": "value"}, "yAxis": {"type": "value"},
            "series": [{"type": "line", "data": [[i, i] for i in range(10)]}]})
"""


@contextlib.contextmanager
def _browser_on(script: Path, args: list[str], marks: dict[str, float]):
    """A fresh chromium and a fresh `streamlit run script -- args` (the repository's .streamlit/config.toml
    applies); yields (page, server process, t0) once the first page has loaded, with marks["server answers"]."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
                                 "--server.address", "127.0.0.1", "--server.port", str(port), "--", *args],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}/", timeout=2000)
                    marks["server answers"] = time.perf_counter() - t0
                    break
                except Exception:  # noqa: BLE001 - not listening yet
                    if proc.poll() is not None or time.perf_counter() - t0 > 120:
                        raise RuntimeError("streamlit did not start") from None
                    time.sleep(0.05)
            yield page, proc, t0
        finally:
            proc.terminate()
            proc.wait(15)
            browser.close()


def bench_browser_cold(root: Path) -> dict[str, float] | None:
    """Seconds from `streamlit run explorer_app.py` to: the server answering, the landing page's title drawn, and
    the landing page fully drawn in chromium (its loss plots painted, the runs table shown); then, on the same
    fresh server, from a click on each other page in the sidebar to that page fully drawn (its module's first import
    included). None without a browser."""
    if not CHROMIUM.exists():
        return None
    n_runs = selected_runs(root)
    marks: dict[str, float] = {}
    with _browser_on(REPO / "explorer_app.py", ["--runs", str(root)], marks) as (page, proc, t0):
        page.wait_for_selector("h2", timeout=120_000)
        marks["title drawn"] = time.perf_counter() - t0
        page.wait_for_function(DRAWN_JS, arg=[CURVES, 1], timeout=120_000, polling=50)    # the four loss plots
        page.wait_for_selector("[data-testid='stTable']", timeout=120_000)
        page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=120_000)
        marks["fully drawn"] = time.perf_counter() - t0
        marks["server CPU"] = _proc_cpu(proc.pid)
        for _, title, label, per_run in PAGE_CHECKS:
            t1 = time.perf_counter()
            page.locator("[data-testid='stSidebarNav'] a", has_text=label).click()
            # The Mode collapse page draws its galleries only once asked: there, its charts painted.
            _drawn(page, title, n_runs if per_run else 0)
            if not per_run:
                page.wait_for_function(DRAWN_JS, arg=["[data-testid=stMain]", 1], timeout=120_000, polling=50)
            marks[f"click -> {title}"] = time.perf_counter() - t1
        marks["server CPU, all pages"] = _proc_cpu(proc.pid)
    return marks


def bench_browser_floor() -> dict[str, float] | None:
    """The same clock for the smallest app of the same stack (a title and one 10-point chart): what any Streamlit
    page with a chart costs on this machine before the explorer does anything. None without a browser."""
    if not CHROMIUM.exists():
        return None
    marks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "floor_app.py"
        script.write_text(FLOOR_APP)
        with _browser_on(script, [], marks) as (page, _, t0):
            page.wait_for_function(DRAWN_JS, arg=["[data-testid=stMain]", 1], timeout=120_000, polling=50)
            page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=120_000)
            marks["fully drawn"] = time.perf_counter() - t0
    return marks


# ---------------------------------------------------------------- (e) live refresh while a run trains

def bench_live(root: Path, work: Path, data: str, seconds: float = 45.0, page_path: str = "side-by-side"
               ) -> dict[str, float] | None:
    """Seven runs of --runs (one per model but M7) and an M7 training into the same root from FER2013 at `data`,
    the side-by-side page open with all eight selected and following the newest snapshot: the server's CPU per
    live refresh (one every sidebar.LIVE_S while the run trains), the wall time from each new snapshot on disk to
    its faces on screen, and the server's CPU over 10 s once nothing trains. None without a browser."""
    import shutil

    from emogan.runs import launch
    from emogan.runs.catalog import default_selection, groups, list_runs
    from explorer.sidebar import LIVE_S

    if not CHROMIUM.exists():
        return None
    first = next(iter(groups(list_runs(root)).values()))
    for name in default_selection(first, limit=8):
        if not name.startswith("M7-"):
            shutil.copytree(root / name, work / name)
    run = work / "M7-all-s0"
    proc = launch.launch(["train", "--model", "M7", "--data", data, "--out", str(work), "--iters", "2000",
                          "--threads", "1", "--no-progress"], work.parent / "live-train.log")
    marks: dict[str, float] = {}
    try:
        while not (run / "index.json").exists() or not json.loads((run / "index.json").read_text())["snapshots"]:
            time.sleep(0.2)
        with _browser_on(REPO / "explorer_app.py", ["--runs", str(work)], marks) as (page, server, t0):
            page.goto(page.url.rstrip("/") + "/" + page_path)
            page.wait_for_selector("[data-testid=stSidebar] .st-key-iteration_slider", timeout=120_000)
            time.sleep(5)
            c0, w0 = _proc_cpu(server.pid), time.perf_counter()
            lags = []
            while time.perf_counter() - w0 < seconds and proc.poll() is None:
                snaps = json.loads((run / "index.json").read_text())["snapshots"]
                newest = snaps[-1]["iteration"]
                while json.loads((run / "index.json").read_text())["snapshots"][-1]["iteration"] == newest:
                    if proc.poll() is not None:
                        break
                    time.sleep(0.02)
                t_disk = time.perf_counter()
                newest = json.loads((run / "index.json").read_text())["snapshots"][-1]["iteration"]
                page.wait_for_function("it => document.querySelector("
                                       "'[data-testid=stSidebar] .st-key-iteration_slider input[type=range]')"
                                       "?.getAttribute('aria-valuetext') === String(it)", arg=newest, timeout=60_000)
                page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=60_000)
                lags.append(time.perf_counter() - t_disk)
            c1, w1 = _proc_cpu(server.pid), time.perf_counter()
            marks["refreshes"] = (w1 - w0) / LIVE_S
            marks["server CPU per refresh"] = (c1 - c0) / marks["refreshes"]
            marks["snapshot to screen, median"] = statistics.median(lags) if lags else float("nan")
            marks["snapshot to screen, max"] = max(lags) if lags else float("nan")
            launch.stop(run)
            proc.wait(timeout=120)
            time.sleep(2 * LIVE_S)
            c2 = _proc_cpu(server.pid)
            time.sleep(10)
            marks["server CPU over 10 s idle"] = _proc_cpu(server.pid) - c2
    finally:
        if proc.poll() is None:
            proc.kill()
    return marks


# ---------------------------------------------------------------- (d) a sweep's worth of runs

def scaled_copy(root: Path, dest: Path, n: int) -> int:
    """`root`'s runs and copies of them, as seeds 100, 101, ... of the same models, until `dest` holds n runs."""
    import shutil

    runs = sorted(p for p in root.iterdir() if (p / "config.json").is_file())
    dest.mkdir(parents=True)
    for r in runs:
        shutil.copytree(r, dest / r.name)
    for i in range(n - len(runs)):
        src = runs[i % len(runs)]
        config = json.loads((src / "config.json").read_text())
        seed = 100 + i
        name = f"{config['model']}-{config['emotion']}-s{seed}"
        shutil.copytree(src, dest / name)
        config.update(seed=seed, name=name)
        (dest / name / "config.json").write_text(json.dumps(config))
    return len([p for p in dest.iterdir() if (p / "config.json").is_file()])


def bench_scale(root: Path, scaled: Path, n: int, visits: int) -> int:
    from emogan.runs.catalog import default_selection, groups, list_runs

    count = scaled_copy(root, scaled, n)
    print(f"(d) {len(list_runs(root))} runs against {count} runs (copies of them as further seeds)")
    figures = {}
    for label, where in (("as shipped", root), (f"{count} runs", scaled)):
        first = next(iter(groups(list_runs(where)).values()))
        chosen = default_selection(first)
        cold = bench_apptest_cold(where, "losses")
        browser = bench_browser_cold(where) or {}
        it = bench_iteration(where, visits)
        figures[label] = (cold["wall"], browser.get("fully drawn"), statistics.median(it["cold"]))
        print(f"    {label}: picker selects {len(chosen)} runs ({', '.join(chosen)}); landing AppTest first run "
              f"{cold['wall']:.2f} s (CPU {cold['cpu']:.2f} s); landing in chromium "
              + (f"{browser['fully drawn']:.2f} s" if browser else "skipped")
              + f"; iteration change (side by side, first visit) median {1000 * figures[label][2]:.0f} ms")
    (a, b) = figures.values()
    ratios = [f"{name} {y / x:.2f}x" for name, x, y in zip(("landing AppTest", "landing chromium", "iteration change"),
                                                            a, b) if x and y]
    print(f"    ratios ({count} runs / as shipped; goal at most 1.5x): {', '.join(ratios)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=None, help="runs root (default: build six runs)")
    parser.add_argument("--cold-only", action="store_true", help="only (c), the cold start")
    parser.add_argument("--visits", type=int, default=8, help="iterations visited for (a)")
    parser.add_argument("--trials", type=int, default=5, help="new endpoints for (b)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, as the app sets them (default 1)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--live", default=None, metavar="DATA",
                        help="only (e): a live refresh while an M7 run trains from FER2013 at DATA beside seven runs "
                             "of --runs")
    parser.add_argument("--scale", type=int, default=None, metavar="N",
                        help="only (d): the landing page's cold start and an iteration change with the runs of --runs, "
                             "then with copies of them (as further seeds) up to N runs, in this one process")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    import logging
    logging.getLogger("streamlit").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory(prefix="emogan-explorer-bench-") as tmp:
        os.environ.setdefault("EMOGAN_CACHE", str(Path(tmp) / "cache"))
        root = args.runs
        if root is None:
            root = Path(tmp) / "runs"
            t0 = time.perf_counter()
            build_store(root)
            print(f"built six full-size runs in {root} ({time.perf_counter() - t0:.0f} s)")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; torch threads {args.threads}")
        if args.scale:
            return bench_scale(root, Path(tmp) / "scaled", args.scale, args.visits)
        if args.live:
            for label, path in (("side by side", "side-by-side"), ("runs and losses", "")):
                work = Path(tmp) / f"live-{path or 'losses'}"
                work.mkdir()
                got = bench_live(root, work, args.live, page_path=path)
                print(f"(e) live refresh, 8 runs selected, one training, {label} page following the newest "
                      "snapshot: " + (", ".join(f"{k} {v:.3f}" for k, v in got.items()) if got else
                                      f"skipped (no {CHROMIUM})"))
            print("    goals: at most 0.150 s of server CPU per refresh, a snapshot on screen within 5 s")
            return 0
        a = b = None
        if not args.cold_only:
            a = bench_iteration(root, args.visits)
            print("(a) iteration change, side by side, 6 runs x 16 faces (AppTest rerun):")
            print(f"    first visit of an iteration: {_ms(a['cold'], 'a_cold')}")
            print(f"    revisit (cached):            {_ms(a['warm'], 'a_warm')}")
            b = bench_interpolation(root, args.trials)
            print(f"(b) 9-step slerp strip for 6 runs, new endpoint (generators loaded once in "
                  f"{1000 * b['generator_load'][0]:.0f} ms):")
            print(f"    the page's calls:            {_ms(b['strip'], 'b_strip')}")
            print(f"    latent page AppTest rerun:   {_ms(b['page'], 'b_page')}")
        cold_apptest = {start: bench_apptest_cold(root, start) for start in ("losses", *(c[0] for c in PAGE_CHECKS))}
        print("(c) cold start, AppTest first run of each page in a fresh process (imports + script):")
        for start, got in cold_apptest.items():
            print(f"    {start}: {got['wall']:.2f} s (CPU {got['cpu']:.2f} s), loads {', '.join(got['loaded']) or 'none'}"
                  " of torch, sklearn, scipy, torchmetrics")
        cold = bench_browser_cold(root)
        print("    streamlit run -> landing page in chromium, then a click to each other page: "
              + (", ".join(f"{k} {v:.2f} s" for k, v in cold.items()) if cold else f"skipped (no {CHROMIUM})"))
        floor = bench_browser_floor()
        print("    the floor, streamlit run -> a title and one chart drawn (the smallest app of this stack): "
              + (", ".join(f"{k} {v:.2f} s" for k, v in floor.items()) if floor else f"skipped (no {CHROMIUM})"))
        if args.json:
            args.json.write_text(json.dumps({"iteration": a, "interpolation": b, "cold_apptest": cold_apptest,
                                             "cold_browser": cold, "floor_browser": floor, "cpu": CPU}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
