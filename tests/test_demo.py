"""The shipped demo in checkpoints/: what a fresh clone promises (models trained on the full FER2013 training set for
5000 iterations as the manifest says, a snapshot every 50 iterations, generator weights at the original project's
iterations, metrics, 110 MiB at most with the classifier), the per-emotion runs measured against their own
emotion's faces, and that the explorer opens on it.

The demo was trained on the CPU (the sweeps in scripts/sweeps/); the shipped runs are the manifest's. The checks
themselves always run once, on a small export made here, so they are known to catch what they look for."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tiny import fixture_faces, tiny

from emogan.cli import main
from emogan.metrics.records import read_metrics
from emogan.models import ORIGINAL_SIX, REGISTRY, GANConfig, get_config
from emogan.original import ORIGINAL_ITERATIONS
from emogan.runs.store import Run
from emogan.sampling import generate
from emogan.training.loop import train

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "checkpoints"
BUDGET_MIB = 110              # checkpoints/ in all: the runs and the classifier
TRAINING_FACES = 28709        # FER2013's training split: the demo runs learn from all of it
# The extra seeds shipped light (loss log, metrics, grids at the original's iterations and the end, weights at the
# end): M7 and the best of M1..M6 by FER-FID at 5000 (M2).
EXTRA_SEEDS = {"M7": [1, 2], "M2": [1, 2]}
# The original's per-emotion GANs: M7 and M3 of the original's ladder, on FER2013's faces of one emotion.
PER_EMOTION = {"M7": ["disgust", "fear", "happy"], "M3": ["disgust", "fear", "happy"]}
# The per-emotion M7 runs were trained with M7's recipe before the fourth round of pilots (G of M3's width, two D
# stages, G's rate 1e-4); their weights carry that config, so they load as they were trained.
EARLIER_M7 = get_config("M7").replace(g_base=64, g_channels=(128, 64, 32), d_channels=(64, 128), lr_g=1e-4)
EMOTION_FACES = {"happy": (7215, 895), "disgust": (436, 56), "fear": (4097, 496)}    # (train, validation)
# Registered models whose demo runs are still to be trained: every other registry model ships a run at seed 0.
UNSHIPPED = ("M9", "M10")
SHIPPED_MODELS = [m for m in REGISTRY if m not in UNSHIPPED]

shipped = pytest.mark.skipif(not (DEMO / "manifest.json").is_file(),
                             reason="no shipped demo in checkpoints/ yet")


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def check_run(entry: dict, run: Run) -> None:
    """One exported run is complete as its manifest entry says."""
    iters = entry["iterations"]
    assert run.model == entry["model"] and run.status()["state"] == "done" and run.status()["iteration"] == iters
    # The full loss log: one row per iteration, none missing or repeated.
    assert run.losses()["iteration"].tolist() == list(range(1, iters + 1)), entry["name"]
    light = run.config.get("exported", {}).get("grids_at")
    if light is not None:          # a light extra seed: grids at the original's iterations and the end
        assert run.snapshot_iterations() == light == sorted({*ORIGINAL_ITERATIONS, iters}), entry["name"]
        assert run.weight_iterations() == [iters] and "grids of" in entry["thinned"], entry["name"]
        return
    if entry.get("thinned", "").endswith(f"generator weights at {iters}"):     # a per-emotion run: weights at the end
        assert run.weight_iterations() == [iters], entry["name"]
        assert run.snapshot_iterations() == sorted(set(range(50, iters + 1, 50)) | set(ORIGINAL_ITERATIONS)), \
            entry["name"]
        return
    # A snapshot every `snapshot_every` (at most 50) iterations, and where the original project saved faces
    # (`train` adds those, 4110 among them), and at the end; generator weights at the original ones and the end.
    every = run.config["snapshot_every"]
    originals = {it for it in ORIGINAL_ITERATIONS if it <= iters}
    assert every <= 50, entry["name"]
    assert run.snapshot_iterations() == sorted(set(range(every, iters + 1, every)) | originals | {iters}), entry["name"]
    # The original's six keep weights at its iterations; M7 and M8, whose generators are three times as large,
    # at the iterations the manifest names (thinned to fit the budget), the end among them.
    said = set(run.config["exported"]["weights_at"])
    assert iters in said and said == set(run.weight_iterations()), (entry["name"], run.weight_iterations())
    if "thinned" in entry:
        assert entry["thinned"].endswith("generator weights at " + ", ".join(map(str, sorted(said)))), entry["name"]
    if run.model in ORIGINAL_SIX:
        assert originals | {iters} <= said, (entry["name"], run.weight_iterations())
    faces = generate(run.load_generator(iters), run.fixed_latents()[:8])
    assert faces.shape == (8, 48, 48) and faces.dtype == np.uint8 and faces.std() > 0     # not one flat colour
    # Provenance: the exact command (the project's own CLI), seed, device and wall time.
    assert entry["command"][:4] == ["python", "-m", "emogan", "train"], entry["command"]
    assert entry["seed"] is not None and entry["device"] and entry["seconds"] > 0


def check_size(root: Path, budget_mib: float) -> None:
    """The manifest says each run's size as it is on disk, and the runs with the classifier fit the budget."""
    manifest = _manifest(root)
    on_disk = {e["name"]: sum(p.stat().st_size for p in (root / e["name"]).rglob("*") if p.is_file())
               for e in manifest["runs"]}
    assert {e["name"]: e["bytes"] for e in manifest["runs"]} == on_disk
    classifier = sum(p.stat().st_size for p in (root / "classifier").rglob("*") if p.is_file())
    assert manifest["total_bytes"] == sum(on_disk.values())
    assert manifest["total_bytes"] + classifier <= budget_mib * 2**20
    for e in manifest["runs"]:
        assert e["export"]["export_command"][:4] == ["python", "-m", "emogan", "export"] and e["export"]["commit"]


