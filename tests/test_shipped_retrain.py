"""The guard on the code's shape: retraining the first 20 iterations of each shipped M1..M6 run, with its seed,
precision and thread count, gives its shipped loss rows exactly. Only a change of behaviour can break it.

It runs where the shipped runs were trained: the same CPU model and torch build, which the manifest names (another
CPU or build may round differently), with the native bf16 instructions a bf16-autocast run was trained with (CPUs
sold under one name, "AMD EPYC", come with and without them, and emulated bf16 rounds otherwise), and with the full
FER2013 training set the runs learnt from."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from emogan.data import load_faces
from emogan.device import cpu_has_native_bf16
from emogan.models import ORIGINAL_SIX
from emogan.runs.provenance import cpu_model
from emogan.training.loop import train

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "checkpoints"
ITERS = 20
COLUMNS = ("loss_D", "loss_G", "D_x", "D_G_z")


def _entries() -> dict[str, dict]:
    if not (DEMO / "manifest.json").is_file():
        return {}
    entries = json.loads((DEMO / "manifest.json").read_text())["runs"]
    return {e["name"]: e for e in entries if e["model"] in ORIGINAL_SIX and e.get("seed") == 0}


def _rows(path: Path, n: int) -> list[tuple[str, ...]]:
    with path.open(newline="") as f:
        return [tuple(row[c] for c in ("iteration", *COLUMNS)) for row, _ in zip(csv.DictReader(f), range(n))]


@pytest.fixture(scope="module")
def training_faces(full_fer_root: Path):
    return load_faces(full_fer_root, split="train")


@pytest.mark.parametrize("name", sorted(_entries()) or ["(no shipped demo)"])
def test_retrained_rows_equal_the_shipped_ones(name: str, training_faces, tmp_path: Path) -> None:
    entry = _entries().get(name)
    if entry is None:
        pytest.skip("no shipped M1..M6 runs in checkpoints/")
    here = f"cpu ({cpu_model()}, {entry['threads']} threads)"
    built = entry.get("export", {}).get("torch")
    if entry["device"] != here or built != torch.__version__:
        pytest.skip(f"shipped on {entry['device']} with torch {built}; this is {here} with torch {torch.__version__}")
    if entry["precision"] == "bf16-autocast" and not cpu_has_native_bf16():
        pytest.skip("trained with native bf16 instructions (AVX512-BF16 or AMX), which this CPU lacks")
    config = json.loads((DEMO / name / "config.json").read_text())
    if config["data"]["content_hash"] != training_faces.content_hash:
        pytest.skip("the FER2013 training faces here differ from those the run was trained on")
    threads = torch.get_num_threads()
    torch.set_num_threads(entry["threads"])
    try:
        train(training_faces, tmp_path / name, model=entry["model"], seed=entry["seed"], iters=ITERS,
              amp=entry["precision"] == "bf16-autocast", device="cpu")
    finally:
        torch.set_num_threads(threads)
    assert _rows(tmp_path / name / "losses.csv", ITERS) == _rows(DEMO / name / "losses.csv", ITERS)
