"""Latent walks: endpoints, slerp/lerp paths, principal and coordinate directions, moving a latent, emotion morphs,
and path spread."""

import numpy as np
import pytest
import torch

from emogan.errors import DataError
from emogan.views.latent import (
    coordinate_directions,
    emotion_morph,
    endpoint,
    interpolate,
    lerp,
    move,
    path_spread,
    point,
    principal_directions,
    seed_latent,
    slerp,
    sweep,
)


@pytest.fixture
def pair():
    g = torch.Generator().manual_seed(0)
    return torch.randn(100, generator=g), torch.randn(100, generator=g)


def test_paths_start_and_end_at_the_endpoints(pair):
    z0, z1 = pair
    for method in ("slerp", "lerp"):
        path = interpolate(z0, z1, 9, method)
        assert path.shape == (9, 100)
        torch.testing.assert_close(path[0], z0)
        torch.testing.assert_close(path[-1], z1)


def test_slerp_stays_on_the_shell_where_lerp_cuts_inside(pair):
    z0, z1 = pair
    mid_s, mid_l = slerp(z0, z1, 0.5), lerp(z0, z1, 0.5)
    assert mid_s.norm() == pytest.approx(float((z0.norm() + z1.norm()) / 2), rel=1e-5)
    assert mid_l.norm() < 0.8 * mid_s.norm()            # two near-orthogonal Gaussian vectors: ~1/sqrt(2) shorter
    # Equal angular steps: consecutive points of a slerp path are equally far apart when the norms are equal.
    u0, u1 = z0 / z0.norm() * 10, z1 / z1.norm() * 10
    steps = interpolate(u0, u1, 7, "slerp").diff(dim=0).norm(dim=1)
    torch.testing.assert_close(steps, steps.mean().expand_as(steps), rtol=1e-4, atol=1e-4)


def test_slerp_of_parallel_vectors_falls_back_to_lerp(pair):
    z0, _ = pair
    torch.testing.assert_close(slerp(z0, 2 * z0, 0.5), 1.5 * z0)
    torch.testing.assert_close(slerp(torch.zeros(100), z0, 0.25), 0.25 * z0)


def test_bad_paths_are_refused(pair):
    with pytest.raises(ValueError, match="unknown interpolation"):
        interpolate(*pair, 5, "cubic")
    with pytest.raises(ValueError, match="at least 2 steps"):
        interpolate(*pair, 1)


def test_principal_directions_find_the_stretched_axes():
    g = torch.Generator().manual_seed(1)
    batch = torch.randn(2000, 20, generator=g)
    batch[:, 3] *= 5.0
    batch[:, 7] *= 3.0
    dirs, std = principal_directions(batch, 3)
    assert dirs.shape == (3, 20)
    torch.testing.assert_close(dirs.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(dirs @ dirs.T, torch.eye(3), atol=1e-5, rtol=0)
    assert abs(float(dirs[0, 3])) > 0.99 and abs(float(dirs[1, 7])) > 0.99
    assert float(std[0]) == pytest.approx(5.0, rel=0.1) and float(std[1]) == pytest.approx(3.0, rel=0.1)
    assert (dirs.gather(1, dirs.abs().argmax(1, keepdim=True)) > 0).all()   # signs fixed: stable sliders


def test_coordinates_move_and_sweep():
    dirs = coordinate_directions([0, 2], 4)
    torch.testing.assert_close(dirs, torch.tensor([[1.0, 0, 0, 0], [0, 0, 1.0, 0]]))
    z = torch.zeros(4)
    torch.testing.assert_close(move(z, dirs, [1.5, -2.0]), torch.tensor([1.5, 0, -2.0, 0]))
    torch.testing.assert_close(sweep(z, dirs[1], [-1.0, 0.0, 1.0])[:, 2], torch.tensor([-1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="outside 0..3"):
        coordinate_directions([4], 4)
    with pytest.raises(ValueError, match="1 amounts for 2 directions"):
        move(z, dirs, [1.0])


def test_seed_latent_is_reproducible():
    torch.testing.assert_close(seed_latent(5), seed_latent(5))
    assert not torch.equal(seed_latent(5), seed_latent(6))


def test_path_spread_is_zero_for_one_face_and_large_for_changing_faces():
    rng = np.random.default_rng(0)
    face = rng.integers(0, 256, (48, 48), dtype=np.uint8)
    assert path_spread(np.stack([face] * 9)) == 0.0
    assert path_spread(rng.integers(0, 256, (9, 48, 48), dtype=np.uint8)) > 50
    assert path_spread(face[None]) == 0.0


def test_an_endpoint_is_a_fixed_latent_when_there_is_one_else_a_seed():
    fixed = torch.randn(4, 100, generator=torch.Generator().manual_seed(2))
    z = endpoint("fixed sample", 3, 100, fixed)
    torch.testing.assert_close(z, fixed[3])
    z[0] = 99.0                                          # a copy: moving it leaves the run's latents alone
    assert fixed[3, 0] != 99.0
    torch.testing.assert_close(endpoint("seed", 3, 100, fixed), seed_latent(3))
    torch.testing.assert_close(endpoint("fixed sample", 4, 100, fixed), seed_latent(4))    # past the last one
    torch.testing.assert_close(endpoint("fixed sample", 1, 100, None), seed_latent(1))     # latents unreadable
    with pytest.raises(ValueError, match="unknown endpoint kind 'sample'"):
        endpoint("sample", 0, 100)


def test_the_point_at_t_lies_on_the_path(pair):
    z0, z1 = pair
    for method in ("slerp", "lerp"):
        torch.testing.assert_close(point(z0, z1, 0.25, method), interpolate(z0, z1, 5, method)[1])
    with pytest.raises(ValueError, match="unknown interpolation"):
        point(z0, z1, 0.5, "cubic")


def test_an_emotion_morph_runs_from_one_one_hot_to_the_other():
    t, w = emotion_morph("happy", "sad", 5)
    assert t.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0] and w.shape == (5, 7) and w.dtype == np.float32
    np.testing.assert_allclose(w.sum(1), 1.0)
    assert w[0].argmax() == 3 and w[0].max() == 1.0          # happy
    assert w[-1].argmax() == 4 and w[-1].max() == 1.0        # sad
    np.testing.assert_allclose(w[2, [3, 4]], [0.5, 0.5])
    assert emotion_morph("angry", "angry", 3)[1].tolist() == [[1.0] + [0.0] * 6] * 3
    with pytest.raises(DataError, match="unknown emotion 'joy'"):
        emotion_morph("joy", "sad", 5)
    with pytest.raises(ValueError, match="at least 2 steps"):
        emotion_morph("happy", "sad", 1)
