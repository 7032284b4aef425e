"""The explorer app through Streamlit's AppTest: every page on tiny real runs, the iteration control, the latent
controls, damaged and empty run folders, the emotion filter and the classifier toggle."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
PAGES = ("losses", "side-by-side", "timeline", "latent")


def _script(repo: str, root: str, start: str, extra: list) -> None:
    import sys
    if repo not in sys.path:
        sys.path.insert(0, repo)
    import explorer_app
    explorer_app.main(["--runs", root, *extra], start=start)


def open_app(root: Path, start: str, *extra: str) -> AppTest:
    at = AppTest.from_function(_script, args=(str(REPO), str(root), start, list(extra)), default_timeout=120)
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def images(at: AppTest) -> list[str]:
    return [url for img in at.main.image for url in img.value]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def charts(at: AppTest) -> list[dict]:
    """The ECharts options of the main area's charts, as the browser receives them."""
    return [json.loads(c.proto.json)["options"] for c in at.main.get("bidi_component")]


def marked(chart: dict) -> list[int]:
    """The iterations a chart marks as current, one per plot."""
    return [d["xAxis"] for s in chart["series"] if s["id"].startswith("current-iteration:")
            for d in s["markLine"]["data"]]


def dataset(chart: dict, name: str) -> dict:
    return next(d["source"] for d in chart["dataset"] if d["id"] == name)


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Caches are process-wide; every test starts cold so none sees another's runs.
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_the_six_runs(explorer_runs, page):
    at = open_app(explorer_runs, page)
    no_exception(at)
    assert not at.error and not at.warning
    assert at.sidebar.multiselect[0].value == [f"M{i}-all-s0" for i in range(1, 7)]
    assert at.sidebar.select_slider(key="iteration_slider").value == 40      # no 950 here: the last snapshot
    if page == "losses":
        assert len(charts(at)) == 1
        chart = charts(at)[0]
        assert [t["text"] for t in chart["title"]] == ["Loss G", "Loss D", "D(x)", "D(G(z))"]
        assert chart["legend"]["data"] == [f"M{i}" for i in range(1, 7)]
        assert [s["id"] for s in chart["series"][:2]] == ["loss_G:M1-all-s0:raw", "loss_G:M1-all-s0:smoothed"]
        assert dataset(chart, "M1-all-s0:grid")["iteration"] == list(range(1, 41))
        assert marked(chart) == [40] * 4                                                    # the current iteration
        ids = [s["id"] for s in chart["series"]]
        assert len(ids) == len(set(ids))                               # ECharts refuses to draw duplicate ids
        table = at.main.table[0].value
        assert list(table.index) == [f"M{i}-all-s0" for i in range(1, 7)] and table["state"].tolist() == ["done"] * 6
        assert all(len(v.split(".")[1]) == 3 for v in table["loss G (last)"])         # 3 decimals, as text
    else:
        assert len(images(at)) >= 6


@pytest.mark.parametrize("page", ["side-by-side", "timeline"])
def test_changing_the_iteration_changes_the_images(explorer_runs, page):
    at = open_app(explorer_runs, page)
    before = images(at)
    at.sidebar.select_slider(key="iteration_slider").set_value(20).run()
    no_exception(at)
    after = images(at)
    assert "Iteration 20" in texts(at.main.markdown)
    assert len(after) == len(before) and not set(after[:6]) & set(before[:6])
    at.sidebar.button(key="step_back").click().run()
    assert at.sidebar.select_slider(key="iteration_slider").value == 10
    assert images(at)[:6] != after[:6]
    at.sidebar.button(key="step_fwd").click().run()
    at.sidebar.button(key="step_fwd").click().run()
    assert at.sidebar.select_slider(key="iteration_slider").value == 30


def test_the_curves_mark_the_current_iteration(explorer_runs):
    at = open_app(explorer_runs, "losses")
    at.sidebar.select_slider(key="iteration_slider").set_value(20).run()
    assert [marked(chart) for chart in charts(at)] == [[20] * 4]


