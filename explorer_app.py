"""EmoGAN Explorer, the Streamlit entry: `streamlit run explorer_app.py [-- --runs DIR] [--classifier DIR]`.

It only declares the pages; each page is a small function in `explorer/`, and all computation lives in `emogan`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st

from explorer import session, sidebar, warmup

HERE = Path(__file__).resolve().parent
DEFAULT_RUNS = HERE / "checkpoints"   # next to the app, not wherever it was started from

# (module in explorer/, title, url path). A page's module is imported when the page is first drawn, so the landing
# page never waits for the libraries only other pages use (torch for generators, the metrics' own). No page icons:
# Streamlit's material icons are fetched from fonts.gstatic.com, and the app talks to nothing but its own server.
PAGES = (
    ("losses_page", "Runs and losses", "losses"),
    ("side_by_side_page", "Side by side", "side-by-side"),
    ("timeline_page", "Timeline", "timeline"),
    ("latent_page", "Latent space", "latent"),
    ("mode_collapse_page", "Mode collapse", "mode-collapse"),
    ("real_or_fake_page", "Real or fake?", "real-or-fake"),
    ("train_page", "Train", "train"),
)
ROOT = "start"      # the hidden page at the root address, which opens the first page at its own address


def parse_args(argv: Sequence[str]) -> session.AppConfig:
    """Options after `--` on the streamlit command line; anything else on it is ignored."""
    p = argparse.ArgumentParser(prog="explorer_app.py", add_help=False)
    p.add_argument("--runs", default=str(DEFAULT_RUNS), help="runs root (default: checkpoints/ next to this file)")
    p.add_argument("--classifier", default=None, help="folder of classifier weights (default: checkpoints/classifier)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1, see below)")
    p.add_argument("--data", default=os.environ.get("EMOGAN_DATA"), help="FER2013 for the Train page")
    p.add_argument("--allow-training", action="store_true",
                   help="let the Train page start and stop runs when the app is served beyond localhost")
    args, _ = p.parse_known_args([a for a in argv if a != "--"])
    return session.AppConfig(Path(args.runs).expanduser(),
                             Path(args.classifier).expanduser() if args.classifier else None, max(1, args.threads),
                             args.data, args.allow_training)


def _page(module: str) -> Callable[[], None]:
    def draw() -> None:
        with warmup.drawing_page():
            importlib.import_module(f"explorer.{module}").page()
    return draw


def pages(start: str | None = None) -> list[st.Page]:
    """Every page at its own address, and a hidden one at the root address that sends the browser on to `start`'s
    (default: the first page's). Streamlit serves its default page at the root only: were a page of PAGES the
    default, its own address would open "Page not found"."""
    start = start or PAGES[0][2]
    own = {url: st.Page(_page(module), title=title, url_path=url) for module, title, url in PAGES}
    target = own[start]

    def to_start() -> None:
        st.switch_page(target, query_params=st.query_params.to_dict())

    return [*own.values(), st.Page(to_start, title=target.title, url_path=ROOT, default=True, visibility="hidden")]


def limit_torch_threads(n: int) -> None:
    """torch's intra-op threads: read by torch from OMP_NUM_THREADS when it is imported, and set now if it is loaded.

    Every script run calls this, and the warm-up may be importing torch in another thread meanwhile: a torch module
    still being initialised has no set_num_threads yet (the variable, set by the first run, already holds)."""
    os.environ["OMP_NUM_THREADS"] = str(n)
    set_threads = getattr(sys.modules.get("torch"), "set_num_threads", None)
    if set_threads is not None:
        set_threads(n)


def main(argv: Sequence[str] | None = None, start: str | None = None) -> None:
    """Draw the app; `start` picks the default page (tests open each page directly)."""
    # No page_icon: a material or emoji icon makes the browser fetch it from a CDN, which stalls offline machines.
    st.set_page_config(page_title="EmoGAN Explorer", layout="wide")
    session.configure(parse_args(sys.argv[1:] if argv is None else argv))
    nav = st.navigation(pages(start))
    if nav.url_path == "":
        nav.run()       # the root address: on to the start page's own before anything is drawn
    sidebar.render(watch_losses=nav.url_path == "losses")
    nav.run()


def warm_up() -> None:
    """After the first page is drawn, load every page's module in the background (see explorer/warmup.py)."""
    warmup.start([f"explorer.{module}" for module, _, _ in PAGES])


if __name__ == "__main__":
    # The app runs small batches (a few latents per model): intra-op threads gain little there and their spin-waits
    # slow a busy CPU, while Streamlit's sessions, each a thread, still use every core. Not in main(): tests keep
    # their own setting.
    limit_torch_threads(parse_args(sys.argv[1:]).threads)
    main()
    warm_up()       # not in main(): tests measure and check each page's own imports
