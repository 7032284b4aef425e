"""The explorer in a real browser: `streamlit run` on a loopback port, Debian's chromium driven by Playwright.

Screenshots of every page go to artifacts/screenshots/ (kept by CI): they are what a user sees. Every test also
checks that the page asked nothing of any host but the app's own server (the app works offline)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from explorer.charts import CURVES, DRAWN_JS

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "artifacts" / "screenshots"
PAGES = {"losses": "", "side-by-side": "side-by-side", "timeline": "timeline", "latent": "latent",
         "mode-collapse": "mode-collapse"}
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


@pytest.fixture(scope="module")
def server(explorer_runs, tmp_path_factory):
    """`streamlit run explorer_app.py` on a free loopback port, stopped when the module's tests are done."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = dict(os.environ, EMOGAN_CACHE=str(tmp_path_factory.mktemp("e2e-cache")))
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "explorer_app.py"),
           "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--server.runOnSave", "false",
           # An empty classifier folder: the judge test below sees the "no weights" message whether or not
           # checkpoints/classifier holds shipped weights.
           "--", "--runs", str(explorer_runs), "--classifier", str(tmp_path_factory.mktemp("no-classifier"))]
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
