"""What every page shares: its title with the selected runs' problems, run labels, and how faces are sized and shown."""

from __future__ import annotations

import streamlit as st

from emogan.runs.catalog import RunInfo

from . import loaders, session

MAX_DAMAGED_LINES = 3   # more damaged folders are summed up in one line; the sidebar lists them all
MAX_IMAGE_PX = 1400     # Streamlit re-encodes (and blurs) images wider than its 1460 px content limit


def begin(title: str, caption: str = "", snapshots: bool = True) -> session.Selection | None:
    """Draw the page title and the problems; None (after a one-line message) when there is nothing to show.
    `snapshots=False`: the page draws runs that have none yet (a loss log starts before the first snapshot)."""
    st.header(title)
    if caption:
        st.caption(caption)
    sel = session.selection()
    for d in sel.damaged[:MAX_DAMAGED_LINES]:
        st.warning(f"Skipped damaged run {d.name}: {d.error}", icon=":material/broken_image:")
    if len(sel.damaged) > MAX_DAMAGED_LINES:
        st.warning(f"... and {len(sel.damaged) - MAX_DAMAGED_LINES} more damaged runs, listed in the sidebar")
    early = not snapshots and sel.runs and not sel.options
    if (sel.problem and not early) or not sel.runs:
        st.info(sel.problem or "No run selected: pick runs in the sidebar", icon=":material/info:")
        return None
    for line in loaders.run_problems(sel.runs):
        st.warning(line, icon=":material/warning:")
    return sel


def run_picker(runs: list[RunInfo], key: str, label: str = "Run", container=st) -> RunInfo:
    """One of `runs`, chosen by name in a select box whose choice stays valid as the selection changes."""
    names = [r.name for r in runs]
    session.valid_choice(key, names)
    return runs[names.index(container.selectbox(label, names, key=key))]


def run_title(info: RunInfo) -> str:
    """'**M1** `M1-all-s0`': the model id first (what the user compares), then the run folder."""
    return f"**{info.model}** `{info.name}`" if info.model and info.model != info.name else f"**{info.name}**"


def scale_for(ncols: int, largest: int = 2) -> int:
    """The largest integer zoom (at most `largest`) that keeps a row of ncols faces within MAX_IMAGE_PX."""
    return max(1, min(largest, MAX_IMAGE_PX // (max(1, ncols) * 50)))


def show(container, png: bytes, caption: str | None = None) -> None:
    """An image made by emogan.views.gallery, sent as the PNG it is (Streamlit's default would make it a lossy JPEG)."""
    container.image(png, caption=caption, output_format="PNG")
