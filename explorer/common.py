"""What every page starts with: its title, the one-line problems of the selected runs, and shared labels."""

from __future__ import annotations

import streamlit as st

from emogan.catalog import RunInfo

from . import state

MAX_DAMAGED_LINES = 3   # more damaged folders are summed up in one line; the sidebar lists them all
MAX_IMAGE_PX = 1400     # Streamlit re-encodes (and blurs) images wider than its 1460 px content limit


def begin(title: str, caption: str = "") -> state.Selection | None:
    """Draw the page title and the problems; None (after a one-line message) when there is nothing to show."""
    st.header(title)
    if caption:
        st.caption(caption)
    sel = state.selection()
    for d in sel.damaged[:MAX_DAMAGED_LINES]:
        st.warning(f"Skipped damaged run {d.name}: {d.error}", icon=":material/broken_image:")
    if len(sel.damaged) > MAX_DAMAGED_LINES:
        st.warning(f"... and {len(sel.damaged) - MAX_DAMAGED_LINES} more damaged runs, listed in the sidebar")
    if sel.problem or not sel.runs:
        st.info(sel.problem or "No run selected: pick runs in the sidebar", icon=":material/info:")
        return None
    for line in state.run_problems(sel.runs):
        st.warning(line, icon=":material/warning:")
    return sel


def run_title(info: RunInfo) -> str:
    """'**M1** `M1-all-s0`': the model id first (what the user compares), then the run folder."""
    return f"**{info.model}** `{info.name}`" if info.model and info.model != info.name else f"**{info.name}**"


def judge_enabled() -> bool:
    """The judge toggle, after one info line when the classifier cannot be loaded (the page goes on without it)."""
    if not st.session_state.get(state.JUDGE):
        return False
    clf, note = state.classifier()
    if clf is None:
        st.info(note, icon=":material/info:")
        return False
    return True


def scale_for(ncols: int, largest: int = 2) -> int:
    """The largest integer zoom (at most `largest`) that keeps a row of ncols faces within MAX_IMAGE_PX."""
    return max(1, min(largest, MAX_IMAGE_PX // (max(1, ncols) * 50)))


def show(container, png: bytes, caption: str | None = None) -> None:
    """An image made by emogan.gallery, sent as the PNG it is (Streamlit's default would make it a lossy JPEG)."""
    container.image(png, caption=caption, output_format="PNG")
