"""GAN losses as small pure functions of D's logits, looked up by name from the model config; the gradient penalties
and the auxiliary emotion losses beside them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F


def d_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    # The mean of the real and fake terms, as Keras reports a D trained on a half-real, half-fake batch: log 2 = 0.69
    # means D cannot tell them apart.
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)


def g_bce(fake_logits: torch.Tensor) -> torch.Tensor:
    # Non-saturating: G maximises log D(G(z)), the original's "label the fakes as real" trick.
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def d_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * (F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean())


def g_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


def d_rpgan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    # Relativistic pairing (Jolicoeur-Martineau 2019; R3GAN): each fake is judged against the real face it is paired
    # with. Equal logits give log 2.
    return F.softplus(fake_logits - real_logits).mean()


def g_rpgan(fake_logits: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(real_logits - fake_logits).mean()


LOSSES: dict[str, tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]] = {
    "bce": (d_bce, g_bce),
    "hinge": (d_hinge, g_hinge),
    "rpgan": (d_rpgan, g_rpgan),
}
# Losses whose G term also reads D's logits of real faces: g(fake_logits, real_logits).
PAIRED = frozenset({"rpgan"})


def get_losses(name: str) -> tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}: expected one of {', '.join(LOSSES)}") from None


def grad_penalty(outputs: Sequence[torch.Tensor], inputs: Sequence[torch.Tensor], gamma: float) -> torch.Tensor:
    """gamma/2 * E|d output / d input|^2, summed over the (output, input) pairs: on D's logits of real faces it is R1,
    on its logits of fakes R2 (zero-centred penalties, Mescheder et al. 2018). One backward pass serves every pair; the
    result stays differentiable, for D's step."""
    grads = torch.autograd.grad([o.sum() for o in outputs], list(inputs), create_graph=True)
    return gamma / 2 * sum(g.square().flatten(1).sum(1).mean() for g in grads)


def d2d_ce(embed: torch.Tensor, proxy: torch.Tensor, labels: torch.Tensor, margin: float = 0.98,
           temperature: float = 0.5) -> torch.Tensor:
    """ReACGAN's data-to-data cross-entropy (Kang et al. 2021), with its margin and temperature.

    `embed` (N, E): unit embeddings of the faces; `proxy` (N, E): unit embeddings of their emotions `labels` (N,).
    A face is pulled towards its emotion while their cosine is below `margin`, and pushed from the other faces of the
    batch that show another emotion while their cosine is above 1 - margin; faces of its own emotion are left out of
    the negatives (false-negative removal). Written with logsumexp, so no term is shifted for stability."""
    pos = F.relu((margin - (embed * proxy).sum(dim=1)) / temperature)            # (N,)
    neg = F.relu((embed @ embed.T - (1 - margin)) / temperature)                  # (N, N)
    neg = neg.masked_fill(labels[:, None] == labels[None, :], float("-inf"))      # the face itself, its own emotion
    return (pos + torch.logsumexp(torch.cat([-pos[:, None], neg], dim=1), dim=1)).mean()
