"""emogan/training/losses.py on known answers: the relativistic pairing loss, the R1/R2 penalties, ReACGAN's D2D-CE."""

import math

import pytest
import torch
import torch.nn.functional as F

from emogan.training.losses import PAIRED, d2d_ce, d_rpgan, g_rpgan, get_losses, grad_penalty


def test_rpgan_pairs_each_fake_with_a_real_face():
    same = torch.tensor([-3.0, 0.0, 2.5])
    assert d_rpgan(same, same).item() == pytest.approx(math.log(2))       # D cannot tell them apart
    assert g_rpgan(same, same).item() == pytest.approx(math.log(2))
    real, fake = torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 1.5])
    assert d_rpgan(real, fake).item() == pytest.approx((math.log1p(math.exp(-3)) + math.log1p(math.exp(0.5))) / 2)
    assert g_rpgan(fake, real).item() == pytest.approx((math.log1p(math.exp(3)) + math.log1p(math.exp(-0.5))) / 2)
    # Relative: shifting every logit by one constant changes nothing, unlike the absolute losses.
    assert d_rpgan(real + 7, fake + 7).item() == pytest.approx(d_rpgan(real, fake).item())
    assert get_losses("rpgan") == (d_rpgan, g_rpgan) and "rpgan" in PAIRED and "hinge" not in PAIRED


def test_r1_of_a_linear_d_is_half_gamma_times_its_weight_norm_squared():
    torch.manual_seed(0)
    D = torch.nn.Linear(48 * 48, 1)
    x = torch.randn(16, 1, 48, 48, requires_grad=True)
    logits = D(x.flatten(1)).squeeze(1)
    w2 = D.weight.square().sum().item()
    r1 = grad_penalty([logits], [x], gamma=2.0)
    assert r1.item() == pytest.approx(w2, rel=1e-5)                     # gamma/2 * |w|^2 with gamma 2
    # R1 + R2 from one backward pass: each pair gives gamma/2 |w|^2.
    fake = torch.randn(16, 1, 48, 48, requires_grad=True)
    both = grad_penalty([logits, D(fake.flatten(1)).squeeze(1)], [x, fake], gamma=0.5)
    assert both.item() == pytest.approx(0.5 * w2, rel=1e-5)
    # It trains D: d/dw of gamma/2 |w|^2 is gamma w.
    r1.backward()
    torch.testing.assert_close(D.weight.grad, 2.0 * D.weight.detach())


def test_the_penalty_averages_each_faces_own_gradient():
    x = torch.tensor([[1.0, 2.0], [0.0, 3.0]], requires_grad=True)
    logits = (x ** 2).sum(dim=1)                                         # gradient 2x per face
    expected = 0.5 * ((4 + 16) + (0 + 36)) / 2
    assert grad_penalty([logits], [x], gamma=1.0).item() == pytest.approx(expected)


def _unit(rows):
    return F.normalize(torch.tensor(rows, dtype=torch.float32), dim=1)


def test_d2d_ce_on_known_answers():
    labels = torch.arange(4)
    basis = torch.eye(4)
    # Each face on its emotion's proxy (cosine 1, past the margin) and orthogonal to the others (cosine 0, below
    # 1 - margin): no pull, each negative counts exp(0) = 1, so the loss is log(1 + 3).
    assert d2d_ce(basis, basis, labels).item() == pytest.approx(math.log(4))
    # Faces of one emotion are not each other's negatives, and a face alone is not pulled: zero.
    same = torch.zeros(4, dtype=torch.long)
    assert d2d_ce(basis, basis, same).item() == pytest.approx(0.0)
    # Pointing away from its proxy: pulled by (0.98 + 1) / 0.5 = 3.96 against one orthogonal negative.
    pull = (0.98 + 1) / 0.5
    two = basis[:2]
    assert d2d_ce(two, -two, torch.arange(2)).item() == pytest.approx(pull + math.log(math.exp(-pull) + 1))
    # Past the margin the pull stops: cosine 0.99 with the proxy costs what cosine 1 does.
    near = _unit([[0.99, math.sqrt(1 - 0.99 ** 2), 0.0], [0.0, 0.0, 1.0]])
    proxies = _unit([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    neg = max(0.0, near[0] @ near[1] - 0.02) / 0.5
    assert d2d_ce(near, proxies, torch.arange(2)).item() == pytest.approx(math.log(1 + math.exp(neg)))


def test_d2d_ce_pushes_faces_of_other_emotions_apart_and_stays_finite():
    torch.manual_seed(0)
    embed = F.normalize(torch.randn(32, 16), dim=1).requires_grad_(True)
    proxy = F.normalize(torch.randn(7, 16), dim=1)
    labels = torch.arange(32) % 7
    loss = d2d_ce(embed, proxy[labels], labels)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(embed.grad).all() and embed.grad.abs().sum() > 0
    # A step down the gradient lowers it.
    with torch.no_grad():
        moved = F.normalize(embed - 0.05 * embed.grad, dim=1)
    assert d2d_ce(moved, proxy[labels], labels) < loss
