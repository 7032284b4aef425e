"""The Train page: start a run of any registered model with the CLI's own `train` command, follow the runs in
progress (found through their locks, so also those started elsewhere or before the explorer was opened), stop,
resume and measure them. All the process handling is emogan.runs.launch; this page only asks and shows."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from emogan.emotions import EMOTIONS
from emogan.errors import EmoganError, first_line
from emogan.metrics.records import METRICS_FILE
from emogan.models import get_config, model_names
from emogan.runs import launch
from emogan.runs.catalog import RunInfo
from emogan.runs.paths import check_name
from emogan.runs.store import CONFIG, INDEX, LOSSES
from emogan.training.session import check_emotion, run_name

from . import loaders, session

LOCAL = {"localhost", "127.0.0.1", "::1"}
REFRESH_S = 2.0
LOGS = ".logs"          # under the runs root: each started command's output, named for its run
MESSAGE = "train_message"
LAUNCHED = "train_launched"     # run name -> Launched: commands this page started that hold no lock yet
# What a started command writes once it holds its run: train makes or rewinds the config, index and loss log,
# metrics appends its lines.
WRITES = (CONFIG, INDEX, LOSSES, METRICS_FILE)


@dataclass(frozen=True)
class Launched:
    """A command this page started, shown in the table from the click on: its process takes a few seconds (torch,
    the dataset) to make the run folder or take the run's lock, and may fail before it does."""
    proc: subprocess.Popen
    log: Path
    state: str          # what the table says meanwhile: starting, resuming, measuring
    model: str
    emotion: str
    iters: int
    since_ns: int       # when it was started, on the clock of the files' times


def training_allowed() -> tuple[bool, str]:
    """Whether this server may start and stop processes: it serves this machine only, or was told so."""
    address = str(st.get_option("server.address") or "")
    if session.config().allow_training or address in LOCAL:
        return True, ""
    return False, (f"This explorer is served on {address or 'every network address'}: the Train page only shows "
                   "runs. Start it with `-- --allow-training` to let visitors start and stop training.")


def page() -> None:
    st.header("Train")
    st.caption("Runs are trained by `python -m emogan train` in processes of their own: they go on when the "
               "explorer is closed, and the explorer finds them again when it is opened.")
    allowed, why = training_allowed()
    if not allowed:
        st.info(why, icon=":material/lock:")
    root = session.config().runs_root
    if allowed:
        _form(root)
    message = st.session_state.pop(MESSAGE, None)
    if message:
        (st.error if message[0] == "error" else st.success)(message[1])
    _runs(root, allowed)


# ---------------------------------------------------------------- a new run

def _form(root: Path) -> None:
    with st.form("new_run"):
        c = st.columns(4)
        model = c[0].selectbox("Model", model_names(), key="train_model")
        emotion = c[1].selectbox("Emotion", ("all",) + EMOTIONS, key="train_emotion")
        iters = c[2].number_input("Iterations", min_value=1, value=5000, step=50, key="train_iters")
        seed = c[3].number_input("Seed", value=0, step=1, key="train_seed")
        c = st.columns(4)
        batch = c[0].number_input("Batch", min_value=1, value=64, key="train_batch")
        every = c[1].number_input("Snapshot every", min_value=1, value=50, key="train_every")
        threads = c[2].number_input("Threads", min_value=1, value=os.cpu_count() or 1, key="train_threads",
                                    help="torch threads (the CLI's default: one per core)")
        name = c[3].text_input("Run name", value="", key="train_name", placeholder="MODEL-EMOTION-sSEED")
        data = st.text_input("FER2013", value=session.config().data or "", key="train_data",
                             help="the dataset's folder or fer2013.csv (default: --data of the explorer, or "
                                  "$EMOGAN_DATA)")
        if st.form_submit_button("Start", type="primary"):
            _start(root, model, emotion, int(iters), int(seed), int(batch), int(every), int(threads),
                   name.strip() or run_name(model, emotion, int(seed)), data.strip())


