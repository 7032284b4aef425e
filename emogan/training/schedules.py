"""Rates that change over a run (the learning rates, Adam's beta2, the penalties' gamma) as pure functions of the
iteration, so that a resumed run steps with exactly the values an uninterrupted one would."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from emogan.models import GANConfig
from emogan.training.losses import LOSSES


@dataclass(frozen=True)
class Rates:
    lr_g: float
    lr_d: float
    beta2: float
    gamma: float


def cosine(start: float, end: float, iteration: int, span: int) -> float:
    """`start` at iteration 0, `end` from iteration `span` on, a half cosine between (R3GAN's schedule)."""
    if iteration >= span:
        return end
    return start + (end - start) * 0.5 * (1.0 - math.cos(math.pi * iteration / span))


def rates(cfg: GANConfig, iteration: int) -> Rates:
    """The rates of the step that follows `iteration` finished iterations."""
    if cfg.schedule_iters <= 0:
        return Rates(cfg.lr_g, cfg.lr_d, cfg.beta2, cfg.gamma)
    span = cfg.schedule_iters
    scale = cosine(1.0, cfg.lr_final_scale, iteration, span)
    beta2 = cfg.beta2 if cfg.beta2_final is None else cosine(cfg.beta2, cfg.beta2_final, iteration, span)
    gamma = cfg.gamma if cfg.gamma_final is None else cosine(cfg.gamma, cfg.gamma_final, iteration, span)
    return Rates(cfg.lr_g * scale, cfg.lr_d * scale, beta2, gamma)


def penalty_weight(cfg: GANConfig, iteration: int) -> float:
    """The gamma of this step's R1 and R2 penalties, times penalty_every where they are lazy; 0 on steps without."""
    if cfg.gamma <= 0 or iteration % cfg.penalty_every:
        return 0.0
    return rates(cfg, iteration).gamma * cfg.penalty_every


def apply_rates(opt_G: torch.optim.Optimizer, opt_D: torch.optim.Optimizer, cfg: GANConfig, iteration: int) -> None:
    """Set both optimizers' learning rate and beta2 for the step that follows `iteration` finished iterations
    (nothing to do without schedules: the optimizers keep the rates they were built with)."""
    if cfg.schedule_iters <= 0:
        return
    r = rates(cfg, iteration)
    for opt, lr in ((opt_G, r.lr_g), (opt_D, r.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr
            group["betas"] = (group["betas"][0], r.beta2)


def graph_safe(cfg: GANConfig) -> bool:
    """Whether every step of `cfg` runs the same operations with the same constants, as a replayed CUDA graph does:
    schedules change rates the graph would hold fixed, and penalties change the step on some iterations."""
    return cfg.schedule_iters <= 0 and cfg.gamma <= 0


def check_recipe(cfg: GANConfig) -> None:
    """Refuse training fields that cannot work, naming the field and its value (the networks check their own)."""
    problems = []
    if cfg.loss not in LOSSES:
        problems.append(f"loss {cfg.loss!r} (expected one of {', '.join(LOSSES)})")
    if cfg.gamma < 0 or (cfg.gamma_final is not None and cfg.gamma_final < 0):
        problems.append(f"gamma {cfg.gamma} -> {cfg.gamma_final} (must not be negative)")
    if cfg.penalty_every < 1:
        problems.append(f"penalty_every {cfg.penalty_every} (must be at least 1)")
    if cfg.schedule_iters < 0 or cfg.lr_final_scale <= 0:
        problems.append(f"schedule_iters {cfg.schedule_iters}, lr_final_scale {cfg.lr_final_scale} "
                        "(must be >= 0 and > 0)")
    if cfg.beta2_final is not None and not 0 <= cfg.beta2_final < 1:
        problems.append(f"beta2_final {cfg.beta2_final} (must lie in [0, 1))")
    if cfg.ema_halflife_kimg < 0:
        problems.append(f"ema_halflife_kimg {cfg.ema_halflife_kimg} (must not be negative)")
    if problems:
        raise ValueError(f"model {cfg.name}: unusable {'; '.join(problems)}")
