"""emogan.metrics.pixels: the 24x24 pixel space and its chunked distances agree with brute force."""

import numpy as np
import pytest
import torch

from emogan.metrics import pixels
from emogan.metrics.pixels import close_pairs, closest_pairs, nearest, pixel_vectors, rms_distances


def test_pixel_vectors_pool_and_scale():
    faces = np.zeros((2, 48, 48), np.uint8)
    faces[1] = 255
    faces[0, :2, :2] = [[0, 255], [255, 255]]          # one 2x2 block averages to 0.75
    x = pixel_vectors(faces)
    assert x.shape == (2, 576) and x.dtype == torch.float32
    assert x[0, 0].item() == pytest.approx(0.75) and x[0, 1:].abs().max() == 0 and (x[1] == 1).all()
    assert rms_distances(x[:1] * 0, x[1:]).item() == pytest.approx(1.0)      # black vs white: the full range


def _brute(a, b):
    return torch.cdist(a.double(), b.double()).div(a.shape[1] ** 0.5)


@pytest.mark.parametrize("exclude_self", [False, True])
def test_nearest_matches_brute_force_across_blocks(monkeypatch, exclude_self):
    monkeypatch.setattr(pixels, "_BLOCK", 7)          # several blocks, the last one ragged
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(20, 576, generator=g), torch.rand(30, 576, generator=g)
    if exclude_self:
        b = torch.cat([a, b])
    d = _brute(a, b)
    if exclude_self:
        d[torch.arange(20), torch.arange(20)] = float("inf")
    idx, dist = nearest(a, b, k=3, exclude_self=exclude_self)
    ref_d, ref_i = d.topk(3, dim=1, largest=False)
    assert (idx == ref_i.numpy()).all()
    np.testing.assert_allclose(dist, ref_d.numpy(), atol=1e-4)


def test_close_pairs_and_closest_pairs_match_brute_force(monkeypatch):
    monkeypatch.setattr(pixels, "_BLOCK", 5)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(12, 576, generator=g)
    x[7] = x[2] + 0.01                                 # one planted near-duplicate pair
    d = _brute(x, x)
    want = {(i, j) for i in range(12) for j in range(i + 1, 12) if d[i, j] < 0.05}
    pairs, dist = close_pairs(x, 0.05)
    assert {tuple(p) for p in pairs.tolist()} == want == {(2, 7)}
    assert dist[0] == pytest.approx(0.01, abs=1e-4)
    top, top_d = closest_pairs(x, 3)
    assert tuple(top[0]) == (2, 7) and (np.diff(top_d) >= 0).all() and (top[:, 0] < top[:, 1]).all()
