"""The explorer in a real browser: `streamlit run` on a loopback port, Debian's chromium driven by Playwright.

Screenshots of every page go to artifacts/screenshots/ (kept by CI): they are what a user sees. Every test also
checks that the page asked nothing of any host but the app's own server (the app works offline)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from explorer.charts import CURVES, DRAWN_JS, color_for

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "artifacts" / "screenshots"
PAGES = {"losses": "", "side-by-side": "side-by-side", "timeline": "timeline", "latent": "latent",
         "mode-collapse": "mode-collapse", "train": "train"}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no browser at {CHROMIUM} (.ci/run installs Debian's chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="Python playwright is not installed")

RUNNING = "[data-testid='stStatusWidget']"       # present while a script run is in progress
MAIN_IMAGES = "[data-testid='stMain'] img"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serving(runs: Path, tmp_path_factory, *extra: str):
    """`streamlit run explorer_app.py` on `runs` on a free loopback port, stopped on leaving."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = dict(os.environ, EMOGAN_CACHE=str(tmp_path_factory.mktemp("e2e-cache")))
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "explorer_app.py"),
           "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--server.runOnSave", "false",
           "--", "--runs", str(runs), *extra]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer on {url} within 90 s: {log_path.read_text()[-2000:]}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(explorer_runs, tmp_path_factory):
    # An empty classifier folder: the judge test below sees the "no weights" message whether or not
    # checkpoints/classifier holds shipped weights.
    with _serving(explorer_runs, tmp_path_factory, "--classifier", str(tmp_path_factory.mktemp("no-classifier"))) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--no-first-run"])
        yield b
        b.close()