def test_losses_controls_smooth_and_log(explorer_runs):
    at = open_app(explorer_runs, "losses")
    smoothed = dataset(charts(at)[0], "M1-all-s0:grid")
    at.main.slider(key="smoothing").set_value(0.0).run()
    flat = dataset(charts(at)[0], "M1-all-s0:grid")
    assert smoothed["smoothed loss_G"] != flat["smoothed loss_G"] and flat["smoothed loss_G"] == flat["raw loss_G"]
    at.main.toggle(key="log_y").set_value(True).run()
    assert {y["type"] for y in charts(at)[0]["yAxis"]} == {"log"}
    at.main.toggle(key="show_raw").set_value(False).run()
    assert [s["id"] for s in charts(at)[0]["series"] if s["id"].startswith("loss_G:")] == \
        [f"loss_G:M{i}-all-s0:smoothed" for i in range(1, 7)]


def test_latent_controls_change_the_strip(explorer_runs):
    at = open_app(explorer_runs, "latent")
    no_exception(at)
    strip0 = images(at)[:6]
    assert len(set(strip0)) == 6                           # one strip per model
    at.main.number_input(key="B_value").set_value(5).run()
    strip1 = images(at)[:6]
    assert not set(strip1) & set(strip0)
    at.main.radio(key="lat_method").set_value("lerp").run()
    assert images(at)[:6] != strip1
    t_image = images(at)[6]
    at.main.slider(key="lat_t").set_value(0.9).run()
    assert images(at)[6] != t_image
    moved = images(at)[7]
    at.main.slider(key="amount_pc_0").set_value(2.0).run()
    assert images(at)[7] != moved
    at.main.radio(key="A_kind").set_value("fixed sample").run()
    no_exception(at)
    at.main.radio(key="dir_source").set_value("single coordinates").run()
    no_exception(at)
    assert at.main.multiselect(key="dir_coords").value == [0, 1, 2]


def test_latent_walk_snaps_to_the_nearest_weights(runs):
    for run in runs.iterdir():
        index = json.loads((run / "index.json").read_text())
        for snap in index["snapshots"]:
            if snap["iteration"] != 10:
                snap["weights"] = None
        (run / "index.json").write_text(json.dumps(index))
    at = open_app(runs, "latent")
    no_exception(at)
    assert "The latent walk uses iteration 10, the nearest with weights" in texts(at.main.info)
    assert len(images(at)) >= 6


def test_damaged_runs_give_one_line_and_the_rest_works(runs):
    broken = runs / "M1-all-s0"
    (broken / "config.json").write_text("{ not json")
    (runs / "M2-all-s0" / "samples" / "000040.png").write_bytes(b"\x89PNG broken")
    with open(runs / "M3-all-s0" / "losses.csv", "a") as f:
        f.write("41,nan,nan,0.5,0.5,1.0\n")
    (runs / "M4-all-s0" / "losses.csv").unlink()
    for page in PAGES:
        at = open_app(runs, page)
        no_exception(at)
        warnings = texts(at.main.warning)
        assert "Skipped damaged run M1-all-s0:" in warnings and "config.json: not valid JSON" in warnings
        assert "M3-all-s0 diverged: losses are NaN/inf from iteration 41" in warnings
        assert "M4-all-s0:" in warnings and "losses.csv: missing" in warnings
        assert all("\n" not in w.value for w in at.main.warning)
        if page == "side-by-side":
            assert "damaged sample grid" in texts(at.main.error)
            assert len(images(at)) == 4                    # M3..M6 (M2's cell shows the error)
        if page == "losses":
            assert len(charts(at)) == 1
    assert [e.label for e in at.sidebar.expander if "damaged" in e.label] == ["1 damaged run folder"]


@pytest.mark.parametrize("page", PAGES)
def test_empty_and_missing_runs_folders_say_what_to_do(tmp_path, page):
    empty = tmp_path / "empty"
    empty.mkdir()
    at = open_app(empty, page)
    no_exception(at)
    assert f"No usable runs in {empty}: train some with `python -m emogan train" in texts(at.main.info)
    at = open_app(tmp_path / "missing", page)
    no_exception(at)
    info = texts(at.main.info)
    assert "runs folder not found" in info and "--runs DIR" in info


