"""Page 4, latent space: a slerp/lerp walk between two latents for every run, sliders that move one latent along a
few directions while all runs redraw, and for conditional models (M8) the emotion they are asked for: one face in
all seven emotions, and a morph from one emotion to another."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from emogan.emotions import EMOTIONS, emotion_index
from emogan.runs.catalog import RunInfo
from emogan.sampling import random_latents
from emogan.views import latent

from . import common, loaders, session

METHOD = "lat_method"
STEPS = "lat_steps"
T = "lat_t"
SOURCE = "dir_source"
COORDS = "dir_coords"
BASE = "dir_base"
SWEEP = "dir_sweep"
N_DIRECTIONS = 3
PCA_SEED, PCA_BATCH = 7, 1024
SOURCES = ("principal directions of a latent batch", "single coordinates")
SWEEP_AMOUNTS = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
EMOTION = "lat_emotion"
MORPH_FROM, MORPH_TO = "lat_morph_from", "lat_morph_to"
MORPH_STEPS = 9


def page() -> None:
    sel = common.begin("Latent space",
                       "Walk from one latent vector to another and watch every run draw the path; a run that "
                       "draws the same face all along it has collapsed.")
    if sel is None:
        return
    runs = _walkable(sel.runs, session.current_iteration())
    if not runs:
        return
    if any(loaders.conditional(r) for r, _ in runs):
        st.session_state.setdefault(EMOTION, "happy")
        st.columns([1, 2])[0].selectbox("Emotion asked of conditional models", EMOTIONS, key=EMOTION,
                     help="Conditional models (M8) draw the emotion they are asked for; the others ignore it")
    _interpolation(runs)
    _directions(runs)
    _emotions(runs)


def _asked(r: RunInfo, n: int) -> np.ndarray | None:
    """The emotion chosen above, for each of n faces of a conditional run; None for other runs."""
    if not loaders.conditional(r):
        return None
    return np.full(n, emotion_index(st.session_state.get(EMOTION, "happy")), dtype=np.int64)


def _walkable(runs: list[RunInfo], iteration: int) -> list[tuple[RunInfo, int]]:
    """(run, iteration with weights) for runs that have weights and the first run's z_dim; says what was snapped."""
    out, notes = [], {}
    zdim = loaders.z_dim(runs[0])
    for r in runs:
        used, note = loaders.weights_iteration(r, iteration)
        if used is None:
            st.caption(note)
            continue
        if loaders.z_dim(r) != zdim:
            st.caption(f"{r.name}: latent size {loaders.z_dim(r)} differs from {runs[0].name}'s {zdim}; left out")
            continue
        out.append((r, used))
        if note:
            notes.setdefault(used, []).append(r.model or r.name)
    for used, models in notes.items():
        who = "" if len(models) == len(runs) else f" for {', '.join(models)}"
        st.info(f"The latent walk uses iteration {used}, the nearest with weights{who} "
                f"(the current iteration is {iteration}).", icon=":material/info:")
    if not out:
        st.info("None of the selected runs has generator weights: the latent pages need them")
    return out


def _endpoint_widgets(col, name: str, default_seed: int, info: RunInfo) -> None:
    kind_key, value_key = f"{name}_kind", f"{name}_value"
    st.session_state.setdefault(kind_key, "seed")
    st.session_state.setdefault(value_key, default_seed)
    col.radio(f"Endpoint {name}", latent.ENDPOINTS, key=kind_key, horizontal=True,
              help="A seed draws a fresh Gaussian latent; a fixed sample is one of the run's fixed latents "
                   "(the faces on the side-by-side page, counted from 0)")
    if st.session_state[kind_key] == "fixed sample":
        fixed, err = loaders.fixed_latents(info)
        top = (len(fixed) - 1) if fixed is not None else 0
        st.session_state[value_key] = min(int(st.session_state[value_key]), top)
        col.number_input("Sample #", 0, top, step=1, key=value_key)
        if fixed is None:
            col.caption(err)
    else:
        col.number_input("Seed", 0, 2**31 - 1, step=1, key=value_key)


