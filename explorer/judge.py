"""The optional emotion classifier ("judge"): its cached loader, each face's verdict, the emotion mix, and the one
line a page shows when there are no weights. torch and emogan.classifier are imported only once the judge is asked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from . import session
from .loaders import attempt, mtime

T = TypeVar("T")


def hint(folder: Path | None) -> str:
    from emogan.classifier import default_weights_dir
    where = folder if folder is not None else default_weights_dir()
    return (f"classifier weights not found at {where}; train them with python -m emogan classifier train"
            + (f" --out {where}" if folder is not None else ""))


@st.cache_resource(max_entries=2, show_spinner=False)
def _classifier(folder: str | None, stamp_: int) -> Any:
    from emogan.classifier import load_classifier
    return load_classifier(folder)


def _key() -> tuple[str | None, Path]:
    """The --classifier folder (None: the shipped one) and its weights file."""
    from emogan.classifier import default_weights_dir
    from emogan.classifier.files import WEIGHTS_FILE
    folder = session.config().classifier_dir
    return (str(folder) if folder is not None else None,
            (folder if folder is not None else default_weights_dir()) / WEIGHTS_FILE)


def classifier() -> tuple[Any, str]:
    """(classifier, '') or (None, one line saying where the weights were looked for and how to make them)."""
    folder, weights = _key()
    if not weights.is_file():
        from emogan.runs.checkpoint import PICKLE_SUFFIXES
        if weights.parent.is_dir() and any(p.suffix.lower() in PICKLE_SUFFIXES for p in weights.parent.iterdir()):
            # Pickle files are there: the loader's own line says they were refused and why.
            from emogan.classifier import load_classifier
            _, problem = attempt(load_classifier, folder)
            return None, problem or hint(session.config().classifier_dir)
        return None, hint(session.config().classifier_dir)
    return attempt(_classifier, folder, mtime(weights))


def enabled() -> bool:
    """The sidebar's judge toggle, after one info line when the classifier cannot be loaded (the page goes on)."""
    if not st.session_state.get(session.JUDGE):
        return False
    clf, note = classifier()
    if clf is None:
        st.info(note, icon=":material/info:")
        return False
    return True


@st.cache_data(max_entries=256, show_spinner=False)
def _judged(folder: str | None, stamp_: int, images: np.ndarray) -> pd.DataFrame:
    from emogan.classifier import judge
    return judge(images, _classifier(folder, stamp_))


@st.cache_data(max_entries=64, show_spinner=False)
def _distribution(folder: str | None, stamp_: int, images: np.ndarray) -> pd.DataFrame:
    from emogan.classifier import compare_with_prior
    return compare_with_prior(images, _classifier(folder, stamp_))


def _with_classifier(fn: Callable[..., T], images: np.ndarray) -> tuple[T | None, str]:
    clf, err = classifier()
    if clf is None:
        return None, err
    folder, weights = _key()
    return attempt(fn, folder, mtime(weights), np.ascontiguousarray(images))


def judged(images: np.ndarray) -> tuple[pd.DataFrame | None, str]:
    """Each face's predicted emotion and confidence, or the one-line reason there is none."""
    return _with_classifier(_judged, images)


def emotion_mix(images: np.ndarray) -> tuple[pd.DataFrame | None, str]:
    """Generated vs FER2013 emotion shares (index EMOTIONS), or the one-line reason there is none."""
    return _with_classifier(_distribution, images)
