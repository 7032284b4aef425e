"""Page 3, timeline: the runs at the current snapshot (play it from the sidebar), one run's evolution strip, and the
change since the previous snapshot that makes mode hopping visible."""

from __future__ import annotations

import streamlit as st

from emogan.errors import EmoganError, first_line
from emogan.runs.store import Run
from emogan.views import animation, gallery
from emogan.views.animation import slide_iterations

from . import charts, common, loaders, session

K_NOW = "tl_k"
SHOW_CHANGE = "tl_change"
EVO_RUN = "evo_run"
EVO_K = "evo_k"
GIF = "tl_gif"            # (what it shows, GIF bytes or None, one-line reason): made on request, not per rerun


def page() -> None:
    sel = common.begin("Timeline",
                       "Move through the snapshots with the sidebar's iteration control, Back/Next, or Play. "
                       "The change view shows how much each fixed latent's face moved since the previous snapshot: "
                       "a generator hopping between modes lights up all at once.")
    if sel is None:
        return
    st.session_state.setdefault(SHOW_CHANGE, False)
    st.toggle("Change since previous snapshot", key=SHOW_CHANGE)
    _now()
    _animation()
    _evolution()
    if st.session_state[SHOW_CHANGE]:
        _profile()


@st.fragment
def _now() -> None:
    sel = session.selection()
    iteration = session.current_iteration()
    show_change = bool(st.session_state.get(SHOW_CHANGE))
    session.valid_choice(K_NOW, (4, 8, 16), 8)
    head, ctrl = st.columns([3, 1], vertical_alignment="bottom")
    lo, hi = st.session_state.get(session.RANGE) or (sel.options[0], sel.options[-1])
    head.markdown(f"#### Iteration {iteration} \u00b7 range {lo}..{hi}")
    ctrl.select_slider("Faces", (4, 8, 16), key=K_NOW)
    k = int(st.session_state[K_NOW])
    for r in sel.runs:
        cols = st.columns([1.3, 4, 4] if show_change else [1.3, 8], vertical_alignment="center")
        used, _, err = loaders.faces(r, iteration, k)
        title = [common.run_title(r)]
        if used is not None and used != iteration:
            title.append(f":orange[{gallery.snap_note(used, iteration)}]")
        cols[0].markdown("  \n".join(title))
        if err:
            cols[1].error(err, icon=":material/broken_image:")
            continue
        png, perr = loaders.faces_png(r, used, k, k, scale=common.scale_for(k))
        if png is None:
            cols[1].error(perr)
        else:
            common.show(cols[1], png)
        if show_change:
            got, cerr = loaders.change_png(r, used, k, k, scale=common.scale_for(k))
            if cerr:
                cols[2].error(cerr)
            elif got is None:
                cols[2].caption("first snapshot: nothing to compare with")
            else:
                prev, mean, heat_png = got
                common.show(cols[2], heat_png, f"since {prev}: mean change {mean:.1f} grey levels")


@st.fragment
def _animation() -> None:
    """The selected runs' faces at every snapshot of the range as a GIF, a frame per snapshot: seconds of work for a
    long range, so it is made when asked for and kept until the runs, range or number of faces change."""
    sel = session.selection()
    its = session.in_range(sel.options)
    if not its:
        return
    k = int(st.session_state.get(K_NOW) or 8)
    want = (tuple(str(r.path) for r in sel.runs), tuple(its), k)
    c1, c2 = st.columns([1, 3], vertical_alignment="center")
    if c1.button(f"Make GIF ({len(its)} snapshots)", key="tl_make_gif", icon=":material/animation:",
                 help="The runs above, a row each, at every snapshot of the sidebar's range"):
        try:
            st.session_state[GIF] = (want, animation.gif_bytes(animation.frames([Run(p) for p in want[0]], its, k)), "")
        except EmoganError as e:
            st.session_state[GIF] = (want, None, first_line(e))
    made = st.session_state.get(GIF)
    if made and made[0] == want:
        if made[1] is None:
            c2.error(made[2], icon=":material/broken_image:")
        else:
            c2.download_button("Download GIF", made[1], file_name=f"timeline-{its[0]}-{its[-1]}.gif",
                               mime="image/gif", icon=":material/download:", key="tl_gif_download")


@st.fragment
def _evolution() -> None:
    sel = session.selection()
    st.subheader("Evolution")
    session.valid_choice(EVO_K, (1, 2, 4, 8, 16), 4)
    c1, c2, c3 = st.columns([1, 3, 1])
    info = common.run_picker(sel.runs, EVO_RUN, container=c1)
    options = loaders.snapshots(info)
    if not options:
        st.info(f"{info.name} has no snapshots yet")
        return
    key = f"evo_its::{info.name}"
    if key not in st.session_state or not set(st.session_state[key]) <= set(options):
        st.session_state[key] = slide_iterations(options)
    c2.multiselect("Iterations", options, key=key, help="Default: 950, 1900, 2950, 4110, 4700, 4850 as in the "
                                                       "original slides (the nearest snapshots)")
    c3.select_slider("Faces", (1, 2, 4, 8, 16), key=EVO_K)
    its = sorted(st.session_state[key])
    if not its:
        st.caption("Pick iterations to compare.")
        return
    show_change = bool(st.session_state.get(SHOW_CHANGE))
    got, err = loaders.evolution_png(info, its, int(st.session_state[EVO_K]), scale=common.scale_for(len(its)),
                                     with_change=show_change)
    if got is None:
        st.error(err, icon=":material/broken_image:")
        return
    used, image, change_image = got
    common.show(st, image, f"{info.name}: the same fixed latents at iterations {', '.join(map(str, used))}")
    st.download_button("Download strip (PNG)", image, file_name=f"{info.name}-evolution.png", mime="image/png",
                       icon=":material/download:", key="evo_png")
    if change_image is not None:
        common.show(st, change_image, "change of each face since the snapshot before (brighter: more change)")


def _profile() -> None:
    sel = session.selection()
    profiles, problems = {}, []
    for r in sel.runs:
        df, err = loaders.change_profile(r)
        if df is None:
            problems.append(f"{r.name}: {err}")
        else:
            profiles[r.name] = df
    for p in problems:
        st.caption(p)
    if not profiles:
        return
    chart = charts.profile_chart(profiles, {r.name: r.model for r in sel.runs}, iteration=session.current_iteration())
    charts.show(chart, "change_profile", on_click=session.on_chart_click)
