"""Train several classifier candidates at once on one GPU and ship the best one by validation accuracy.

    python scripts/classifier_candidates.py --data DIR [--candidates FILE] [--out checkpoints/classifier]
        [--work DIR] [--device cuda] [-- OPTIONS FOR EVERY `classifier train`]

A GPU session has minutes, not hours, and small nets leave an H100/H200 mostly idle (they are bound by kernel
launches, not arithmetic), so one training process per candidate, all at once, learns several answers for the
price of one. Each candidate is a plain `python -m emogan classifier train` with its own --config and --options
(scripts/classifier_candidates.json) plus the options after `--`; a candidate's figures are measured while it
shares the GPU, so on its own it trains at least as fast.

Which one ships (validation only: the protocol selects everything there):
  1. one that reaches the accuracy goal beats one that does not;
  2. then one within the CPU latency goal (64 faces, measured beforehand on the development machine) beats one
     over it;
  3. then the higher validation accuracy.
Candidates whose weights file exceeds max_mb (the shipped classifier's size limit) are never shipped.
Ensembles of the finished candidates compete under the same rule: every group of two or more within max_mb
together, its members' logits averaged, scored on validation exactly as `classifier eval` scores the shipped file
(flip TTA). Averaging nets trained apart typically gains a point or two on FER2013, and the candidates are
trained anyway, so this costs seconds; an ensemble costs the sum of its members on the CPU, so by the rule it
ships only when it reaches the accuracy goal and no single candidate does.
The winner's classifier.safetensors and classifier.json (with a "selection" entry) go to --out, beside
candidates.json, the record of every candidate. Exit status 0 when a candidate shipped, 1 when none finished,
2 for a bad candidates file or dataset. Ctrl-C (or SIGINT/SIGTERM from `timeout`) stops every candidate after
its current step; each writes its best validated epoch, and the best of those still ships (marked stopped_early).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from emogan.classifier.files import INFO_FILE, WEIGHTS_FILE, as_saved, read_net, save_classifier
from emogan.classifier.fitting import TrainOptions
from emogan.classifier.inference import Classifier
from emogan.classifier.model import ClassifierConfig, EnsembleNet
from emogan.data import FaceSet
from emogan.device import resolve_device
from emogan.errors import DataError
from emogan.runs.atomic import atomic_write_bytes, atomic_write_json

REPO = Path(__file__).resolve().parents[1]

DEFAULT_FILE = Path(__file__).with_name("classifier_candidates.json")


def read_candidates(path: Path) -> dict[str, Any]:
    """The candidates file, checked before any GPU time is spent: names, nets, options and goals."""
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        if not (0 < float(spec["goal_accuracy"]) <= 1 and float(spec["goal_cpu_ms"]) > 0
                and float(spec["max_mb"]) > 0):
            raise ValueError("goal_accuracy must be in (0, 1], goal_cpu_ms and max_mb positive")
        names = [c["name"] for c in spec["candidates"]]
        if not names or len(set(names)) != len(names) or not all(n and n.replace("-", "").isalnum() for n in names):
            raise ValueError(f"candidate names must be unique, non-empty, letters, digits and '-': {names}")
        for c in spec["candidates"]:
            ClassifierConfig.from_dict(c["config"])
            TrainOptions.from_dict(c["options"])
            if not float(c["cpu_ms"]) > 0:
                raise ValueError(f"candidate {c['name']}: cpu_ms must be a positive measurement")
    except OSError as e:
        raise DataError(f"cannot read candidates file {path}: {e.strerror or e}") from None
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(f"{path}: bad candidates file: {' '.join(str(e).split())}") from None
    return spec


def choose(results: list[dict[str, Any]], goal_accuracy: float, goal_cpu_ms: float,
           max_mb: float = float("inf")) -> dict[str, Any] | None:
    """The candidate to ship among those that finished within the size limit (each with "accuracy", "cpu_ms"
    and "weights_mb"), or None."""
    done = [r for r in results if r.get("accuracy") is not None and r.get("weights_mb", 0) <= max_mb]
    if not done:
        return None
    return max(done, key=lambda r: (r["accuracy"] >= goal_accuracy, r["cpu_ms"] <= goal_cpu_ms, r["accuracy"]))


def _last_epoch_line(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.startswith("epoch")]
    except OSError:
        return "starting"
    return " ".join(lines[-1].split()) if lines else "loading"


def _wait(procs: dict[str, tuple[subprocess.Popen, Any]], work: Path, report_every: float) -> None:
    """Until every candidate has ended, print each one's latest epoch line now and then."""
    start = last_report = time.monotonic()
    while any(p.poll() is None for p, _ in procs.values()):
        time.sleep(0.5)
        if time.monotonic() - last_report >= report_every:
            last_report = time.monotonic()
            print(f"[{time.monotonic() - start:5.0f} s] " + " | ".join(
                f"{name}: {_last_epoch_line(work / name / 'train.log')}" for name in procs), flush=True)


