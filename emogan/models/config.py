"""GANConfig: every choice that defines a model variant, so a checkpoint can rebuild its model alone."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from emogan.fields import from_fields, to_fields

# Fields added after runs were shipped: at their defaults they train as before, so they stay out of the recipe
# fingerprint and every earlier run keeps its own.
LATER_FIELDS = ("ema_halflife_kimg", "gamma", "penalty_every", "schedule_iters", "lr_final_scale", "beta2_final",
                "gamma_final", "d_arch", "d_blocks", "d_expand", "d_group_width", "ac_loss")


@dataclass(frozen=True)
class GANConfig:
    name: str                                  # registry key: M1..M10; also the run tag and the app label
    summary: str = ""                          # what differs from its neighbour on the ladder (README table)
    expect: str = ""                           # what to expect when it trains (README table)
    z_dim: int = 100                           # the original project's latent size
    # Generator: Dense -> (g_base, 6, 6), then three x2 upsampling stages to 48x48, then a 3x3 conv to 1 channel.
    # 6x6 rather than the usual 12x12 start keeps the Dense layer (the bulk of G's weights) small, so the shipped
    # demo fits its size budget with weights at seven iterations for every model.
    g_base: int = 64
    g_channels: tuple[int, ...] = (128, 64, 32)  # (N, 128, 12, 12) -> (N, 64, 24, 24) -> (N, 32, 48, 48)
    g_upsample: str = "upsample"              # "upsample": UpSampling2D + 3x3 conv; "transpose": 3x3 Conv2DTranspose
    g_batchnorm: bool = False
    # Modulated BatchNorm in G's upsampling stages (needs g_batchnorm): each BN's gain and bias come from a linear
    # map of "z" (self-modulation, Chen et al. 2019), of the "emotion" one-hot (conditional BN, as every
    # PyTorch-StudioGAN conditional baseline), or of "z+emotion"; "none" is plain BN.
    g_modulation: str = "none"
    # Discriminator: strided 3x3 convs (48 -> 24 -> 12), LeakyReLU, Dropout, Flatten, Dense -> one logit.
    d_channels: tuple[int, ...] = (64, 128)
    d_dropout: float = 0.3
    d_batchnorm: bool = False
    d_spectral_norm: bool = False
    # "conv": the strided 3x3 convs above; "residual": R3GAN-style (Huang et al. 2024), a strided 3x3 conv stem to
    # 24x24, then at each side d_blocks inverted-bottleneck residual blocks (1x1 conv to d_expand x the width, a
    # grouped 3x3 conv, 1x1 conv back) and a 2x2 average pool with a 1x1 conv to the next width; leaky ReLU 0.2 and
    # no normalization layers (R3GAN: BatchNorm and spectral norm do not mix with R1, R2 or the relativistic loss).
    d_arch: str = "conv"
    d_blocks: int = 1                         # residual blocks per side (d_arch "residual")
    d_expand: int = 2                         # R3GAN's expansion factor of the bottleneck
    # Channels per group of the blocks' 3x3 conv; 0, or more than a block's width: one group (a plain conv).
    d_group_width: int = 16
    leak: float = 0.2                         # LeakyReLU slope, as in DCGAN
    # Training recipe
    # "bce" (the original's binary cross-entropy), "hinge", or "rpgan": the relativistic pairing loss (R3GAN), where D
    # minimises softplus(D(fake) - D(real)) over pairs of a real face and a fake and G the reverse, so D judges a fake
    # against a real face rather than on an absolute scale it can saturate.
    loss: str = "bce"
    lr_g: float = 2e-4                        # Adam lr 2e-4, beta1 0.5: the original's (and DCGAN's) settings
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    ema_decay: float = 0.0                    # > 0 keeps a moving average of G's weights for sampling
    # > 0: the EMA's half-life grows with training, at most ema_ramp x the G updates so far (StyleGAN2's
    # ema_rampup), capped by ema_decay; 0: TensorFlow's (1+n)/(10+n) warm-up. A fixed 0.999 window is a fifth of a
    # 5000-iteration run and lags behind G all the way.
    ema_ramp: float = 0.0
    # > 0: the half-life is also capped at this many thousand images (whichever cap is lower), so the cap does not
    # change with the batch size.
    ema_halflife_kimg: float = 0.0
    # Zero-centred gradient penalties, gamma/2 E|grad_x D(x)|^2 on real faces (R1) and on fakes (R2) (Mescheder et
    # al. 2018): R3GAN's pair with the relativistic loss, which keeps D's training convergent without normalization
    # layers. 0: none.
    gamma: float = 0.0
    # Lazy penalties: only every k-th D step, weighted by k (StyleGAN2's lazy regularization), at about a k-th of
    # their cost; 1: every step.
    penalty_every: int = 1
    # Cosine schedules over the first schedule_iters iterations, then held (R3GAN's burn-in): each rate moves from its
    # value above to its final value below. 0: every rate constant.
    schedule_iters: int = 0
    lr_final_scale: float = 1.0               # both learning rates end at this fraction of lr_g and lr_d
    beta2_final: float | None = None          # Adam's beta2 ends here (None: held at beta2)
    gamma_final: float | None = None          # the penalties' gamma ends here (None: held at gamma)
    diffaugment: bool = False                 # differentiable translation + cutout on D's inputs (Zhao et al. 2020)
    # Conditional: G draws the emotion it is asked for (its input is z followed by the emotion's one-hot) and D
    # judges a face together with its emotion (projection discriminator, Miyato & Koyama 2018).
    conditional: bool = False
    # How the projection term pools D's features: "sum" as the official projection discriminator and StudioGAN;
    # "mean" divides the class term by 144 (12x12), close to a 144x smaller learning rate for it under Adam.
    d_projection_pool: str = "mean"
    # > 0: an auxiliary-classifier head on D (AC-GAN; StudioGAN's ACGAN-Mod with cond_lambda 1.0): D learns the
    # emotion of real faces with cross-entropy, and G is pushed to draw faces it classifies as the emotion asked.
    ac_weight: float = 0.0
    # What the auxiliary head reads: "pooled" -- D's last features mean-pooled over the 12x12 positions, which
    # loses where a mouth or a brow is; "flat" -- the same features kept in place; "net" -- a small CNN of its
    # own beside D's (three conv stages, no spectral norm), so the emotion is learnt without the Lipschitz bound
    # that keeps D's features nearly alike. All are standardised over the batch before the linear layer.
    ac_head: str = "pooled"
    # What the head learns: "ce" -- the emotion by cross-entropy of its logits (AC-GAN); "d2dce" -- ReACGAN's
    # data-to-data cross-entropy (Kang et al. 2021) on unit embeddings: a face is pulled towards its emotion's
    # embedding only until their cosine passes a margin (0.98), and pushed from faces of other emotions, so easily
    # classified faces stop pushing G and the head's gradients stay bounded.
    ac_loss: str = "ce"
    extras: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def n_labels(self) -> int:
        """Emotions a conditional model can be asked for (0: unconditional)."""
        from emogan.emotions import EMOTIONS
        return len(EMOTIONS) if self.conditional else 0

    def to_dict(self) -> dict[str, Any]:
        return to_fields(self)

    def recipe_id(self) -> str:
        """A short fingerprint of what the model trains as, its name and descriptions aside: a registry id can
        move on to a new recipe, and runs of two recipes must not be averaged as seeds of one model."""
        defaults = {f.name: f.default for f in dataclasses.fields(GANConfig)}
        fields = {k: v for k, v in self.to_dict().items() if k not in ("name", "summary", "expect", "extras")
                  and not (k in LATER_FIELDS and v == defaults[k])}
        return hashlib.sha1(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:6]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GANConfig:
        return from_fields(cls, d, "model config")

    def replace(self, **changes: Any) -> GANConfig:
        return dataclasses.replace(self, **changes)