def refusal(root: Path, model: str, emotion: str, name: str, data: str) -> str | None:
    """Why a run cannot be started, in one line; None when it can."""
    if not data:
        return ("No FER2013 given: fill in its folder above, start the explorer with `-- --data DIR`, "
                "or set EMOGAN_DATA")
    if not Path(data).expanduser().exists():
        return f"No FER2013 found at {data} (from the field above, `--data` or EMOGAN_DATA)"
    try:
        check_name(name)
        check_emotion(get_config(model), emotion)
    except EmoganError as e:
        return first_line(e)
    probe = root if root.exists() else next((p for p in root.parents if p.exists()), Path("."))
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        return f"The runs root {root} is not writable: open a writable one with `-- --runs DIR`"
    if (root / name).exists():
        return f"A run named {name} already exists in {root}: pick another name, or resume it below"
    return None


def _start(root: Path, model: str, emotion: str, iters: int, seed: int, batch: int, every: int, threads: int,
           name: str, data: str) -> None:
    problem = refusal(root, model, emotion, name, data)
    if problem:
        st.session_state[MESSAGE] = ("error", problem)
        return
    argv = ["train", "--model", model, "--emotion", emotion, "--data", str(Path(data).expanduser()),
            "--out", str(root), "--iters", str(iters), "--batch", str(batch), "--snapshot-every", str(every),
            "--seed", str(seed), "--threads", str(threads), "--name", name, "--no-progress"]
    log = root / LOGS / f"{name}.log"
    _launched(name, launch.launch(argv, log), log, "starting", model, emotion, iters)
    busy = sum(_threads(r) for r in _active(root)) + threads
    note = f" ({busy} threads now asked of {os.cpu_count()} cores: runs will slow each other)" \
        if busy > (os.cpu_count() or 1) else ""
    st.session_state[MESSAGE] = ("ok", f"Started {name}: `python -m emogan {' '.join(argv)}`{note}")
    loaders.catalog.clear()


# ---------------------------------------------------------------- runs in progress

def _launched(name: str, proc: subprocess.Popen, log: Path, state: str, model: str, emotion: str, iters: int) -> None:
    st.session_state.setdefault(LAUNCHED, {})[name] = Launched(proc, log, state, model, emotion, iters,
                                                               time.time_ns())


def _follow_launched(infos: list[RunInfo]) -> list[str]:
    """Forget the launched commands that have begun (their process holds the run's lock, or has written into the
    run: a short one may have come and gone between two looks) or have ended; one line for each that failed before
    it began, from the end of its log."""
    launched: dict[str, Launched] = st.session_state.get(LAUNCHED, {})
    paths = {r.name: r.path for r in infos}
    failed = []
    for name, job in list(launched.items()):
        path = paths.get(name)
        began = path is not None and bool(
            (launch.measuring(path) if job.state == "measuring" else launch.holder(path))
            or any(loaders.mtime(path / f) >= job.since_ns for f in WRITES))
        code = job.proc.poll()
        if began or code is not None:
            del launched[name]
        if code and not began:
            failed.append(f"{name} stopped before it began (exit status {code}): {_last_line(job.log)}")
    return failed


