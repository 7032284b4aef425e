"""The timeline outside the app: picking snapshots, GIF frames per snapshot, evolution sheets, and the command."""

import io

import numpy as np
import pytest
from PIL import Image
from reliability_helpers import assert_one_line_error, run_cli

from emogan.errors import RunError
from emogan.runs.store import Run
from emogan.views.animation import frames, gif_bytes, pick_iterations, sheet, slide_iterations
from emogan.views.gallery import HEADER_PX


@pytest.fixture
def pair(explorer_runs):
    return [Run(explorer_runs / "M1-all-s0"), Run(explorer_runs / "M3-all-s0")]


def test_pick_iterations_bounds_and_thins_the_snapshots():
    every_50 = list(range(50, 5001, 50)) + [4110]
    assert pick_iterations([10, 20, 30, 40], 15, 40) == [20, 30, 40]
    assert pick_iterations([10, 20, 30, 40]) == [10, 20, 30, 40]
    picked = pick_iterations(every_50, 950, 4850, 50)
    assert len(picked) == 79 and picked[0] == 950 and picked[-1] == 4850 and 4110 not in picked
    assert 4110 in pick_iterations(every_50, 950, 4850)
    # A coarser schedule than --every: the nearest snapshots, each once.
    assert pick_iterations([0, 100, 200], 0, 200, 50) == [0, 100, 200]
    assert pick_iterations([10, 20], 25, 30) == []


def test_frames_show_each_run_at_its_snapshot_under_the_iteration(pair):
    ims = frames(pair, [10, 20, 40], n=4, pad=2)
    assert len(ims) == 3 and len({im.size for im in ims}) == 1 and ims[0].mode == "L"
    width, height = ims[0].size
    assert height == HEADER_PX + 2 * 50 - 2
    band = width - (4 * 50 - 2)
    arr = np.asarray(ims[1])
    y = HEADER_PX + 50                                       # second row: M3, face 0 at iteration 20
    np.testing.assert_array_equal(arr[y:y + 48, band:band + 48], pair[1].grid(20)[0])
    assert (arr[HEADER_PX:HEADER_PX + 48, 4:band - 4] < 128).any()       # a label beside the first row
    assert not np.array_equal(np.asarray(ims[0])[:HEADER_PX], arr[:HEADER_PX])   # each frame its own iteration


def test_the_gif_has_a_frame_per_snapshot_with_the_faces_intact(pair):
    ims = frames(pair, [10, 20, 30, 40], n=3)
    gif = Image.open(io.BytesIO(gif_bytes(ims, ms_per_frame=100)))
    assert gif.format == "GIF" and gif.n_frames == 4 and gif.size == ims[0].size
    gif.seek(2)
    np.testing.assert_array_equal(np.asarray(gif.convert("L")), np.asarray(ims[2]))


def test_sheet_stacks_each_runs_strip(pair):
    im = sheet(pair, [10, 40], n=2)
    assert im.size == (2 * 50 - 2, 2 * (HEADER_PX + HEADER_PX + 2 * 50 - 2))
    with pytest.raises(RunError):
        frames(pair, [], n=2)


def test_the_command_writes_a_gif_or_png_and_refuses_bad_input(explorer_runs, tmp_path, capsys):
    out = tmp_path / "evolution.gif"
    code, stdout, err = run_cli(["timeline", "M1-all-s0", "M2-all-s0", "M3-all-s0", "--root", explorer_runs,
                                 "--from", 20, "--to", 40, "--n", 4, "--out", out], capsys)
    assert code == 0, err
    with Image.open(out) as gif:
        assert gif.n_frames == 3 and gif.size[1] == HEADER_PX + 3 * 50 - 2
    assert "3 frames" in stdout
    code, _, err = run_cli(["timeline", "M1-all-s0", "--root", explorer_runs, "--from", 10, "--every", 20,
                            "--out", tmp_path / "strip.png"], capsys)
    assert code == 0, err
    with Image.open(tmp_path / "strip.png") as png:          # iterations 10 and 30, 4 faces each
        assert png.size == (2 * 50 - 2, HEADER_PX + HEADER_PX + 4 * 50 - 2)
    for args, needle in [(["--out", tmp_path / "x.mp4"], ".gif"), (["--from", 30, "--to", 20, "--out", out], "--from"),
                         (["--from", 50, "--out", out], "no snapshot"), (["--n", 0, "--out", out], "--n")]:
        before = out.read_bytes()
        code, _, err = run_cli(["timeline", "M1-all-s0", "--root", explorer_runs, *args], capsys)
        assert_one_line_error(code, err, needle)
        assert out.read_bytes() == before and not (tmp_path / "x.mp4").exists()


def test_the_timeline_page_offers_the_gif_and_the_strip(explorer_runs):
    from test_explorer_app import no_exception, open_app

    at = open_app(explorer_runs, "timeline")
    no_exception(at)
    strip_button = at.main.get("download_button")
    assert [b.proto.label for b in strip_button] == ["Download strip (PNG)"]
    at.main.button(key="tl_make_gif").click().run()
    no_exception(at)
    assert not at.main.error
    (want, gif, err) = at.session_state["tl_gif"]
    assert err == "" and len(want[0]) == 6
    with Image.open(io.BytesIO(gif)) as im:                 # one frame per snapshot of the range: 10, 20, 30, 40
        assert im.n_frames == 4
    assert [b.proto.label for b in at.main.get("download_button")] == ["Download GIF", "Download strip (PNG)"]


def test_slide_iterations_are_the_originals_where_the_run_spans_them():
    every_50 = list(range(50, 5001, 50))
    assert slide_iterations(every_50) == [950, 1900, 2950, 4100, 4700, 4850]     # 4110: the nearest snapshot
    assert slide_iterations([10, 20, 30]) == [10, 20, 30]
    assert slide_iterations(list(range(10, 101, 10))) == [10, 30, 50, 60, 80, 100]