def train_all(spec: dict[str, Any], data: str, device: str, work: Path, extra: list[str],
              python: str = sys.executable, report_every: float = 15.0) -> list[dict[str, Any]]:
    """Start every candidate's `classifier train` at once, report progress, and collect what each wrote."""
    procs = {}
    for c in spec["candidates"]:
        folder = work / c["name"]
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        cmd = [python, "-m", "emogan", "classifier", "train", "--data", data, "--device", device,
               "--config", json.dumps(c["config"]), "--options", json.dumps(c["options"]), *extra,
               "--out", str(folder)]
        log = (folder / "train.log").open("w")
        # Own sessions: a Ctrl-C or `timeout` reaches them once, from forward() below, never twice (a second
        # signal would make `classifier train` stop at once, without writing its best epoch).
        procs[c["name"]] = (subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True), log)

    def forward(signum: int, frame: Any) -> None:
        print("stopping: every candidate writes its best epoch so far", flush=True)
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)

    old = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _wait(procs, work, report_every)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    results = []
    for c in spec["candidates"]:
        proc, log = procs[c["name"]]
        log.close()
        info_path = work / c["name"] / INFO_FILE
        # 130: stopped by a signal after writing its best epoch so far (recorded as stopped_early).
        info = json.loads(info_path.read_text()) if proc.returncode in (0, 130) and info_path.is_file() else None
        weights = work / c["name"] / WEIGHTS_FILE
        results.append({
            "name": c["name"], "why": c.get("why", ""), "config": c["config"], "options": c["options"],
            "cpu_ms": float(c["cpu_ms"]), "exit_status": proc.returncode,
            "weights_mb": round(weights.stat().st_size / 1e6, 2) if info else None,
            "accuracy": info["validation"]["accuracy"] if info else None,
            "best_epoch": info["best_epoch"] if info else None, "epochs": info["epochs"] if info else None,
            "train_seconds": info["train_seconds"] if info else None,
            "stopped_early": info.get("stopped_early", False) if info else None,
            "command": info["command"] if info else None,
            # [epoch, validation accuracy, accuracy on augmented training faces]: enough to see under-fitting
            "history": [[h["epoch"], h["val_accuracy"], h["train_accuracy"]] for h in info["history"]]
            if info else None,
        })
        if info is None:
            print(f"{c['name']}: failed (exit status {proc.returncode}); the end of its log:")
            print("\n".join((work / c["name"] / "train.log").read_text(errors="replace").splitlines()[-5:]))
    return results


def ensembles(results: list[dict[str, Any]], validation: FaceSet, work: Path, device: str,
              max_mb: float) -> list[dict[str, Any]]:
    """Every group of two or more finished candidates within max_mb together, scored on validation as one net."""
    done = [r for r in results if r["accuracy"] is not None]
    nets = {r["name"]: read_net(work / r["name"] / WEIGHTS_FILE)[0] for r in done}
    dev = resolve_device(device)
    out = []
    for k in range(2, len(done) + 1):
        for group in itertools.combinations(done, k):
            mb = round(sum(r["weights_mb"] for r in group), 2)
            if mb > max_mb:
                continue
            # As saved: the averaged head goes through fp16 in the file, so score what the file will hold.
            net = as_saved(EnsembleNet.of([nets[r["name"]] for r in group]))
            scored = Classifier(net, dev).evaluate(validation.images, validation.labels, tta=True)
            out.append({
                "name": "+".join(r["name"] for r in group), "members": [r["name"] for r in group],
                "why": "the members' logits averaged", "config": net.config.to_dict(), "options": None,
                # Not measured: a sum of the members' measurements, which is what the ensemble runs on the CPU.
                "cpu_ms": round(sum(r["cpu_ms"] for r in group), 1), "exit_status": None, "weights_mb": mb,
                "accuracy": scored.to_dict()["accuracy"], "validation": scored.to_dict(), "best_epoch": None,
                "epochs": None,
                # The members trained side by side: the ensemble took as long as the slowest of them.
                "train_seconds": max(r["train_seconds"] for r in group),
                "stopped_early": any(r["stopped_early"] for r in group), "command": None, "history": None})
    return out