# ---------------------------------------------------------------- the checks, on a small export made here

@pytest.fixture(scope="module")
def small_export(tmp_path_factory) -> Path:
    """A tiny model trained past iteration 950 with the CLI's snapshot schedule, exported as the demo is."""
    root = tmp_path_factory.mktemp("demo-check")
    train(fixture_faces(), root / "runs" / "M3-all-s0", model=tiny("M3"), iters=1000, batch=8, snapshot_every=50,
          n_fixed=16, device="cpu", command=["python", "-m", "emogan", "train", "--model", "M3"])
    assert main(["export", "M3-all-s0", "--root", str(root / "runs"), "--out", str(root / "demo"),
                 "--max-mb", "60"]) == 0
    return root / "demo"


def test_the_checks_pass_on_a_small_export(small_export):
    check_size(small_export, BUDGET_MIB)
    entry = _manifest(small_export)["runs"][0]
    run = Run(small_export / entry["name"])
    assert 950 in run.weight_iterations() and 1000 in run.weight_iterations() and 900 not in run.weight_iterations()
    check_run(entry, run)


def test_the_checks_catch_missing_weights_a_missing_loss_row_and_a_wrong_size(small_export, tmp_path):
    demo = shutil.copytree(small_export, tmp_path / "demo")
    entry = _manifest(demo)["runs"][0]
    index_path = demo / entry["name"] / "index.json"
    index = json.loads(index_path.read_text())
    for snap in index["snapshots"]:
        if snap["iteration"] == 950:
            snap["weights"] = None
    index_path.write_text(json.dumps(index))
    with pytest.raises(AssertionError):
        check_run(entry, Run(demo / entry["name"]))
    losses = demo / entry["name"] / "losses.csv"
    lines = losses.read_text().splitlines(keepends=True)
    losses.write_text("".join(lines[:500] + lines[501:]))
    with pytest.raises(AssertionError):
        check_size(demo, BUDGET_MIB)          # the file shrank: the manifest's size is no longer true
    shutil.copyfile(small_export / entry["name"] / "index.json", index_path)
    with pytest.raises(AssertionError):
        check_run(entry, Run(demo / entry["name"]))     # iteration 500's row is gone
    with pytest.raises(AssertionError):
        check_size(small_export, 0.1)


# ---------------------------------------------------------------- the shipped demo

@shipped
def test_the_shipped_runs_are_registry_models_trained_as_the_campaign_says():
    entries = _manifest(DEMO)["runs"]
    assert entries
    models = [e["model"] for e in entries if e["seed"] == 0 and e["emotion"] == "all"]
    assert sorted(models) == sorted(SHIPPED_MODELS), models  # one run of each model at seed 0, M1..M8
    extra, emotions = {}, {}
    for e in entries:
        if e["seed"] != 0:
            extra.setdefault(e["model"], []).append(e["seed"])
        if e["emotion"] != "all":
            emotions.setdefault(e["model"], []).append(e["emotion"])
    assert {m: sorted(s) for m, s in extra.items()} == EXTRA_SEEDS
    assert {m: sorted(s) for m, s in emotions.items()} == PER_EMOTION
    for e in (e for e in entries if e["emotion"] == "all"):
        run = Run(DEMO / e["name"])
        c = run.config
        assert (c["emotion"], c["batch"], c["iters"]) == ("all", 64, 5000), e["name"]
        # the registry's model: the shipped M7 and M8 are the recipes the pilots chose
        assert GANConfig.from_dict(c["model_config"]) == get_config(e["model"]), e["name"]
        assert c["data"]["n_images"] == TRAINING_FACES and c["data"]["split"] == "train", e["name"]
        assert e["iterations"] == 5000 and e["commit"] and e["precision"] in ("fp32", "bf16-autocast"), e["name"]


