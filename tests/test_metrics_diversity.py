"""emogan.metrics.diversity: MS-SSIM of pairs, the duplicate rate and the birthday-paradox estimate on faces
whose answer is known."""

import numpy as np
import pytest

from emogan.data import load_faces
from emogan.metrics.diversity import duplicate_stats, msssim_pairs, random_pairs
from emogan.metrics.pixels import pixel_vectors


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    from tiny import FIXTURE
    return load_faces(FIXTURE, "validation", cache_dir=tmp_path_factory.mktemp("cache")).images


def test_random_pairs_are_fixed_disjoint_and_never_a_face_with_itself():
    p = random_pairs(11)
    assert p.shape == (5, 2) and len(set(p.ravel().tolist())) == 10 and p.min() >= 0 and p.max() < 11
    assert (p == random_pairs(11)).all() and len(random_pairs(1)) == 0


def test_msssim_is_one_for_identical_faces_and_low_for_real_pairs(faces):
    assert msssim_pairs(np.repeat(faces[:1], 10, 0)) == pytest.approx(1.0, abs=1e-4)
    real = msssim_pairs(faces)
    assert 0.0 < real < 0.3
    # Small pixel noise barely moves it: MS-SSIM compares structure, not exact values.
    noisy = np.clip(np.repeat(faces[:1], 10, 0) + np.random.default_rng(0).normal(0, 3, (10, 48, 48)), 0, 255)
    assert msssim_pairs(noisy.astype(np.uint8)) > 0.95


def _groups(faces, m, n):
    """n faces drawn evenly from m distinct real faces: exactly m * C(n/m, 2) near-identical pairs."""
    return faces[np.arange(n) % m]


@pytest.mark.parametrize("m", [1, 4, 10])
def test_duplicate_rate_and_birthday_support_of_m_distinct_faces(faces, m):
    n = 200
    got = duplicate_stats(pixel_vectors(_groups(faces, m, n)))
    per = n // m
    assert got["duplicate_rate"] == pytest.approx(m * per * (per - 1) / 2 / (n * (n - 1) / 2))
    # For a uniform draw from m faces, P(duplicate in a batch of s) = 1/2 near s = 1.18 sqrt(m): s^2 ~ 1.4 m.
    assert m <= got["birthday_support"] <= 4 * m + 4


def test_distinct_real_faces_have_no_duplicates_and_no_support_estimate(tmp_path):
    from tiny import FIXTURE
    # The 84 training faces of the fixture hold no repeated face (its validation faces do: FER2013 has some).
    train = load_faces(FIXTURE, "train", cache_dir=tmp_path).images
    got = duplicate_stats(pixel_vectors(train))
    assert got == {"duplicate_rate": 0.0, "birthday_batch": None, "birthday_support": None}