def _endpoint(name: str, default_seed: int, info: RunInfo) -> torch.Tensor:
    """The latent endpoint `name` (A or B) stands for, read from its widgets (a seed before they are drawn)."""
    kind = st.session_state.get(f"{name}_kind", "seed")
    fixed = loaders.fixed_latents(info)[0] if kind == "fixed sample" else None
    return latent.endpoint(kind, int(st.session_state.get(f"{name}_value", default_seed)), loaders.z_dim(info), fixed)


@st.fragment
def _interpolation(runs: list[tuple[RunInfo, int]]) -> None:
    st.subheader("Interpolation")
    st.session_state.setdefault(METHOD, "slerp")
    st.session_state.setdefault(STEPS, 9)
    st.session_state.setdefault(T, 0.5)
    a, b, c = st.columns([2, 2, 3])
    info = runs[0][0]
    _endpoint_widgets(a, "A", 0, info)
    _endpoint_widgets(b, "B", 1, info)
    c.radio("Path", latent.METHODS, key=METHOD, horizontal=True,
            help="slerp follows the sphere where Gaussian latents live; lerp cuts through its inside")
    c.slider("Steps", 3, 16, key=STEPS)
    c.slider("t", 0.0, 1.0, step=0.05, key=T, help="A point on the path, drawn larger below for every run")
    steps, method, t = int(st.session_state[STEPS]), st.session_state[METHOD], float(st.session_state[T])
    z0, z1 = _endpoint("A", 0, info), _endpoint("B", 1, info)
    path = latent.interpolate(z0, z1, steps, method)
    at_t = latent.point(z0, z1, t, method).reshape(1, -1)
    picks, labels = [], []
    for r, used in runs:
        label, image = st.columns([1, 6], vertical_alignment="center")
        faces, err = loaders.generated(r, used, path, _asked(r, len(path)))
        if faces is None:
            label.markdown(common.run_title(r))
            image.error(err, icon=":material/broken_image:")
            continue
        spread = latent.path_spread(faces)
        verdict = " \u00b7 :red[collapsed: one face all along]" if spread < latent.COLLAPSE_SPREAD else ""
        label.markdown(f"{common.run_title(r)}  \niteration {used}  \nspread {spread:.1f}{verdict}")
        common.show(image, loaders.image_png(faces, steps, scale=common.scale_for(steps)))
        one, _ = loaders.generated(r, used, at_t, _asked(r, 1))
        if one is not None:
            picks.append(one[0])
            labels.append(r.model or r.name)
    if picks:
        common.show(st, loaders.image_png(np.stack(picks), len(picks), scale=common.scale_for(len(picks), 3), labels=labels),
                    f"every run at t = {t:.2f} on the {method} path")