def ship(winner: dict[str, Any], results: list[dict[str, Any]], spec: dict[str, Any], work: Path, out: Path,
         validation: FaceSet | None = None, device: str = "cpu") -> None:
    """Write the winner's weights and record into `out` (each file atomically), with candidates.json beside them."""
    out.mkdir(parents=True, exist_ok=True)
    selection = {"candidate": winner["name"], "of": [r["name"] for r in results],
                 "rule": "accuracy goal met, then CPU goal met, then validation accuracy",
                 "record": "candidates.json"}
    record = {"goal_accuracy": spec["goal_accuracy"], "goal_cpu_ms": spec["goal_cpu_ms"], "max_mb": spec["max_mb"],
              "about_cpu_ms": spec.get("about", ""), "shipped": winner["name"], "candidates": results}
    if "members" in winner:
        infos = [json.loads((work / m / INFO_FILE).read_text()) for m in winner["members"]]
        net = EnsembleNet.of([read_net(work / m / WEIGHTS_FILE)[0] for m in winner["members"]])
        info = {
            "validation": {**winner["validation"], "split": validation.split if validation else "validation",
                           "tta": True, "content_hash": validation.content_hash if validation else None},
            "ensemble": [{"name": m, "validation_accuracy": i["validation"]["accuracy"], "best_epoch": i["best_epoch"],
                          "epochs": i["epochs"], "train_seconds": i["train_seconds"], "config": i["config"],
                          "options": i["options"], "command": i["command"]} for m, i in zip(winner["members"], infos)],
            "stopped_early": winner["stopped_early"], "train": infos[0]["train"], "config": net.config.to_dict(),
            "seed": infos[0]["seed"], "command": shlex.join(["python", *sys.argv]),
            "device": infos[0]["device"], "torch": infos[0]["torch"], "python": platform.python_version(),
            "train_seconds": winner["train_seconds"], "git_commit": infos[0].get("git_commit"),
            "selection": selection}
        save_classifier(out, net, info)      # weights, then the record, each atomically
    else:
        info = json.loads((work / winner["name"] / INFO_FILE).read_text())
        info["selection"] = selection
        atomic_write_bytes(out / WEIGHTS_FILE, (work / winner["name"] / WEIGHTS_FILE).read_bytes())
        atomic_write_json(out / INFO_FILE, info)
    atomic_write_json(out / "candidates.json", record)


def table(results: list[dict[str, Any]], winner: dict[str, Any] | None) -> str:
    """Every candidate and ensemble; an ensemble's CPU ms is the sum of its members' (not measured)."""
    rows = ["| candidate | validation | CPU ms (64 faces) | MB | epochs | training s | |",
            "|---|---|---|---|---|---|---|"]
    for r in results:
        acc = f"{100 * r['accuracy']:.2f}%" if r["accuracy"] is not None else f"failed ({r['exit_status']})"
        cpu = f"{r['cpu_ms']:.1f}" + (" (sum)" if "members" in r else "")
        rows.append(f"| {r['name']} | {acc} | {cpu} | {r['weights_mb'] or '-'} | {r['epochs'] or '-'} | "
                    f"{r['train_seconds'] or '-'} | {'shipped' if winner is r else ''} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        argv, extra = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="FER2013 root with train/ and validation/")
    ap.add_argument("--candidates", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--out", type=Path, default=REPO / "checkpoints" / "classifier")
    ap.add_argument("--work", type=Path, default=Path("/tmp/emogan-classifier-candidates"))
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args(argv)
    try:
        spec = read_candidates(args.candidates)
        from emogan.data import load_faces
        # Decode once here: the candidates then all read the cache instead of decoding the JPEGs side by side.
        load_faces(args.data, split="train")
        validation = load_faces(args.data, split="validation")
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    results = train_all(spec, args.data, args.device, args.work, extra)
    try:
        results += ensembles(results, validation, args.work, args.device, spec["max_mb"])
    except Exception as e:      # noqa: BLE001 - a failed extra must never cost the session its single best net
        print(f"ensembles not scored ({type(e).__name__}: {' '.join(str(e).split())}); singles only")
    winner = choose(results, spec["goal_accuracy"], spec["goal_cpu_ms"], spec["max_mb"])
    print(table(results, winner))
    if winner is None:
        print("no candidate finished: nothing shipped")
        return 1
    ship(winner, results, spec, args.work, args.out, validation, args.device)
    print(f"shipped {winner['name']} ({100 * winner['accuracy']:.2f}% validation) to {args.out}")
    print(json.dumps({"shipped": winner["name"], "accuracy": winner["accuracy"],
                      "candidates": {r["name"]: r["accuracy"] for r in results}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
