"""The Real-or-fake page in a real browser: `streamlit run` on loopback, Debian's chromium through Playwright. A whole
round is clicked through; the score shows, and every answer is a whole line of the runs folder's answers file."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from test_explorer_e2e import CHROMIUM, SHOTS, _outside, _serving, assert_no_errors, playwright_api, settle
from tiny import FIXTURE

from emogan.runs.answers import ANSWERS_FILE

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no browser at {CHROMIUM} (.ci/run installs Debian's chromium)"),
]
MAIN = "[data-testid='stMain']"


@pytest.fixture(scope="module")
def answer_root(explorer_runs, tmp_path_factory):
    root = tmp_path_factory.mktemp("rof") / "runs"
    shutil.copytree(explorer_runs, root)
    return root


@pytest.fixture(scope="module")
def server(answer_root, tmp_path_factory):
    with _serving(answer_root, tmp_path_factory, "--data", str(FIXTURE)) as url:
        yield url


@pytest.fixture
def page():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1400, "height": 1400})
        outside: list[str] = []
        context.on("request", lambda request: outside.append(request.url) if _outside(request.url) else None)
        pg = context.new_page()
        pg.set_default_timeout(90_000)
        yield pg
        browser.close()
        assert not outside, f"the app made requests beyond its own server: {sorted(set(outside))[:10]}"


def test_a_round_is_clicked_through_and_the_score_shows(server, answer_root, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{server}/real-or-fake")
    settle(page)
    assert_no_errors(page)
    page.get_by_role("button", name="Start a round of 20 faces").click()
    main = page.locator(MAIN)
    for k in range(20):
        heading = main.locator("h4", has_text=f"Face {k + 1} of ")
        heading.wait_for()
        n = int(heading.inner_text().rsplit(" ", 1)[1])
        img = main.locator("img")
        assert img.count() == 1
        # What the browser holds about the face says nothing about where it came from.
        described = " ".join(img.first.evaluate("e => [e.src, e.alt, e.title]"))
        assert not [h for h in ("M1", "M2", "M3", "M4", "M5", "M6", "grid", "PublicTest", "jpg") if h in described]
        if k == 0:
            page.screenshot(path=str(SHOTS / "real-or-fake-face.png"), full_page=True)
        main.get_by_role("button", name="Real" if k % 2 else "Fake", exact=True).click()
        if k + 1 == n:
            break
    score = main.locator("h3", has_text="Score: ")
    score.wait_for()
    settle(page)
    assert_no_errors(page)
    assert main.get_by_text("Pooled answers").count() == 1
    assert main.get_by_role("button", name="New round").count() == 1
    page.screenshot(path=str(SHOTS / "real-or-fake-score.png"), full_page=True)
    lines = [json.loads(x) for x in (answer_root / ANSWERS_FILE).read_text().splitlines()]
    assert len(lines) == n and [x["answer"] for x in lines] == ["fake", "real"] * (n // 2) + ["fake"] * (n % 2)
    right = sum(x["answer"] == x["truth"] for x in lines)
    assert re.match(rf"Score: {right} of {n} right \(\d+%\)", score.inner_text()), score.inner_text()