def _outside(url: str) -> bool:
    """Whether a request goes to another host than this machine (data: and blob: URLs go nowhere)."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme not in ("data", "blob", "about") and parts.hostname not in LOCAL_HOSTS


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    outside: list[str] = []
    context.on("request", lambda request: outside.append(request.url) if _outside(request.url) else None)
    pg = context.new_page()
    pg.on("websocket", lambda ws: outside.append(ws.url) if _outside(ws.url) else None)
    pg.set_default_timeout(90_000)
    yield pg
    context.close()
    assert not outside, f"the app made requests beyond its own server: {sorted(set(outside))[:10]}"


def settle(pg, quiet: float = 1.0) -> None:
    """Wait until no script run is shown as running and the page's images have stayed the same, all loaded, for
    `quiet` seconds (the status widget only appears once a run takes a moment, so its absence alone proves little)."""
    pg.wait_for_selector("h2")
    deadline, last, since = time.monotonic() + 90, None, time.monotonic()
    while time.monotonic() < deadline:
        state = pg.evaluate(f"""() => [
            !!document.querySelector("{RUNNING}") || !!document.querySelector("[data-stale='true']"),
            [...document.querySelectorAll("{MAIN_IMAGES}")].map(i => i.complete && i.naturalWidth > 0 ? i.src : "")]""")
        busy, sources = state
        if busy or "" in sources or sources != last:
            last, since = sources, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)
    raise AssertionError("the page did not settle within 90 s")


def image_sources(pg) -> list[str]:
    return pg.eval_on_selector_all(MAIN_IMAGES, "els => els.map(e => e.getAttribute('src'))")


def assert_no_errors(pg) -> None:
    assert pg.locator("[data-testid='stException']").count() == 0, pg.locator("[data-testid='stException']").first.inner_text()
    assert pg.locator("[data-testid='stAlertContentError']").count() == 0


def test_every_page_renders_and_is_photographed(server, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in PAGES.items():
        page.goto(f"{server}/{path}")
        settle(page)
        if name == "losses":
            page.wait_for_function(DRAWN_JS, arg=[CURVES, 1])
        assert_no_errors(page)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        if name in ("side-by-side", "timeline", "latent"):
            assert len(image_sources(page)) >= 6


def test_every_page_opens_at_its_own_address(server, page):
    import explorer_app
    nav = "[data-testid='stSidebarNav'] a"
    for _, title, url in explorer_app.PAGES:
        page.goto(f"{server}/{url}")
        page.locator(f"{nav}[aria-current='page']", has_text=title).wait_for()
        page.locator("[data-testid='stMain'] h2").first.wait_for()
        assert page.get_by_text("Page not found").count() == 0, url
        assert urllib.parse.urlsplit(page.url).path == f"/{url}"
    # The root address opens the first page, and then shows that page's own address.
    first = explorer_app.PAGES[0]
    page.goto(f"{server}/")
    page.locator(f"{nav}[aria-current='page']", has_text=first[1]).wait_for()
    page.wait_for_function("path => location.pathname === path", arg=f"/{first[2]}")
    assert page.get_by_text("Page not found").count() == 0
    assert_no_errors(page)


def test_moving_the_iteration_control_changes_the_images_on_every_page(server, page):
    page.goto(f"{server}/side-by-side")
    settle(page)
    before = image_sources(page)
    assert "Iteration 40" in page.locator("[data-testid='stMain'] h4").first.inner_text()
    thumb = page.locator("[data-testid='stSidebar'] .st-key-iteration_slider input[type='range']")
    thumb.focus()
    page.keyboard.press("Home")                           # the first snapshot
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stMain] h4')]"
                           ".some(h => h.innerText.includes('Iteration 10'))")
    settle(page)
    after = image_sources(page)
    assert len(after) == len(before) and not set(after) & set(before)
    assert_no_errors(page)
    page.screenshot(path=str(SHOTS / "side-by-side-iteration-10.png"), full_page=True)
    # The iteration belongs to the whole app: another page opens on it.
    page.locator("[data-testid='stSidebarNav'] a", has_text="Timeline").click()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stMain] h4')]"
                           ".some(h => h.innerText.startsWith('Iteration 10'))")
    settle(page)
    page.locator("[data-testid='stSidebar']").get_by_role("button", name="Next").click()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stMain] h4')]"
                           ".some(h => h.innerText.startsWith('Iteration 20'))")
    settle(page)
    assert_no_errors(page)


def test_the_curves_tooltip_lists_every_run_and_a_click_sets_the_iteration(server, page):
    page.goto(f"{server}/")
    settle(page)
    page.wait_for_function(DRAWN_JS, arg=[CURVES, 1])
    # The Loss G plot (the left half of the first row) spans iterations 0..40: its middle is iteration ~20, which a
    # snapshot (every 10) holds.
    box = page.locator(f"{CURVES} .echarts-container").bounding_box()
    x, y = box["x"] + box["width"] * 0.47 / 2, box["y"] + 28 + 26 + 110
    page.mouse.move(x, y)
    tip = page.locator("[data-testid=stMain] .echarts-container div", has_text="smoothed").last
    tip.wait_for(state="visible")
    text = tip.inner_text()
    assert text.startswith("iteration ") and all(f"M{i} " in text for i in range(1, 7)), text
    page.mouse.click(x, y)
    page.wait_for_function("() => document.querySelector("
                           "'[data-testid=stSidebar] .st-key-iteration_slider input[type=range]')"
                           "?.getAttribute('aria-valuetext') === '20'")
    settle(page)
    assert_no_errors(page)


def heading(pg) -> str:
    return pg.locator("[data-testid='stMain'] h4").first.inner_text()


def test_play_change_view_and_judge_message(server, page):
    page.goto(f"{server}/timeline")
    settle(page)
    n = len(image_sources(page))
    page.get_by_text("Change since previous snapshot").click()
    page.wait_for_function(f"() => document.querySelectorAll(\"{MAIN_IMAGES}\").length > {n}")
    settle(page)
    assert_no_errors(page)
    page.screenshot(path=str(SHOTS / "timeline-change.png"), full_page=True)
    start = heading(page)
    page.locator("[data-testid='stSidebar']").get_by_role("button", name="Play").click()
    page.wait_for_function("h => document.querySelector('[data-testid=stMain] h4')?.innerText !== h", arg=start)
    page.locator("[data-testid='stSidebar']").get_by_role("button", name="Pause").click()
    settle(page)
    assert heading(page) != start
    assert_no_errors(page)
    # Without classifier weights the judge toggle explains itself in one line and the faces stay.
    page.goto(f"{server}/side-by-side")
    settle(page)
    page.locator("[data-testid='stSidebar']").get_by_text("Judge emotions").click()
    page.wait_for_selector("[data-testid='stAlertContentInfo']:has-text('classifier weights not found at')")
    settle(page)
    assert len(image_sources(page)) == 6
    assert_no_errors(page)
    page.screenshot(path=str(SHOTS / "side-by-side-judge-without-weights.png"), full_page=True)


# ---------------------------------------------------------------- the shipped demo's one collapse

SLIDER = "[data-testid=stSidebar] .st-key-iteration_slider input[type=range]"
# Per column of the first loss plot's canvas: how many pixels have the tint of `rgb` laid at `alpha` over white
# (an episode's shading), so the bands can be found without knowing the plot's pixel geometry.
TINT_COLUMNS_JS = """([where, rgb, alpha]) => {
  const c = document.querySelector(where + ' .echarts-container canvas');
  const w = c.width, h = c.height, d = c.getContext('2d').getImageData(0, 0, w, h).data;
  const want = rgb.map(v => 255 * (1 - alpha) + v * alpha), cols = new Array(Math.floor(w / 2)).fill(0);
  for (let x = 0; x < cols.length; x++) for (let y = 0; y < h / 2; y++) {
    const i = 4 * (y * w + x);
    if (Math.abs(d[i] - want[0]) < 4 && Math.abs(d[i + 1] - want[1]) < 4 && Math.abs(d[i + 2] - want[2]) < 4) cols[x]++;
  }
  return cols; }"""


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    shipped = REPO / "checkpoints" / "M4-all-s0"
    if not (shipped / "metrics.jsonl").is_file():
        pytest.skip("no shipped demo")
    root = tmp_path_factory.mktemp("demo-runs")
    for name in ("M1-all-s0", "M4-all-s0"):                     # one collapse, one healthy run
        shutil.copytree(REPO / "checkpoints" / name, root / name)   # a symlink would leave the runs root
    with _serving(root, tmp_path_factory) as url:
        yield url


def _slider(pg) -> str:
    return pg.locator(SLIDER).get_attribute("aria-valuetext")


def test_the_shipped_m4_collapse_is_shaded_and_the_sidebar_jumps_to_it(demo_server, page):
    page.goto(f"{demo_server}/")
    settle(page)
    page.wait_for_function(DRAWN_JS, arg=[CURVES, 1])
    rgb = [int(color_for("M4")[i:i + 2], 16) for i in (1, 3, 5)]
    cols = page.evaluate(TINT_COLUMNS_JS, [CURVES, rgb, 0.12])
    tall = max(cols)
    bands, inside = [], False
    for x, n in enumerate(cols):    # runs of shaded columns (a fifth of the height: the M4 spike overdraws 3900)
        shaded = n > tall / 5
        if shaded and not inside:
            bands.append([x, x])
        if shaded:
            bands[-1][1] = x
        inside = shaded
    # M4's episodes, each widened by half a snapshot: 1100, 1350, 1450-1550, 1750, 3500, 3900-3950 and 4450. M1's
    # own at 1350 and 1700 are in M1's colour, and where both shade 1350 the tint is neither's, so M4's may
    # not be found there. The last three are checked for place and width.
    assert tall > 50 and len(bands) in (6, 7), (tall, bands)
    last = bands[-3:]
    mid = [(a + b) / 2 for a, b in last]
    assert abs((mid[1] - mid[0]) / (mid[2] - mid[0]) - (3925 - 3500) / (4450 - 3500)) < 0.05, bands
    assert (last[1][1] - last[1][0]) / (last[0][1] - last[0][0]) == pytest.approx(2, abs=0.35), bands
    assert (mid[0] - (bands[0][0] + bands[0][1]) / 2) / (mid[2] - mid[0]) == pytest.approx(
        (3500 - 1100) / (4450 - 3500), abs=0.1), bands
    page.screenshot(path=str(SHOTS / "losses-m4-episodes.png"), full_page=True)

    page.locator(SLIDER).focus()
    page.keyboard.press("End")                  # the end of the default range: the original slides' 4850
    page.wait_for_function(f"() => document.querySelector('{SLIDER}')?.getAttribute('aria-valuetext') === '4850'")
    settle(page)
    for want in ("4450", "3950", "3900"):
        page.locator("[data-testid=stSidebar]").get_by_role("button", name="Flagged ‹").click()
        page.wait_for_function(f"() => document.querySelector('{SLIDER}')?.getAttribute('aria-valuetext') === '{want}'")
    settle(page)
    page.locator("[data-testid=stSidebar]").get_by_role("button", name="› Flagged").click()
    page.wait_for_function(f"() => document.querySelector('{SLIDER}')?.getAttribute('aria-valuetext') === '3950'")
    settle(page)
    assert_no_errors(page)

    page.locator("[data-testid='stSidebarNav'] a", has_text="Mode collapse").click()
    page.get_by_text("collapsed 3900-3950 (2 snapshots)").first.wait_for()
    page.get_by_role("button", name="Show 3900").click()
    page.get_by_text("M4 at 3900").first.wait_for()
    settle(page)
    assert _slider(page) == "3900"
    assert_no_errors(page)
    page.screenshot(path=str(SHOTS / "mode-collapse-m4-3900.png"), full_page=True)


# ---------------------------------------------------------------- a run training while the page is open

@pytest.fixture
def training_server(tmp_path_factory):
    from emogan.runs import launch

    root = tmp_path_factory.mktemp("live-runs")
    run = root / "M7-all-s0"
    proc = launch.launch(["train", "--model", "M7", "--data", str(REPO / "tests" / "fixtures" / "fer2013"),
                          "--out", str(root), "--iters", "4000", "--snapshot-every", "10", "--weights-every", "1000",
                          "--threads", "1", "--no-progress"], root.parent / "live-train.log")
    try:
        deadline = time.monotonic() + 120
        while not (run / "index.json").exists() or '"iteration": 30' not in (run / "index.json").read_text():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        with _serving(root, tmp_path_factory) as url:
            yield url, run
    finally:
        launch.stop(run)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _table_iteration(pg) -> int:
    cell = pg.locator("[data-testid=stMain] [data-testid=stTable] td", has_text="/4000").first.inner_text()
    return int(cell.split("/")[0])


def test_a_training_run_updates_live_and_a_zoom_survives_refreshes_and_clicks(training_server, page):
    url, run = training_server
    page.goto(f"{url}/")
    settle(page, quiet=0.3)
    page.wait_for_function(DRAWN_JS, arg=[CURVES, 1])
    page.locator("[data-testid=stSidebar]").get_by_text("Follow the newest snapshot").click()   # stay put
    first = _table_iteration(page)
    # No reload: the sidebar's timer reruns the app when the loss log grows.
    page.wait_for_function("n => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stTable] td')]"
                           ".some(td => td.innerText.endsWith('/4000') && parseInt(td.innerText) > n)", arg=first)
    box = page.locator(f"{CURVES} .echarts-container").bounding_box()
    x, y = box["x"] + box["width"] * 0.25, box["y"] + 28 + 26 + 110
    page.mouse.move(x, y)
    page.mouse.wheel(0, -400)                          # zoom in on the Loss G plot
    zoomed = page.locator("[data-testid=stMain]").get_by_text("Zoomed to iterations").first
    zoomed.wait_for()
    span = zoomed.inner_text()
    seen = _table_iteration(page)
    page.wait_for_function("n => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stTable] td')]"
                           ".some(td => td.innerText.endsWith('/4000') && parseInt(td.innerText) > n)", arg=seen)
    assert page.locator("[data-testid=stMain]").get_by_text(span).count() == 1        # through a refresh
    before = _slider(page)
    page.mouse.click(x, y)
    page.wait_for_function(f"v => document.querySelector('{SLIDER}')?.getAttribute('aria-valuetext') !== v",
                           arg=before)
    settle(page, quiet=0.3)
    assert page.locator("[data-testid=stMain]").get_by_text(span).count() == 1        # through a click
    assert_no_errors(page)
    page.screenshot(path=str(SHOTS / "losses-live-zoomed.png"), full_page=True)
    page.locator("[data-testid=stMain]").get_by_role("button", name="Reset zoom").click()
    page.wait_for_function("() => ![...document.querySelectorAll('[data-testid=stMain] *')]"
                           ".some(e => e.childElementCount === 0 && e.innerText?.startsWith('Zoomed to'))")


# ---------------------------------------------------------------- a first run, from an empty runs folder

FIXTURE = REPO / "tests" / "fixtures" / "fer2013"
TRAIN_ROWS_JS = """() => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stDataFrame] table tr')]
  .slice(1).map(r => [...r.querySelectorAll('td')].map(c => c.innerText))"""
COLUMNS = ("run", "model", "emotion", "state", "iteration", "it/s", "ETA", "measured")
# Long enough never to end during the test, whatever the machine's speed: the test stops the runs.
ITERS = 2000


@pytest.fixture
def empty_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("empty-runs")
    with _serving(root, tmp_path_factory, "--data", str(FIXTURE)) as url:
        yield url, root


def wait_for(predicate, what: str, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while True:
        got = predicate()
        if got:
            return got
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.25)


def stop_training(run: Path, seconds: float = 120) -> None:
    """Stop the process training `run` as the Stop button does (once it holds the run, if it is still starting),
    and wait until it has let go: runs are started in sessions of their own and would outlive the test."""
    from emogan.runs import launch

    deadline = time.monotonic() + seconds
    while not launch.holder(run) and time.monotonic() < deadline:
        time.sleep(0.5)
    launch.stop(run)
    while launch.holder(run) and time.monotonic() < deadline:
        time.sleep(0.5)


def train_rows(pg) -> dict[str, dict[str, str]]:
    """The Train page's runs table, by run (its cells from the grid's accessible table)."""
    return {cells[0]: dict(zip(COLUMNS, cells)) for cells in pg.evaluate(TRAIN_ROWS_JS) if cells}


def done_of(row: dict[str, str] | None) -> int:
    return int(row["iteration"].split("/")[0]) if row else -1


def losses_table_iteration(pg, run: str) -> int:
    """The iteration the losses page's runs table gives `run` (-1 while it is not there)."""
    rows = pg.eval_on_selector_all("[data-testid=stMain] [data-testid=stTable] tr",
                                   "rs => rs.map(r => [...r.querySelectorAll('th,td')].map(c => c.innerText))")
    for row in rows:
        if row and row[0] == run:
            return next((int(c.split("/")[0]) for c in row if c.endswith(f"/{ITERS}")), -1)
    return -1