def _last_line(log: Path) -> str:
    try:
        with open(log, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
            lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError as e:
        return f"its log {log} cannot be read ({e.strerror or e})"
    return f"{lines[-1]} (see {log})" if lines else f"its log {log} is empty"


def _active(root: Path) -> list[RunInfo]:
    infos, _ = loaders.catalog(str(root))
    return [r for r in infos if r.error is None and launch.holder(r.path)]


def _threads(info: RunInfo) -> int:
    try:
        return int(loaders.run_config(info).get("threads") or 1)
    except (AttributeError, TypeError, ValueError):
        return 1


def _runs(root: Path, allowed: bool) -> None:
    infos, err = loaders.catalog(str(root))
    launched = bool(st.session_state.get(LAUNCHED))
    if err and not launched:
        st.info(err)
        return
    live = launched or any(launch.holder(r.path) or launch.measuring(r.path) for r in infos if r.error is None)
    # The timer runs while anything trains, is measured or is starting; the sidebar's look at the runs folder redraws
    # the page when that ends, and so stops the timer.
    st.fragment(run_every=REFRESH_S if live else None)(_table)(root, allowed)


def _table(root: Path, allowed: bool) -> None:
    loaders.catalog.clear()             # every tick: new runs and new states
    infos, _ = loaders.catalog(str(root))
    infos = [r for r in infos if r.error is None]
    failed = _follow_launched(infos)
    if failed:
        st.session_state[MESSAGE] = ("error", "; ".join(failed))
        st.rerun()          # the whole page: the message is drawn above the form
    launched: dict[str, Launched] = st.session_state.get(LAUNCHED, {})
    rows, actions = [], []
    for r in infos:
        if r.name in launched:          # its process has not taken the lock yet: no buttons, nothing to pace
            rows.append({"run": r.name, "model": r.model, "emotion": r.emotion, "state": launched[r.name].state,
                         "iteration": f"{r.iteration}/{r.iters}", "it/s": "", "ETA": "", "measured": _measured(r)})
            continue
        pid, measuring = launch.holder(r.path), launch.measuring(r.path)
        p = launch.pace(r.path, r.iters)
        state = "training" if pid else "measuring" if measuring else r.state
        rows.append({"run": r.name, "model": r.model, "emotion": r.emotion, "state": state,
                     "iteration": f"{p.iteration if pid else r.iteration}/{r.iters}",
                     "it/s": f"{p.rate:.1f}" if pid and p.rate else "",
                     "ETA": launch.duration(p.eta_s) if pid else "", "measured": _measured(r)})
        actions.append((r, pid, measuring, state))
    shown = {r.name for r in infos}
    rows += [{"run": name, "model": job.model, "emotion": job.emotion, "state": job.state,     # no folder yet
              "iteration": f"0/{job.iters}", "it/s": "", "ETA": "", "measured": ""}
             for name, job in launched.items() if name not in shown]
    st.markdown("#### Runs")
    if not rows:
        st.caption(f"No runs in {root} yet.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if not allowed:
        return
    for r, pid, measuring, state in actions:
        if not (pid or state in ("interrupted", "running") or (state == "done" and not measuring
                                                                and _measured(r) != f"up to {r.iters}")):
            continue
        text, b1 = st.columns([6, 1], vertical_alignment="center")
        text.markdown(f"`{r.name}`: {state}")
        if pid:
            b1.button("Stop", key=f"stop::{r.name}", on_click=_stop, args=(r,), width="stretch")
        elif state in ("interrupted", "running"):       # "running" without a holder: killed, resumable
            b1.button("Resume", key=f"resume::{r.name}", on_click=_resume, args=(r, root), width="stretch")
        else:
            b1.button("Measure", key=f"measure::{r.name}", on_click=_measure, args=(r, root), width="stretch")



def _measured(info: RunInfo) -> str:
    df, _, _ = loaders.metrics(info)
    return "" if df is None or df.empty else f"up to {int(df['iteration'].max())}"


def _stop(info: RunInfo) -> None:
    ok = launch.stop(info.path)
    st.session_state[MESSAGE] = ("ok", f"Asked {info.name} to stop: it writes its snapshot first") if ok else \
        ("error", f"{info.name} is not training any more")


def _resume(info: RunInfo, root: Path) -> None:
    c = loaders.run_config(info)
    data = (c.get("data") or {}).get("source") or session.config().data
    if not data or not Path(data).exists():
        st.session_state[MESSAGE] = ("error", f"No FER2013 found for {info.name}: start the explorer with "
                                              "`-- --data DIR` or set EMOGAN_DATA")
        return
    argv = ["train", "--model", str(c["model"]), "--emotion", str(c["emotion"]), "--data", str(data),
            "--split", str((c.get("data") or {}).get("split") or "train"), "--out", str(root),
            "--iters", str(c["iters"]), "--batch", str(c["batch"]), "--snapshot-every", str(c["snapshot_every"]),
            "--seed", str(c["seed"]), "--threads", str(c.get("threads") or 1), "--name", info.name, "--resume",
            "--no-progress"]
    log = root / LOGS / f"{info.name}.log"
    _launched(info.name, launch.launch(argv, log), log, "resuming", info.model, info.emotion, info.iters)
    st.session_state[MESSAGE] = ("ok", f"Resuming {info.name}: `python -m emogan {' '.join(argv)}`")


def _measure(info: RunInfo, root: Path) -> None:
    argv = ["metrics", info.name, "--root", str(root)]
    data = session.config().data
    if data:
        argv += ["--data", data]
    log = root / LOGS / f"{info.name}.metrics.log"
    _launched(info.name, launch.launch(argv, log, threads=1), log, "measuring", info.model, info.emotion, info.iters)
    st.session_state[MESSAGE] = ("ok", f"Measuring {info.name}: `python -m emogan {' '.join(argv)}`; the Mode "
                                       "collapse page shows its lines as they arrive")