def test_emotion_filter_switches_groups(runs):
    for model in ("M1", "M3"):
        dst = runs / f"{model}-happy-s0"
        shutil.copytree(runs / f"{model}-all-s0", dst)
        cfg = json.loads((dst / "config.json").read_text())
        cfg["emotion"] = "happy"
        (dst / "config.json").write_text(json.dumps(cfg))
    at = open_app(runs, "side-by-side")
    box = at.sidebar.selectbox(key="group")
    assert box.value.startswith("all · ") and len(box.options) == 2
    happy = next(o for o in box.options if o.startswith("happy"))
    box.set_value(happy).run()
    no_exception(at)
    assert at.sidebar.multiselect[0].value == ["M1-happy-s0", "M3-happy-s0"]
    assert len(images(at)) == 2


def test_judge_without_weights_says_how_to_train_them(explorer_runs, tmp_path):
    at = open_app(explorer_runs, "side-by-side", "--classifier", str(tmp_path / "none"))
    before = images(at)
    at.sidebar.toggle(key="judge").set_value(True).run()
    no_exception(at)
    assert (f"classifier weights not found at {tmp_path / 'none'}; train them with python -m emogan classifier train"
            in texts(at.main.info))
    assert images(at) == before


def test_judge_with_weights_labels_faces_and_draws_the_emotion_mix(explorer_runs, tmp_path):
    import torch

    from emogan.classifier import ClassifierConfig, EmotionNet, save_classifier
    torch.manual_seed(0)
    save_classifier(tmp_path / "clf", EmotionNet(ClassifierConfig(widths=(8, 8, 8, 8), depths=(1, 1, 1, 1))).eval(),
                    {"note": "untrained, for tests"})
    at = open_app(explorer_runs, "side-by-side", "--classifier", str(tmp_path / "clf"))
    before = images(at)
    at.sidebar.toggle(key="judge").set_value(True).run()
    no_exception(at)
    assert not at.main.info
    after = images(at)
    assert len(after) == len(before) and not set(after) & set(before)     # labels are drawn under the faces
    mix = [c for c in charts(at) if "FER2013" in c["title"]["text"]]
    assert len(mix) == 1
    assert [s["name"] for s in mix[0]["series"]] == ["generated", "FER2013 train"]
    assert mix[0]["xAxis"]["data"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def test_play_toggles_and_the_range_limits_the_control(explorer_runs):
    at = open_app(explorer_runs, "timeline")
    at.sidebar.button(key="play").click().run()
    no_exception(at)
    assert at.sidebar.button(key="play").label == "Pause"
    at.sidebar.button(key="play").click().run()
    assert at.sidebar.button(key="play").label == "Play"
    rng = next(w for w in at.sidebar.select_slider if w.label == "Snapshots between")
    assert rng.value == (10, 40)
    rng.set_range(10, 30).run()
    assert at.sidebar.select_slider(key="iteration_slider").options == ["10", "20", "30"]
    assert at.sidebar.select_slider(key="iteration_slider").value == 30


def test_change_view_and_evolution_strip(explorer_runs):
    at = open_app(explorer_runs, "timeline")
    n = len(images(at))
    at.main.toggle(key="tl_change").set_value(True).run()
    no_exception(at)
    assert len(images(at)) == n + 6 + 1                     # a heat map per run, and one under the strip
    assert len(charts(at)) == 1 and "Change since the previous snapshot" in charts(at)[0]["title"]["text"]
    strip = images(at)[-2]
    at.main.multiselect(key="evo_its::M1-all-s0").set_value([10, 40]).run()
    assert images(at)[-2] != strip
    assert "iterations 10, 40" in " ".join(c for img in at.main.image for c in img.captions)


def test_chart_clicks_set_the_iteration():
    from explorer.session import iteration_from_click
    assert iteration_from_click({"chart_event": 19.6}) == 20
    assert iteration_from_click({"chart_event": None}) is None
    assert iteration_from_click({"chart_event": float("nan")}) is None
    assert iteration_from_click({"chart_event": True}) is None
    assert iteration_from_click({}) is None and iteration_from_click(None) is None


def test_arguments_after_the_double_dash():
    import explorer_app
    cfg = explorer_app.parse_args(["--", "--runs", "/x/runs", "--classifier", "/x/clf", "--other"])
    assert cfg.runs_root == Path("/x/runs") and cfg.classifier_dir == Path("/x/clf")
    assert explorer_app.parse_args([]).runs_root == REPO / "checkpoints"


def test_every_page_is_declared_once_and_has_a_page_function():
    import explorer_app
    assert len({url for _, _, url in explorer_app.PAGES}) == len(explorer_app.PAGES)
    for module, *_ in explorer_app.PAGES:
        assert callable(importlib.import_module(f"explorer.{module}").page), module


def test_the_landing_page_loads_no_other_page_and_no_metrics_library(explorer_runs):
    """Cold start: a page's module is imported when the page is first drawn, so `streamlit run` draws the landing
    page without the other pages' modules or the metrics' libraries (over a second of CPU between them)."""
    import explorer_app
    code = ("import json, sys\n"
            "from streamlit.testing.v1 import AppTest\n"
            # The background warm-up loads the other pages after this one is drawn; what is checked here is
            # what the landing page needed to be drawn, so the warm-up counts as already done.
            f"sys.path.insert(0, {str(REPO)!r})\n"
            "from explorer import warmup\n"
            "warmup._started = True\n"
            f"sys.argv = ['explorer_app.py', '--runs', {str(explorer_runs)!r}]\n"
            f"at = AppTest.from_file({str(REPO / 'explorer_app.py')!r}, default_timeout=120).run()\n"
            "assert not at.exception, [e.value for e in at.exception]\n"
            "print(json.dumps({'charts': len(at.main.get('bidi_component')), 'modules': sorted(sys.modules)}))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["charts"] == 1                               # the landing page was drawn, by the script as run
    others = {f"explorer.{module}" for module, *_ in explorer_app.PAGES if module != "losses_page"}
    assert not set(got["modules"]) & (others | {"sklearn", "scipy", "torchmetrics", "torch"})


def test_a_conditional_model_is_asked_for_emotions_on_the_latent_page(explorer_runs, tmp_path):
    from tiny import tiny_run

    shutil.copytree(explorer_runs / "M1-all-s0", tmp_path / "M1-all-s0")
    tiny_run(tmp_path, "M8-all-s0", "M8", iters=40, snapshot_every=10)
    at = open_app(tmp_path, "latent")
    at.sidebar.multiselect[0].set_value(["M1-all-s0", "M8-all-s0"]).run()     # the default is M1..M6
    no_exception(at)
    assert at.main.selectbox(key="lat_emotion").value == "happy"
    before = images(at)
    strip = {"M1": before[0], "M8": before[1]}                 # the interpolation strips, in run order
    at.main.selectbox(key="lat_emotion").set_value("surprise").run()
    no_exception(at)
    after = images(at)
    assert after[0] == strip["M1"] and after[1] != strip["M8"]  # only the conditional model redraws
    # The emotions section: M8's face in all seven emotions, then the morph; changing the morph's end redraws it.
    every, morph = after[-2], after[-1]
    at.main.selectbox(key="lat_morph_to").set_value("angry").run()
    no_exception(at)
    assert images(at)[-2] == every and images(at)[-1] != morph


def test_without_a_conditional_model_the_emotions_section_says_what_it_is_for(explorer_runs):
    at = open_app(explorer_runs, "latent")
    no_exception(at)
    assert not at.main.get("selectbox") or all(s.key != "lat_emotion" for s in at.main.selectbox)
    assert "Conditional models (M8) draw the emotion they are asked for" in texts(at.main.caption)


def test_judging_a_conditional_model_counts_the_faces_drawn_as_asked(explorer_runs, tmp_path):
    import torch
    from tiny import tiny_run

    from emogan.classifier import ClassifierConfig, EmotionNet, save_classifier
    torch.manual_seed(0)
    save_classifier(tmp_path / "clf", EmotionNet(ClassifierConfig(widths=(8, 8, 8, 8), depths=(1, 1, 1, 1))).eval(),
                    {})
    tiny_run(tmp_path / "runs", "M8-all-s0", "M8", iters=20, snapshot_every=10)
    at = open_app(tmp_path / "runs", "side-by-side", "--classifier", str(tmp_path / "clf"))
    at.sidebar.toggle(key="judge").set_value(True).run()
    no_exception(at)
    note = [c.value for c in at.main.caption if "judged as asked" in c.value]
    assert len(note) == 1 and "asked for the emotions in turn (ang, dis, fea" in note[0], texts(at.main.caption)
    hits, n = map(int, note[0].rsplit(" ", 1)[1].split("/"))
    # The same count, worked out here: the classifier's top emotion of each of the 16 grid faces at iteration 20,
    # against the emotion face i was asked for (i mod 7).
    from emogan.classifier import load_classifier
    from emogan.runs.store import Run
    grid = Run(tmp_path / "runs" / "M8-all-s0").grid(20)[:16]
    top = load_classifier(tmp_path / "clf").predict(grid).argmax(1)
    assert n == 16 and hits == int((top == np.arange(16) % 7).sum())
    assert "it was asked for emotions in FER2013's training mix" in texts(at.main.caption)
    assert len([c for c in charts(at) if "FER2013" in c["title"]["text"]]) == 1


def test_the_seed_filter_selects_other_seeds_and_draws_them_as_bands(explorer_runs, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(explorer_runs, root)
    for seed in (1, 2):               # M2 at two more seeds: the shape of the shipped demo's extra seeds
        dst = shutil.copytree(root / "M2-all-s0", root / f"M2-all-s{seed}")
        cfg = json.loads((dst / "config.json").read_text())
        (dst / "config.json").write_text(json.dumps(cfg | {"seed": seed, "name": dst.name}))
    at = open_app(root, "losses")
    no_exception(at)
    runs, seeds = (next(m for m in at.sidebar.multiselect if m.label == label) for label in ("Runs", "Seeds"))
    assert runs.value == [f"M{i}-all-s0" for i in range(1, 7)] and seeds.value == [0]
    seeds.set_value([0, 1, 2]).run()
    assert at.sidebar.multiselect(key=runs.key).value[:3] == ["M1-all-s0", "M2-all-s0", "M2-all-s1"]
    at.sidebar.toggle(key="seed_bands").set_value(True).run()
    no_exception(at)
    chart = charts(at)[0]
    assert "M2 (mean of 3)" in chart["legend"]["data"] and "M1 (mean of 1)" in chart["legend"]["data"]
    mean = next(s for s in chart["series"] if s["id"] == "loss_G:band:M2:mean")
    band = next(s for s in chart["series"] if s["id"] == "loss_G:band:M2:range")
    assert mean["data"] and all(h == 0 for _, h in band["data"])      # three copies of one run: no spread


def test_runs_of_one_model_id_trained_with_two_recipes_are_two_bands(explorer_runs, tmp_path):
    """A registry id can move on to a new recipe; its old runs must not be averaged with the new ones."""
    from emogan.models.config import GANConfig
    root = tmp_path / "runs"
    shutil.copytree(explorer_runs, root)
    for seed, lr_g in ((1, None), (2, 1e-3)):
        dst = shutil.copytree(root / "M2-all-s0", root / f"M2-all-s{seed}")
        cfg = json.loads((dst / "config.json").read_text())
        if lr_g is not None:
            cfg["model_config"]["lr_g"] = lr_g
        (dst / "config.json").write_text(json.dumps(cfg | {"seed": seed, "name": dst.name}))
    recipe = {s: GANConfig.from_dict(json.loads((root / f"M2-all-s{s}" / "config.json").read_text())["model_config"])
              .recipe_id() for s in (0, 2)}
    assert recipe[0] != recipe[2]
    at = open_app(root, "losses")
    seeds = next(m for m in at.sidebar.multiselect if m.label == "Seeds")
    seeds.set_value([0, 1, 2]).run()
    at.sidebar.toggle(key="seed_bands").set_value(True).run()
    no_exception(at)
    legend = charts(at)[0]["legend"]["data"]
    assert f"M2 · {recipe[0]} (mean of 2)" in legend and f"M2 · {recipe[2]} (mean of 1)" in legend, legend
    assert "M1 (mean of 1)" in legend


def test_side_by_side_asks_a_conditional_model_for_one_emotion(tmp_path):
    from tiny import tiny_run
    root = tmp_path / "runs"
    tiny_run(root, "M8-all-s0", "M8", iters=20, snapshot_every=10)
    at = open_app(root, "side-by-side")
    no_exception(at)
    before = images(at)
    at.main.selectbox(key="sbs_asked").set_value("happy").run()
    no_exception(at)
    assert "iteration 20, asked for happy" in texts(at.main.markdown)
    assert images(at) and images(at) != before              # generated for the emotion, not the stored grid


def test_the_losses_page_draws_a_run_before_its_first_snapshot(explorer_runs, tmp_path):
    run = shutil.copytree(explorer_runs / "M1-all-s0", tmp_path / "runs" / "M1-all-s0")
    index = json.loads((run / "index.json").read_text())
    index.update(snapshots=[], status={"state": "running", "iteration": 0, "message": ""})
    (run / "index.json").write_text(json.dumps(index))             # its loss log runs ahead of any snapshot
    at = open_app(tmp_path / "runs", "losses")
    no_exception(at)
    assert len(charts(at)) == 1 and "no snapshots yet" not in texts(at.main.info)
    assert at.main.table[0].value.index.tolist() == ["M1-all-s0"]
    at = open_app(tmp_path / "runs", "side-by-side")           # a page of snapshots still says there are none
    assert "The selected runs have no snapshots yet" in texts(at.main.info)


def _tracked(root: Path, name: str, **kw) -> None:
    """A run of one's own loop (emogan.track) on the fixture faces, beside the tiny registry runs: snapshots every
    10 of 40 iterations like theirs, faces from a stand-in generator, no weights."""
    from emogan import track
    ramp = np.linspace(-1, 1, 48 * 48, dtype=np.float32).reshape(1, 48, 48)
    with track.init(root, name, data=REPO / "tests" / "fixtures" / "fer2013", n_measure=100, measure_every=20,
                    **kw) as run:
        for i in range(1, 41):
            run.log(i, loss_D=0.7 - i / 400, loss_G=0.8 + i / 400, D_x=0.5, D_G_z=0.4)
            if i % 10 == 0:
                run.snapshot(i, lambda z, i=i: np.tanh(z[:, :1, None] * i / 40 + ramp))


def test_runs_of_ones_own_loop_show_beside_registry_runs_and_lose_only_the_latent_pages(explorer_runs, tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    shutil.copytree(explorer_runs / "M1-all-s0", root / "M1-all-s0")
    _tracked(root, "mine")
    _tracked(root, "mine-z64", z_dim=64)
    names = ["M1-all-s0", "mine", "mine-z64"]
    at = open_app(root, "losses")
    no_exception(at)
    picker = at.sidebar.multiselect[0]
    assert picker.options == names and picker.value == ["M1-all-s0"]        # one group: the same faces
    picker.set_value(names).run()
    no_exception(at)
    table = at.main.table[0].value
    assert table.loc["mine", "framework"] == "pytorch" and table.loc["M1-all-s0", "framework"] == "emogan"
    assert table.loc["mine", "state"] == "done" and table.loc["mine", "iteration"] == "40"
    assert {s["id"].split(":")[1] for s in charts(at)[0]["series"] if s["id"].startswith("loss_G:")} == set(names)

    at = open_app(root, "side-by-side")
    at.sidebar.multiselect[0].set_value(names).run()
    no_exception(at)
    assert len(images(at)) == 3
    assert "Faces not paired: mine-z64 drew latents of its own" in texts(at.main.caption)
    assert "its own latents: faces not paired" in texts(at.main.markdown)

    at = open_app(root, "timeline")
    at.sidebar.multiselect[0].set_value(names).run()
    no_exception(at)
    assert not at.error

    at = open_app(root, "latent")
    at.sidebar.multiselect[0].set_value(names).run()
    no_exception(at)
    lines = texts(at.main.caption)
    assert "mine: no generator weights saved (a pytorch run that stored its faces only)" in lines
    assert "mine-z64: no generator weights saved" in lines
    assert len(images(at)) >= 1 and not at.error          # M1 is still walked