@shipped
def test_the_per_emotion_runs_learn_from_and_are_measured_against_their_own_emotion():
    from emogan.metrics.records import read_config
    from emogan.metrics.verdict import episodes

    for e in (e for e in _manifest(DEMO)["runs"] if e["emotion"] != "all"):
        run = Run(DEMO / e["name"])
        train_n, val_n = EMOTION_FACES[e["emotion"]]
        c = run.config
        assert (c["emotion"], c["batch"], c["iters"], c["seed"]) == (e["emotion"], 64, 5000, 0), e["name"]
        recipe = EARLIER_M7 if e["model"] == "M7" else get_config(e["model"])
        assert GANConfig.from_dict(c["model_config"]).replace(summary="", expect="") == \
            recipe.replace(summary="", expect=""), e["name"]
        assert c["data"]["n_images"] == train_n and c["data"]["split"] == "train", e["name"]
        config = read_config(run.path)
        assert config["reference"]["emotion"] == e["emotion"] and config["reference"]["split"] == "validation"
        assert config["reference"]["n_images"] == val_n and config["train"]["n_images"] == train_n, e["name"]
        assert f"the {val_n} validation faces of emotion '{e['emotion']}'" in config["reference_choice"]
        assert ("biased far upward" in config["reference_choice"]) == (val_n < 500), e["name"]
        b = config["baselines"]
        assert b["fer_fid_real"] > 0 and b["coverage_real"] > 0.9 and b["memorised_rate_real"] is not None
        metrics = read_metrics(run.path)
        # Memorisation is measured at every measured snapshot, for the disgust runs too.
        assert metrics["memorised_rate"].notna().all() and len(metrics) == 100, e["name"]
        memorised = metrics["memorised_rate"] > b["memorised_rate_real"] + 0.10
        flagged = {it for ep in episodes(metrics, b) if ep.kind == "memorisation" for it in range(ep.first, ep.last + 1)}
        assert set(metrics.loc[memorised & (metrics["coverage"] >= 0.2), "iteration"]) <= flagged, e["name"]


@shipped
def test_the_explorer_s_emotion_filter_shows_the_per_emotion_runs():
    from test_explorer_app import open_app

    at = open_app(DEMO, "losses")
    group = next(s for s in at.sidebar.selectbox if s.label == "Emotion · dataset")
    labels = [o for o in group.options if o.startswith("disgust")]
    assert labels and any(o.startswith("happy") for o in group.options) and any(o.startswith("fear")
                                                                                 for o in group.options)
    group.set_value(labels[0]).run()
    assert not at.exception, [e.value for e in at.exception]
    chosen = next(m for m in at.sidebar.multiselect if m.label == "Runs").value
    assert sorted(chosen) == ["M3-disgust-s0", "M7-disgust-s0"]


@shipped
def test_each_shipped_run_is_complete_and_the_demo_fits_its_budget():
    for entry in _manifest(DEMO)["runs"]:
        check_run(entry, Run(DEMO / entry["name"]))
    check_size(DEMO, BUDGET_MIB)


@shipped
def test_every_shipped_run_has_its_metrics_up_to_its_last_iteration():
    for entry in _manifest(DEMO)["runs"]:
        metrics = read_metrics(DEMO / entry["name"])
        assert len(metrics), f"{entry['name']}: no metrics.jsonl"
        assert metrics["iteration"].max() == entry["iterations"], entry["name"]


@shipped
def test_the_explorer_opens_on_the_demo():
    # open_app passes --runs; that the default --runs is checkpoints/ is test_explorer_app's to check.
    from test_explorer_app import open_app

    at = open_app(DEMO, "losses")
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    chosen = next(m for m in at.sidebar.multiselect if m.label == "Runs").value
    assert [Run(DEMO / name).model for name in chosen] == SHIPPED_MODELS     # it opens on the eight runs


@shipped
def test_the_timeline_scrubs_every_50_iterations_and_the_latent_page_works_at_the_original_iterations():
    from test_explorer_app import images, open_app, texts

    at = open_app(DEMO, "timeline")
    assert not at.exception, [e.value for e in at.exception]
    chosen = next(m for m in at.sidebar.multiselect if m.label == "Runs").value
    span = next(s for s in at.sidebar.select_slider if s.label == "Snapshots between")
    span.set_value((50, 5000)).run()            # the whole run, not the original slides' 950..4850 shown first
    options = [int(o) for o in at.sidebar.select_slider(key="iteration_slider").options]
    assert set(range(50, 5001, 50)) | set(ORIGINAL_ITERATIONS) == set(options)
    assert len(set(images(at))) >= len(chosen)  # the selected runs' faces at the current iteration
    at = open_app(DEMO, "latent")
    for it in ORIGINAL_ITERATIONS:
        at.sidebar.select_slider(key="iteration_slider").set_value(it).run()
        assert not at.exception and not at.error, (it, [e.value for e in at.exception])
        # The weights of that very iteration, but where a run was thinned (M7's and M8's larger generators keep
        # fewer): then the page says it walks the nearest iteration with weights, naming those runs' models.
        runs = [Run(DEMO / name) for name in chosen]
        lacking = [r.model for r in runs if it not in r.weight_iterations()]
        info = texts(at.main.info)
        assert ("nearest with weights" in info) == bool(lacking), it
        assert all(m in info for m in lacking) and not any(r.model in info for r in runs if r.model in ORIGINAL_SIX)
        assert len(set(images(at)[:len(chosen)])) == len(chosen), it      # one strip per selected run