@st.cache_data(max_entries=8, show_spinner=False)
def _principal(zdim: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    dirs, std = latent.principal_directions(random_latents(PCA_BATCH, zdim, PCA_SEED), k)
    return dirs.numpy(), std.numpy()


def _reset(keys: list[str]) -> None:
    for k in keys:
        st.session_state[k] = 0.0


@st.fragment
def _directions(runs: list[tuple[RunInfo, int]]) -> None:
    st.subheader("Latent directions")
    info = runs[0][0]
    zdim = loaders.z_dim(info)
    st.session_state.setdefault(SOURCE, SOURCES[0])
    st.session_state.setdefault(BASE, "endpoint A")
    a, b = st.columns([3, 2])
    a.radio("Directions", SOURCES, key=SOURCE, horizontal=True,
            help="Principal directions of 1024 Gaussian latents (seed 7), or single latent coordinates")
    b.radio("Starting from", ("endpoint A", "the point at t"), key=BASE, horizontal=True)
    if st.session_state[SOURCE] == SOURCES[0]:
        dirs_np, std = _principal(zdim, N_DIRECTIONS)
        dirs = torch.from_numpy(dirs_np)
        names = [f"PC{i + 1} (sd {s:.2f})" for i, s in enumerate(std)]
    else:
        if COORDS not in st.session_state or not all(0 <= c < zdim for c in st.session_state[COORDS]):
            st.session_state[COORDS] = list(range(min(N_DIRECTIONS, zdim)))
        st.multiselect("Coordinates", list(range(zdim)), key=COORDS, max_selections=5)
        coords = list(st.session_state[COORDS])
        dirs = latent.coordinate_directions(coords, zdim)
        names = [f"z[{c}]" for c in coords]
    if not names:
        st.caption("Pick coordinates to move along.")
        return
    source_tag = "pc" if st.session_state[SOURCE] == SOURCES[0] else "coord"
    keys = [f"amount_{source_tag}_{i}" for i in range(len(names))]
    cols = st.columns(len(names) + 1, vertical_alignment="bottom")
    for col, key, name in zip(cols, keys, names):
        st.session_state.setdefault(key, 0.0)
        col.slider(name, -3.0, 3.0, step=0.25, key=key)
    cols[-1].button("Reset", key="reset_directions", on_click=_reset, args=(keys,))
    base = _base_latent(info)
    z = latent.move(base, dirs, [float(st.session_state[k]) for k in keys]).reshape(1, -1)
    picks, labels = [], []
    for r, used in runs:
        faces, err = loaders.generated(r, used, z, _asked(r, 1))
        if faces is None:
            st.caption(f"{r.name}: {err}")
            continue
        picks.append(faces[0])
        labels.append(r.model or r.name)
    if picks:
        common.show(st, loaders.image_png(np.stack(picks), len(picks), scale=common.scale_for(len(picks), 3), labels=labels),
                    "every run at the moved latent")
    session.valid_choice(SWEEP, names)
    st.selectbox("Sweep along", names, key=SWEEP)
    d = dirs[names.index(st.session_state[SWEEP])]
    sweep = latent.sweep(z[0], d, SWEEP_AMOUNTS)
    for r, used in runs:
        faces, err = loaders.generated(r, used, sweep, _asked(r, len(sweep)))
        if faces is None:
            continue
        label, image = st.columns([1, 6], vertical_alignment="center")
        label.markdown(common.run_title(r))
        common.show(image, loaders.image_png(faces, len(SWEEP_AMOUNTS), scale=2,
                                             labels=[f"{x:+.0f}" for x in SWEEP_AMOUNTS]))


@st.fragment
def _emotions(runs: list[tuple[RunInfo, int]]) -> None:
    st.subheader("Emotions")
    cond = [(r, used) for r, used in runs if loaders.conditional(r)]
    if not cond:
        st.caption("Conditional models (M8) draw the emotion they are asked for; select one to see a face in all "
                   "seven emotions and a morph between two of them here.")
        return
    st.session_state.setdefault(MORPH_FROM, "happy")
    st.session_state.setdefault(MORPH_TO, "sad")
    a, b = st.columns(2)
    a.selectbox("Morph from", EMOTIONS, key=MORPH_FROM)
    b.selectbox("to", EMOTIONS, key=MORPH_TO)
    z = _base_latent(cond[0][0]).reshape(1, -1)
    t, weights = latent.emotion_morph(st.session_state[MORPH_FROM], st.session_state[MORPH_TO], MORPH_STEPS)
    for r, used in cond:
        every, err = loaders.generated(r, used, z.repeat(len(EMOTIONS), 1), np.arange(len(EMOTIONS)))
        morph, err2 = loaders.generated(r, used, z.repeat(MORPH_STEPS, 1), weights)
        label, image = st.columns([1, 6], vertical_alignment="center")
        label.markdown(f"{common.run_title(r)}  \niteration {used}")
        if every is None or morph is None:
            image.error(err or err2, icon=":material/broken_image:")
            continue
        common.show(image, loaders.image_png(every, len(EMOTIONS), scale=2, labels=list(EMOTIONS)),
                    "one latent (endpoint A, or the point at t), asked for each emotion")
        common.show(image, loaders.image_png(morph, MORPH_STEPS, scale=2, labels=[f"{x:.2f}" for x in t]),
                    f"{st.session_state[MORPH_FROM]} to {st.session_state[MORPH_TO]}")


def _base_latent(info: RunInfo) -> torch.Tensor:
    """Endpoint A, or the point at t on the current path (read from the interpolation's widgets)."""
    z0 = _endpoint("A", 0, info)
    if st.session_state.get(BASE) != "the point at t":
        return z0
    return latent.point(z0, _endpoint("B", 1, info), float(st.session_state.get(T, 0.5)),
                        st.session_state.get(METHOD, "slerp"))
