"""emogan.metrics.core: the Sample every metric reads, and the one-way imports of the metric modules."""

import ast
from pathlib import Path

import numpy as np
import pytest

from emogan.metrics import core
from emogan.metrics.core import make_sample


def test_a_sample_without_a_classifier_has_its_pixels_and_no_classifier_outputs():
    faces = np.random.default_rng(0).integers(0, 256, (30, 48, 48), dtype=np.uint8)
    sample = make_sample(faces, None)
    assert len(sample) == 30 and sample.pixels.shape == (30, 576)
    assert sample.features is None and sample.probs is None and sample.requested is None
    assert float(sample.pixels.min()) >= 0.0 and float(sample.pixels.max()) <= 1.0


def test_requested_emotions_must_match_the_faces():
    faces = np.zeros((4, 48, 48), dtype=np.uint8)
    assert make_sample(faces, None, requested=[0, 1, 2, 3]).requested.dtype == np.int64
    with pytest.raises(ValueError, match="3 requested emotions for 4 faces"):
        make_sample(faces, None, requested=[0, 1, 2])


@pytest.mark.parametrize("leaf", ["features", "diversity", "bins"])
def test_metric_modules_import_the_base_and_helpers_only(leaf):
    # One way: metrics -> base. A metric module that imported the suite, the reference or another metric module
    # would bring back the circular imports the suite exists to avoid.
    tree = ast.parse((Path(core.__file__).parent / f"{leaf}.py").read_text())
    siblings = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1}
    assert siblings <= {"core", "pixels", "stats"}, siblings
