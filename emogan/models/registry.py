"""The model registry: M1..M6 reproduce the original project's ladder, M7 is the one that should not collapse, M8 is
M7 asked for an emotion; M9 and M10 are the same pair aimed at realism (R3GAN's recipe)."""

from __future__ import annotations

from emogan.models.config import GANConfig

REGISTRY: dict[str, GANConfig] = {}


def register(cfg: GANConfig) -> GANConfig:
    if cfg.name in REGISTRY:
        raise ValueError(f"model {cfg.name!r} is registered twice")
    REGISTRY[cfg.name] = cfg
    return cfg


# The ladder: each model changes one thing in its neighbour, so a difference in the curves has one cause.
M1 = register(GANConfig(
    name="M1",
    summary="baseline: UpSampling2D+Conv G without BatchNorm; small D (64, 128) with Dropout 0.3",
    expect="balanced losses near log 2 (G ~0.8, D ~0.7); blurry, averaged faces",
))
M2 = register(M1.replace(
    name="M2", g_batchnorm=True,
    summary="M1 + BatchNorm in G",
    expect="sharper faces sooner; G loss rises above D's as D learns faster",
))
M3 = register(M2.replace(
    name="M3", g_upsample="transpose",
    summary="M2 with Conv2DTranspose instead of UpSampling2D+Conv in G",
    expect="similar losses to M2; checkerboard artefacts possible early on",
))
M4 = register(M3.replace(
    name="M4", d_channels=(128, 256),
    summary="M3 with a D of twice the width (128, 256)",
    expect="D overpowers G: D loss falls, G loss climbs towards 2; early mode collapse",
))
M5 = register(M4.replace(
    name="M5", d_dropout=0.0,
    summary="M4 without Dropout in D",
    expect="D wins outright (G loss ~4, D ~0.3): G gets little gradient and collapses to a few faces",
))
M6 = register(M3.replace(
    name="M6", d_batchnorm=True,
    summary="M3 + BatchNorm in D (the full DCGAN recipe)",
    expect="balanced losses like M3 (G ~1.2, D ~0.7); oscillates more between modes",
))
# M7 changes many things at once on purpose: it is the fix, not a rung of the ladder. Chosen by four rounds of
# pilots (benchmarks/recipe_pilots.py, README "How M7 and M8 were chosen"): self-modulated BatchNorm with a ramped
# EMA and no DiffAugment (FER-FID 12.7 against 13.8 at 1000); then a G twice as wide, a third D stage and G's rate
# doubled, which only pay together (7.5 at 1000 and 6.3 at 5000, against 12.7 and 6.95 for the M7 before them).
M7 = register(M3.replace(
    name="M7", d_dropout=0.0, d_spectral_norm=True, loss="hinge", lr_g=2e-4, lr_d=4e-4, beta1=0.0, beta2=0.9,
    ema_decay=0.999, ema_ramp=0.05, g_modulation="z",
    g_base=128, g_channels=(256, 128, 64), d_channels=(64, 128, 256),
    summary="M3's G twice as wide with self-modulated BatchNorm, a three-stage spectral-norm D, hinge loss, "
            "two-time-scale Adam (G 2e-4, D 4e-4) and a ramped EMA of G's weights for sampling",
    expect="steady losses, no collapse: diversity and coverage keep rising through training",
))
# M8 is M7 asked for an emotion: the original trained one GAN per emotion (happy, disgust, fear); one conditional
# model draws all seven, and the classifier checks that it draws the one asked for.
# Its auxiliary head is a small CNN of its own (ac_head "net"): at 1500 iterations of the pilots it doubled the
# label accuracy of the head on D's pooled features (34% against 16%), which mean-pooling and spectral norm starve.
M8 = register(M7.replace(
    name="M8", conditional=True, d_projection_pool="sum", ac_weight=1.0, ac_head="net",
    summary="M7 made conditional: G takes z and the emotion's one-hot, D adds a sum-pooled projection term and an "
            "auxiliary emotion classifier with a small CNN of its own",
    expect="M7's stability, and faces of the emotion asked for (label accuracy well above 1/7 by the classifier)",
))
# M9 is M7 trained for realism with R3GAN's recipe (Huang et al. 2024) at this scale (docs/models.md):
# - the relativistic pairing loss with R1 and R2 penalties every 4th D step;
# - cosine schedules over a 5000-iteration run: both learning rates to a quarter, Adam's beta2 0.9 -> 0.99, gamma
#   1 -> 0.1 (R3GAN's 2 -> 0.2 for 64x64 faces, scaled by (48/64)^2 as StyleGAN2-ADA's heuristic scales it);
# - an EMA half-life capped at 20k images (StyleGAN2-ADA's for batch 64);
# - a small residual D without normalization, sized so that an iteration costs no more than M7's: one block per
#   side, without expansion (R3GAN's factor 2, or a second block, cost 10-15% more than M7 per iteration).
M9 = register(M7.replace(
    name="M9", loss="rpgan", gamma=1.0, gamma_final=0.1, penalty_every=4,
    schedule_iters=5000, lr_final_scale=0.25, beta2_final=0.99, ema_halflife_kimg=20.0,
    d_arch="residual", d_spectral_norm=False, d_channels=(32, 64, 128), d_blocks=1, d_expand=1, d_group_width=16,
    summary="M7's G with R3GAN's recipe: relativistic pairing loss with lazy R1 and R2 penalties, cosine schedules "
            "of the learning rates, Adam's beta2 and gamma, and a small residual D without normalization",
    expect="faces harder to tell from real ones than M7's at the same cost per iteration; losses near log 2",
))
# M10 is M9 asked for an emotion, pushed more gently than M8: ReACGAN's data-to-data cross-entropy (Kang et al.
# 2021) at its CIFAR-10 weight 0.5, on D's own pooled features, where M8's plain cross-entropy on a CNN of its own
# drew the emotion at a cost in realism. The projection mean-pools: without spectral norm to bound it, a sum over the
# 36 positions of D's 6x6 features would start the emotion term about 17x larger than the real/fake one.
M10 = register(M9.replace(
    name="M10", conditional=True, d_projection_pool="mean", ac_weight=0.5, ac_head="pooled", ac_loss="d2dce",
    summary="M9 made conditional: G takes z and the emotion's one-hot, D adds a mean-pooled projection term and "
            "ReACGAN's data-to-data cross-entropy on its own features (weight 0.5)",
    expect="M9's realism, and faces of the emotion asked for (label accuracy well above 1/7 by the classifier)",
))

ORIGINAL_SIX = ("M1", "M2", "M3", "M4", "M5", "M6")
