"""Real or fake?: one face at a time, real or from the selected runs at the current iteration, answered with a click;
after a round the score and each run's fooling rate, and the rates pooled over everyone's answers in the runs folder."""

from __future__ import annotations

import secrets
from pathlib import Path

import streamlit as st

from emogan.errors import EmoganError, first_line
from emogan.runs.answers import append_answers, read_answers, reset_answers
from emogan.runs.catalog import RunInfo
from emogan.runs.store import nearest
from emogan.views import fooling
from emogan.views import real_or_fake as rof

from . import common, loaders, session

ROUND = "rof_round"
SAVE_ERROR = "rof_save_error"
CONFIRM = "rof_confirm_reset"
RESET_NOTE = "rof_reset_note"


def page() -> None:
    sel = common.begin("Real or fake?",
                       f"Each face is drawn with equal odds from real FER2013 {rof.REAL_SPLIT} faces or from the "
                       f"selected runs at the current iteration, and shown the same way. Answer Real or Fake; the "
                       f"score and each run's fooling rate come after {rof.ROUND} faces.")
    if sel is None:
        return
    rnd = st.session_state.get(ROUND)
    if st.session_state.get(SAVE_ERROR):
        st.error(st.session_state[SAVE_ERROR])
    if rnd is not None and not rnd.done:
        _ask(rnd)
        return
    if rnd is not None:
        _results(rnd)
    _start(sel)
    _pooled(session.config().runs_root)


# ---------------------------------------------------------------- a round

def _ask(rnd: rof.Round) -> None:
    """The current face and the two buttons: nothing on the page depends on where the face came from."""
    k = len(rnd.answers)
    st.markdown(f"#### Face {k + 1} of {len(rnd.faces)}")
    st.image(_png(rnd.current.image.tobytes()), output_format="PNG")
    real, fake, _ = st.columns([1, 1, 4])
    real.button("Real", key=f"rof_real_{k}", on_click=_answer, args=("real", k), width="stretch")
    fake.button("Fake", key=f"rof_fake_{k}", on_click=_answer, args=("fake", k), width="stretch")


@st.cache_data(max_entries=64, show_spinner=False)
def _png(pixels: bytes) -> bytes:
    import numpy as np
    return rof.face_png(np.frombuffer(pixels, np.uint8).reshape(48, 48))


def _answer(answer: str, position: int) -> None:
    rnd = st.session_state.get(ROUND)
    line = rnd.answer(answer, position) if rnd is not None else None
    if line is None:
        return                  # a second click on a face already answered
    try:
        append_answers(session.config().runs_root, [line])
        st.session_state[SAVE_ERROR] = ""
    except EmoganError as e:
        st.session_state[SAVE_ERROR] = f"Answer not saved: {first_line(e)}"


def _results(rnd: rof.Round) -> None:
    right, n = fooling.score(rnd.lines)
    st.subheader(f"Score: {right} of {n} right ({fooling.percent(right / n if n else None)})")
    k, m = fooling.real_accuracy(rnd.lines)
    st.caption(f"Real faces called real: {k} of {m}. A run's fooling rate is how often its faces were taken for "
               f"real; 50% means you could not tell them from real ones.")
    rates = fooling.pooled_rates(rnd.lines)
    if len(rates):
        st.dataframe(fooling.table(rates)[["run", "iteration", "fooling rate (95% CI)"]], hide_index=True)
    else:
        st.caption("This round showed no generated face.")


