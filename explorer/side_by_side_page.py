"""Page 2, side by side: every selected run at the current iteration drawing the same fixed latents, face for face."""

from __future__ import annotations

import streamlit as st

from emogan.emotions import EMOTIONS, asked_hits
from emogan.views import gallery

from . import charts, common, judge, loaders, session

N_FACES = "sbs_n"
PER_ROW = "sbs_per_row"
MIX_RUN = "mix_run"
MIX_N = "mix_n"
ASKED = "sbs_asked"
IN_TURN = "in turn (the stored grids)"
COUNTS = (4, 8, 16, 32, 64)
MIX_SEED = 2024   # the emotion mix uses fresh latents (not the fixed ones), the same for every model


def page() -> None:
    sel = common.begin("Side by side",
                       "Each row is one run at the current iteration; every run draws the same fixed latent vectors, "
                       "so a column compares the models face for face.")
    if sel is None:
        return
    _grid()
    if st.session_state.get(session.JUDGE):
        _emotion_mix()


def _counts(sel: session.Selection) -> list[int]:
    most = 0
    for r in sel.runs:
        _, faces, _ = loaders.faces(r, session.current_iteration())
        most = max(most, len(faces) if faces is not None else 0)
    return [c for c in COUNTS if c <= most] or [most or 4]


@st.fragment
def _grid() -> None:
    sel = session.selection()
    iteration = session.current_iteration()
    counts = _counts(sel)
    session.valid_choice(N_FACES, counts, 16 if 16 in counts else counts[-1])
    session.valid_choice(PER_ROW, (4, 8, 16), 16)
    c1, c2 = st.columns(2)
    if len(counts) > 1:
        c1.select_slider("Faces per run", counts, key=N_FACES)
    c2.select_slider("Faces per row", (4, 8, 16), key=PER_ROW)
    n, per_row = int(st.session_state[N_FACES]), int(st.session_state[PER_ROW])
    if any(loaders.conditional(r) for r in sel.runs):
        session.valid_choice(ASKED, (IN_TURN, *EMOTIONS), IN_TURN)
        st.selectbox("Emotion asked of conditional models", (IN_TURN, *EMOTIONS), key=ASKED,
                     help="Conditional models (M8) draw the fixed latents asked for this emotion (at the nearest "
                          "iteration with weights); in turn, their grids show face i asked for emotion i mod 7")
    judging = judge.enabled()
    if judging:
        per_row = min(per_row, 8)      # a verdict ('hap 83%') needs ~2x a 48-pixel face's width
    st.markdown(f"#### Iteration {iteration}")
    own = [r.name for r in sel.runs if not loaders.paired(r)]
    if own and len(own) < len(sel.runs):
        st.caption(f"Faces not paired: {', '.join(own)} drew latents of its own (another latent size or prior), so "
                   "its columns are not the same latents as the other runs'.")
    asked = st.session_state.get(ASKED, IN_TURN)
    for r in sel.runs:
        label, image = st.columns([1, 6], vertical_alignment="center")
        if asked != IN_TURN and loaders.conditional(r):
            _asked_row(r, iteration, n, per_row, asked, label, image)
            continue
        used, faces, err = loaders.faces(r, iteration, n)
        lines = [common.run_title(r)]
        if not loaders.paired(r):
            lines.append(":orange[its own latents: faces not paired]")
        if used is not None:
            lines.append(f"iteration {used}")
            losses = loaders.loss_labels(r, used)
            if losses:
                lines.append(losses)
            note = gallery.snap_note(used, iteration)
            if note:
                lines.append(f":orange[{note}]")
        label.markdown("  \n".join(lines))
        if err:
            image.error(err, icon=":material/broken_image:")
            continue
        labels = None
        if judging:
            verdict, jerr = judge.judged(faces)
            if verdict is not None:
                labels = gallery.emotion_labels(verdict["emotion"], verdict["confidence"])
                if loaders.conditional(r):
                    label.caption(_asked_note(list(verdict["emotion"])))
            else:
                label.caption(jerr)
        png, perr = loaders.faces_png(r, used, n, min(per_row, n), scale=common.scale_for(min(per_row, n)),
                                      labels=labels)
        if png is None:
            image.error(perr)
        else:
            common.show(image, png)


def _asked_row(r, iteration: int, n: int, per_row: int, asked: str, label, image) -> None:
    """A conditional run's fixed latents asked for one emotion, drawn by its generator."""
    import numpy as np

    used, note = loaders.weights_iteration(r, iteration)
    z, zerr = loaders.fixed_latents(r)
    lines = [common.run_title(r), f"iteration {used}, asked for {asked}" if used is not None else ""]
    if note:
        lines.append(f":orange[{note}]")
    label.markdown("  \n".join(x for x in lines if x))
    if used is None or z is None:
        image.error(note or zerr, icon=":material/broken_image:")
        return
    faces, err = loaders.generated(r, used, z[:n], np.full(min(n, len(z)), EMOTIONS.index(asked)))
    if faces is None:
        image.error(err, icon=":material/broken_image:")
        return
    labels = None
    if judge.enabled():
        verdict, jerr = judge.judged(faces)
        if verdict is not None:
            labels = gallery.emotion_labels(verdict["emotion"], verdict["confidence"])
            label.caption(f"judged as asked: {int((verdict['emotion'] == asked).sum())}/{len(faces)}")
    cols = min(per_row, len(faces))
    common.show(image, loaders.image_png(faces, cols, scale=common.scale_for(cols), labels=labels))


def _asked_note(judged: list[str]) -> str:
    """How often a conditional run's grid faces show the emotion they were asked for (face i: emotion i mod 7)."""
    return (f"asked for the emotions in turn ({', '.join(e[:3] for e in EMOTIONS)}); judged as asked: "
            f"{asked_hits(judged)}/{len(judged)}")


@st.fragment
def _emotion_mix() -> None:
    """The current model's emotion mix among fresh samples beside FER2013's (needs its weights and the classifier)."""
    from emogan.sampling import prior_labels, random_latents
    sel = session.selection()
    iteration = session.current_iteration()
    if judge.classifier()[0] is None:    # the grid above already said why, in one line
        return
    st.subheader("Emotion mix")
    session.valid_choice(MIX_N, (64, 256, 1024), 256)
    c1, c2 = st.columns(2)
    info = common.run_picker(sel.runs, MIX_RUN, container=c1)
    c2.select_slider("Samples", (64, 256, 1024), key=MIX_N)
    wit, note = loaders.weights_iteration(info, iteration)
    if wit is None:
        st.info(note)
        return
    if note:
        st.caption(f"The emotion mix {note}.")
    n = int(st.session_state[MIX_N])
    z = random_latents(n, loaders.z_dim(info), MIX_SEED)
    asked = None
    if loaders.conditional(info):
        # Asked for emotions in FER2013's training mix, so its bars can match FER2013's if it draws what it is asked.
        asked = prior_labels(n, MIX_SEED)
        st.caption(f"{info.model} is conditional: it was asked for emotions in FER2013's training mix.")
    faces, err = loaders.generated(info, wit, z, asked)
    if faces is None:
        st.error(err)
        return
    mix, err = judge.emotion_mix(faces)
    if mix is None:
        st.info(err)
        return
    charts.show(charts.emotion_chart(mix, f"{info.model} at iteration {wit}: predicted emotions of "
                                          f"{len(faces)} samples vs FER2013 train"), "emotion_mix")
