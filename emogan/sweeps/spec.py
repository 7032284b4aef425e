"""What a sweep is: the grid and the options of its runs, from a TOML file and flags, checked before anything runs,
and the jobs it expands to (each one `train` command, then optionally one `metrics` command)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from emogan.emotions import EMOTIONS
from emogan.errors import DataError, EmoganError
from emogan.models import get_config, model_names
from emogan.runs.paths import check_name
from emogan.training.session import check_emotion, run_name

if sys.version_info >= (3, 11):
    import tomllib
else:                                  # the same parser, before it joined the standard library
    import tomli as tomllib

EXECUTORS = ("local", "submitit")


@dataclass(frozen=True)
class SweepSpec:
    models: tuple[str, ...] = ("M1",)
    seeds: tuple[int, ...] = (0,)
    emotions: tuple[str, ...] = ("all",)
    root: str = "runs"
    data: str | None = None
    iters: int = 5000
    batch: int = 64
    snapshot_every: int = 50
    threads: int = 1                  # per job: one thread per job, one job per core is fastest on a small CPU
    parallel: int | None = None       # jobs at once (local executor); None: one per core
    executor: str = "local"
    measure: bool = False             # run `metrics` on each run once trained
    metrics_every: int = 50
    metrics_n: int = 1000
    export: str | None = None         # export the finished runs into this folder at the end
    export_args: tuple[str, ...] = () # further `export` flags, e.g. ["--grid-n", "12"]
    slurm: dict[str, Any] = field(default_factory=dict)   # submitit parameters (partition, timeout_min, ...)


@dataclass(frozen=True)
class SweepJob:
    name: str
    model: str
    emotion: str
    seed: int

    def train_argv(self, spec: SweepSpec, resume: bool) -> list[str]:
        argv = ["train", "--model", self.model, "--emotion", self.emotion, "--seed", str(self.seed),
                "--data", str(spec.data), "--out", spec.root, "--iters", str(spec.iters), "--batch", str(spec.batch),
                "--snapshot-every", str(spec.snapshot_every), "--threads", str(spec.threads), "--no-progress"]
        return argv + (["--resume"] if resume else [])

    def metrics_argv(self, spec: SweepSpec) -> list[str]:
        return ["metrics", self.name, "--root", spec.root, "--data", str(spec.data), "--every",
                str(spec.metrics_every), "--n", str(spec.metrics_n), "--quiet"]


_LISTS = {"models": str, "seeds": int, "emotions": str, "export_args": str}


def load_spec(path: str | Path | None, **overrides: Any) -> SweepSpec:
    """The spec of a TOML file (or the defaults) with the flags given on the command line (None: not given)."""
    values: dict[str, Any] = {}
    if path is not None:
        values = _read_toml(Path(path))
    values.update({k: v for k, v in overrides.items() if v is not None})
    if not values.get("data") and os.environ.get("EMOGAN_DATA"):
        values["data"] = os.environ["EMOGAN_DATA"]
    where = f" in {path}" if path is not None else ""
    known = {f.name for f in fields(SweepSpec)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise DataError(f"unknown sweep setting {unknown[0]!r}{where}: expected one of {', '.join(sorted(known))}")
    for key, kind in _LISTS.items():
        if key in values:
            v = values[key]
            v = [v] if isinstance(v, (str, int)) else v
            if not isinstance(v, (list, tuple)) or not all(isinstance(x, kind) for x in v):
                raise DataError(f"sweep setting {key!r}{where} must be a list of {kind.__name__}s")
            values[key] = tuple(v)
    spec = replace(SweepSpec(), **values)
    check(spec, where)
    return spec


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise DataError(f"{path}: no such sweep file") from None
    except tomllib.TOMLDecodeError as e:
        raise DataError(f"{path}: not valid TOML ({e})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None


def check(spec: SweepSpec, where: str = "") -> None:
    """Every refusal a sweep can meet, before any folder is made or any job started."""
    if not spec.data:
        raise DataError(f"no dataset given{where}: pass --data PATH, set data in the sweep file, or set EMOGAN_DATA")
    unknown = [m for m in spec.models if m not in model_names()]
    if unknown:
        raise DataError(f"unknown model {unknown[0]!r}{where}: expected {', '.join(model_names())}")
    bad = [e for e in spec.emotions if e not in ("all",) + EMOTIONS]
    if bad:
        raise DataError(f"unknown emotion {bad[0]!r}{where}: expected all or one of {', '.join(EMOTIONS)}")
    for m in spec.models:
        for e in spec.emotions:
            try:
                check_emotion(get_config(m), e)
            except EmoganError as err:
                raise DataError(f"{err}{where}") from None
    for key in ("iters", "batch", "snapshot_every", "threads", "metrics_every", "metrics_n"):
        if getattr(spec, key) < 1:
            raise DataError(f"sweep setting {key!r}{where} must be at least 1")
    if spec.parallel is not None and spec.parallel < 1:
        raise DataError(f"sweep setting 'parallel'{where} must be at least 1")
    if spec.executor not in EXECUTORS:
        raise DataError(f"unknown executor {spec.executor!r}{where}: expected {' or '.join(EXECUTORS)}")
    if not spec.models or not spec.seeds or not spec.emotions:
        raise DataError(f"an empty sweep{where}: models, seeds and emotions each need at least one entry")
    for job in jobs(spec):
        check_name(job.name)


def jobs(spec: SweepSpec) -> list[SweepJob]:
    """One job per model x emotion x seed, in that order (the models of one seed and emotion side by side)."""
    return [SweepJob(run_name(m, e, s), m, e, s) for s in spec.seeds for e in spec.emotions for m in spec.models]