def picker_offers(pg, run: str) -> bool:
    """Whether the sidebar's Runs picker lists `run` among its options (opened, read, closed)."""
    pg.locator("[data-testid=stSidebar]").get_by_role("combobox", name="Runs").click()
    try:
        return pg.get_by_role("option", name=run, exact=True).count() > 0
    finally:
        pg.keyboard.press("Escape")


def test_a_first_run_from_the_train_page_and_one_from_the_cli_appear_without_a_reload(empty_server, page):
    from emogan.runs import launch

    url, root = empty_server
    page.goto(f"{url}/train")
    page.get_by_text(f"No runs in {root} yet.").wait_for()
    main = page.locator("[data-testid=stMain]")
    for label, value in (("Iterations", ITERS), ("Batch", 8), ("Snapshot every", 5), ("Threads", 1)):
        main.get_by_label(label, exact=True).fill(str(value))
    main.get_by_role("button", name="Start").click()
    proc = None
    try:
        # From the click on, without a reload: the row, then the training run's progress as it goes.
        wait_for(lambda: "M1-all-s0" in train_rows(page), "the started run in the table")
        row = wait_for(lambda: (r := train_rows(page).get("M1-all-s0")) and r["state"] == "training"
                       and done_of(r) > 0 and r["it/s"] and r["ETA"] and r, "the run training, with its pace")
        # A run the CLI starts into the open folder (started now, so that its start-up overlaps what follows).
        proc = launch.launch(["train", "--model", "M1", "--data", str(FIXTURE), "--out", str(root), "--name",
                              "cli-run", "--iters", str(ITERS), "--batch", "8", "--snapshot-every", "5",
                              "--threads", "1", "--no-progress"], root.parent / "cli-run.log")
        wait_for(lambda: done_of(train_rows(page).get("M1-all-s0")) > done_of(row), "its iteration to move on")
        page.locator("[data-testid=stSidebar] [data-testid=stMultiSelectTagsContainer] [data-tag]",
                     has_text="M1-all-s0").wait_for()                               # picked in the sidebar
        assert_no_errors(page)
        page.screenshot(path=str(SHOTS / "train-first-run.png"), full_page=True)

        page.locator("[data-testid='stSidebarNav'] a", has_text="Runs and losses").click()
        page.wait_for_function(DRAWN_JS, arg=[CURVES, 1])
        canvas = f"{CURVES} .echarts-container canvas"
        drawn = page.eval_on_selector(canvas, "c => c.toDataURL()")
        seen = wait_for(lambda: losses_table_iteration(page, "M1-all-s0") + 1, "the run in the losses table") - 1
        wait_for(lambda: losses_table_iteration(page, "M1-all-s0") > seen, "the losses page's run to move on")
        wait_for(lambda: page.eval_on_selector(canvas, "c => c.toDataURL()") != drawn, "its curves to grow")
        assert_no_errors(page)

        wait_for(lambda: picker_offers(page, "cli-run"), "the CLI's run in the sidebar's picker", seconds=180)
        page.locator("[data-testid='stSidebarNav'] a", has_text="Train").click()
        wait_for(lambda: (train_rows(page).get("cli-run") or {}).get("state") == "training",
                 "the CLI's run training in the Train page's table")
        assert_no_errors(page)
    finally:
        stop_training(root / "M1-all-s0")
        if proc is not None:
            stop_training(root / "cli-run")
            proc.wait(timeout=60)
