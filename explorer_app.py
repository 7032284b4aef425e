"""EmoGAN Explorer, the Streamlit entry: `streamlit run explorer_app.py [-- --runs DIR] [--classifier DIR]`.

It only declares the pages; each page is a small function in `explorer/`, and all computation lives in `emogan`."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Callable, Sequence

import streamlit as st
import torch

from explorer import latent_page, losses_page, side_by_side, sidebar, state, timeline

HERE = Path(__file__).resolve().parent
DEFAULT_RUNS = HERE / "checkpoints"   # next to the app, not wherever it was started from


def parse_args(argv: Sequence[str]) -> state.AppConfig:
    """Options after `--` on the streamlit command line; anything else on it is ignored."""
    p = argparse.ArgumentParser(prog="explorer_app.py", add_help=False)
    p.add_argument("--runs", default=str(DEFAULT_RUNS), help="runs root (default: checkpoints/ next to this file)")
    p.add_argument("--classifier", default=None, help="folder of classifier weights (default: checkpoints/classifier)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1, see below)")
    args, _ = p.parse_known_args([a for a in argv if a != "--"])
    return state.AppConfig(Path(args.runs).expanduser(),
                           Path(args.classifier).expanduser() if args.classifier else None, max(1, args.threads))


def _mode_collapse_page() -> Callable[[], None] | None:
    """The mode-collapse page lives in its own module, written separately: registered only when it exists."""
    if importlib.util.find_spec("explorer.mode_collapse") is None:
        return None
    try:
        module = importlib.import_module("explorer.mode_collapse")
        return module.page
    except Exception as e:  # noqa: BLE001 - a broken page must not take the other pages down
        message = f"the mode collapse page cannot be loaded: {type(e).__name__}: {state.one_line(e)}"

        def broken() -> None:
            st.header("Mode collapse")
            st.error(message)
        return broken


def pages(start: str | None = None) -> list[st.Page]:
    entries: list[tuple[Callable[[], None], str, str, str]] = [
        (losses_page.page, "Runs and losses", "losses", ":material/show_chart:"),
        (side_by_side.page, "Side by side", "side-by-side", ":material/grid_view:"),
        (timeline.page, "Timeline", "timeline", ":material/movie:"),
        (latent_page.page, "Latent space", "latent", ":material/linear_scale:"),
    ]
    collapse = _mode_collapse_page()
    if collapse is not None:
        entries.append((collapse, "Mode collapse", "mode-collapse", ":material/blur_on:"))
    start = start or "losses"
    return [st.Page(fn, title=title, url_path=url, icon=icon, default=(url == start)) for fn, title, url, icon in entries]


def main(argv: Sequence[str] | None = None, start: str | None = None) -> None:
    """Draw the app; `start` picks the default page (tests open each page directly)."""
    # No page_icon: a material or emoji icon makes the browser fetch it from a CDN, which stalls offline machines.
    st.set_page_config(page_title="EmoGAN Explorer", layout="wide")
    state.configure(parse_args(sys.argv[1:] if argv is None else argv))
    nav = st.navigation(pages(start))
    sidebar.render()
    nav.run()


if __name__ == "__main__":
    # The app runs small batches (a few latents per model). Intra-op threads gain little there, and on a busy CPU
    # their spin-waits made six generators 5-10x slower on the 2-core test machine; Streamlit runs each session in
    # its own thread, so sessions still use every core. Set here, not in main(), so tests keep their own setting.
    torch.set_num_threads(parse_args(sys.argv[1:]).threads)
    main()