def _start(sel: session.Selection) -> None:
    cfg = session.config()
    iteration = session.current_iteration()
    recorded = [(loaders.run_config(r).get("data") or {}).get("source") for r in sel.runs]
    real, err = loaders.attempt(_real_faces, cfg.data, tuple(recorded), rof.round_emotion([r.emotion for r in sel.runs]))
    if err:
        st.error(err)
        return
    label = "New round" if st.session_state.get(ROUND) is not None else f"Start a round of {rof.ROUND} faces"
    if not st.button(label, key="rof_start", type="primary"):
        return
    pools, problems = _fake_pools(sel.runs, iteration, secrets.randbits(31))
    for line in problems:
        st.warning(line)
    if not pools:
        st.error("None of the selected runs has faces at this iteration")
        return
    st.session_state[ROUND] = rof.new_round(real, pools)
    st.session_state[SAVE_ERROR] = ""
    st.rerun()


def _real_faces(data: str | None, recorded: tuple[str | None, ...], emotion: str) -> rof.FacePool:
    source = rof.real_source(data, recorded)
    return _real_pool(str(source), emotion, loaders.mtime(source))


@st.cache_resource(max_entries=2, show_spinner="Loading real faces ...")
def _real_pool(source: str, emotion: str, stamp: int) -> rof.FacePool:
    return rof.load_real(source, emotion)


def _fake_pools(runs: list[RunInfo], iteration: int, seed: int) -> tuple[list[rof.FacePool], list[str]]:
    """Each run's faces at its snapshot nearest the iteration: new faces from its generator where the snapshot has
    weights, else its stored grid."""
    pools, problems = [], []
    for i, r in enumerate(runs):
        used = nearest(loaders.snapshots(r), iteration)
        if used is None:
            problems.append(f"{r.name}: no snapshots yet")
            continue
        if used in loaders.weight_iterations(r):
            z, labels = rof.fresh_latents(rof.ROUND, loaders.z_dim(r), seed + i, loaders.conditional(r))
            images, err = loaders.generated(r, used, z, labels)
            pool = rof.sampled_pool(r.name, used, seed + i, images) if images is not None else None
        else:
            _, images, err = loaders.faces(r, used)
            pool = rof.grid_pool(r.name, used, images) if images is not None else None
        if pool is None:
            problems.append(f"{r.name}: {err}")
        else:
            pools.append(pool)
    return pools, problems


# ---------------------------------------------------------------- everyone's answers

def _pooled(root: Path) -> None:
    st.subheader("Pooled answers")
    answers, err = loaders.attempt(read_answers, root)
    if err:
        st.error(err)
        return
    if answers.note:
        st.warning(answers.note)
    note = st.session_state.pop(RESET_NOTE, "")
    if note:
        st.success(note)
    if not answers.lines and not answers.damaged:
        st.caption(f"No answers yet in `{answers.path}`.")
        return
    right, n = fooling.score(answers.lines)
    k, m = fooling.real_accuracy(answers.lines)
    st.caption(f"{n} answers in `{answers.path}` from everyone who answered on this runs folder: "
               f"{right} right, real faces called real {k} of {m}. Each run's faces are counted at the snapshot "
               f"they came from.")
    rates = fooling.pooled_rates(answers.lines)
    if len(rates):
        st.dataframe(fooling.table(rates), hide_index=True)
    if not st.session_state.get(CONFIRM):
        st.button("Reset answers", key="rof_reset", on_click=_set_confirm, args=(True,))
        return
    st.warning(f"Delete all {n + len(answers.damaged)} lines of `{answers.path}`, everyone's answers? "
               f"This cannot be undone.")
    yes, no, _ = st.columns([1, 1, 4])
    yes.button("Yes, delete them", key="rof_reset_yes", type="primary", on_click=_reset, width="stretch")
    no.button("Cancel", key="rof_reset_no", on_click=_set_confirm, args=(False,), width="stretch")


def _set_confirm(on: bool) -> None:
    st.session_state[CONFIRM] = on


def _reset() -> None:
    st.session_state[CONFIRM] = False
    try:
        n = reset_answers(session.config().runs_root)
        st.session_state[RESET_NOTE] = f"Cleared {n} answers."
    except EmoganError as e:
        st.session_state[SAVE_ERROR] = f"Answers not cleared: {first_line(e)}"
