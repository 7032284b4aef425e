"""`emogan export`: the compact copy keeps every grid and loss row, weights only where asked, and a manifest."""

import json

import numpy as np
import torch
from tiny import tiny_run

from emogan.cli import main
from emogan.runs.store import Run


def test_export_keeps_grids_losses_and_chosen_weights(tmp_path, capsys):
    src = tmp_path / "runs"
    tiny_run(src, "r1", iters=20, snapshot_every=5)
    out = tmp_path / "demo"
    assert main(["export", "r1", "--root", str(src), "--out", str(out), "--weights-at", "7,12", "--grid-n", "8"]) == 0
    a, b = Run(src / "r1"), Run(out / "r1")
    assert b.snapshot_iterations() == a.snapshot_iterations() == [5, 10, 15, 20]
    assert b.weight_iterations() == [5, 10, 20]            # 7 -> 5 and 12 -> 10 (nearest), plus the last
    assert np.array_equal(b.grid(15), a.grid(15)[:8])
    assert b.losses().equals(a.losses())
    z = a.fixed_latents()[:4]
    with torch.no_grad():
        diff = (a.load_generator(10)(z) - b.load_generator(10)(z)).abs().max().item()
    assert diff < 0.05                                     # fp16 weights
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"][0]["name"] == "r1" and manifest["runs"][0]["model"] == "M3"
    assert manifest["runs"][0]["export"]["export_command"] == [
        "python", "-m", "emogan", "export", "r1", "--root", str(src), "--out", str(out), "--weights-at", "7,12",
        "--grid-n", "8"]
    assert manifest["total_bytes"] == sum(p.stat().st_size for p in (out / "r1").rglob("*") if p.is_file())
    assert "state.safetensors" not in {p.name for p in (out / "r1").iterdir()}


def test_a_light_export_keeps_grids_and_weights_only_where_asked_and_says_so(tmp_path, capsys):
    src = tmp_path / "runs"
    tiny_run(src, "r1", iters=20, snapshot_every=5)
    out = tmp_path / "demo"
    assert main(["export", "r1", "--root", str(src), "--out", str(out), "--weights-at", "20", "--grids-at", "9",
                 "--grid-n", "4"]) == 0
    b = Run(out / "r1")
    assert b.snapshot_iterations() == [10, 20] and b.weight_iterations() == [20]
    assert b.losses().equals(Run(src / "r1").losses())               # the loss log stays whole
    entry = json.loads((out / "manifest.json").read_text())["runs"][0]
    assert entry["thinned"] == "grids of 4 faces at iterations 10, 20; generator weights at 20"
    assert b.config["exported"]["grids_at"] == [10, 20]


def test_export_refuses_to_overwrite(tmp_path, capsys):
    src = tmp_path / "runs"
    tiny_run(src, "r1", iters=5, snapshot_every=5)
    (tmp_path / "demo" / "r1").mkdir(parents=True)
    assert main(["export", "r1", "--root", str(src), "--out", str(tmp_path / "demo")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_export_over_budget_leaves_nothing(tmp_path, capsys):
    src = tmp_path / "runs"
    tiny_run(src, "r1", iters=10, snapshot_every=5)
    tiny_run(src, "r2", iters=10, snapshot_every=5)
    out = tmp_path / "demo"
    assert main(["export", "r1", "r2", "--root", str(src), "--out", str(out), "--max-mb", "0.001"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "over --max-mb 0.001" in err[-1] and str(out) in err[-1]
    assert not any(out.iterdir())                          # neither run, nor a manifest
    assert main(["export", "r1", "r2", "--root", str(src), "--out", str(out), "--max-mb", "60"]) == 0
    assert {p.name for p in out.iterdir()} == {"r1", "r2", "manifest.json"}


def test_a_demo_exported_in_parts_keeps_one_manifest_of_all_its_runs(tmp_path):
    src = tmp_path / "runs"
    tiny_run(src, "r1", iters=5, snapshot_every=5)
    tiny_run(src, "r2", iters=5, snapshot_every=5)
    out = tmp_path / "demo"
    assert main(["export", "r1", "--root", str(src), "--out", str(out)]) == 0
    assert main(["export", "r2", "--root", str(src), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [r["name"] for r in manifest["runs"]] == ["r1", "r2"]
    assert [r["export"]["export_command"][4] for r in manifest["runs"]] == ["r1", "r2"]
    on_disk = sum(p.stat().st_size for name in ("r1", "r2") for p in (out / name).rglob("*") if p.is_file())
    assert manifest["total_bytes"] == on_disk
