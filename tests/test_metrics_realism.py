"""The realism metric (a classifier two-sample test) on known answers, with real FER2013 faces: real against real
scores near 50%, real against noise or against one face repeated near 100%; the protocol is seeded. Fewer
epochs than the protocol's, to keep the suite short: the answers do not depend on them. Its power on real models
(M2 at 5000 told from real faces at 90% or more) is benchmarks/realism_protocol.py's."""

from __future__ import annotations

import numpy as np
import pytest

from emogan.data import load_faces
from emogan.metrics.core import subset
from emogan.metrics.realism import MIN_FACES, floor, p_value, two_sample_accuracy

N = 300     # a side: 600 judgements, a standard error of 2 points at 50%
EPOCHS = 8


@pytest.fixture(scope="module")
def faces(full_fer_root):
    val = load_faces(full_fer_root, split="validation")
    train = load_faces(full_fer_root, split="train")
    return val.images[subset(len(val), N)], train.images[subset(len(train), N, seed=5)]


def test_real_faces_against_other_real_faces_score_near_chance(faces):
    real, other = faces
    acc = two_sample_accuracy(real, other, epochs=EPOCHS)
    assert 0.42 <= acc <= 0.58, acc          # 4 standard errors
    assert p_value(acc, 2 * N) > 0.001


def test_noise_and_a_single_repeated_face_are_told_apart_from_real_faces(faces):
    real, _ = faces
    noise = np.random.default_rng(0).integers(0, 256, size=real.shape, dtype=np.uint8)
    assert two_sample_accuracy(real, noise, epochs=EPOCHS) >= 0.98
    one_face = np.repeat(real[:1], N, axis=0)
    assert two_sample_accuracy(real[1:], one_face, epochs=EPOCHS) >= 0.95


def test_the_protocol_is_seeded_and_balances_the_sides(faces):
    real, other = faces
    assert two_sample_accuracy(real, other[:100], epochs=2) == two_sample_accuracy(real, other[:100], epochs=2)
    with pytest.raises(ValueError, match="at least"):
        two_sample_accuracy(real[:2], other[:2])
    assert np.isnan(floor(real[: MIN_FACES - 1], other))
