"""emogan/training/schedules.py: cosine rates at the ends and the middle, lazy penalties, and the optimizers set."""

import pytest
import torch

from emogan.models import REGISTRY, get_config
from emogan.training.schedules import apply_rates, check_recipe, cosine, graph_safe, penalty_weight, rates
from emogan.training.state import build_state


def test_cosine_runs_from_start_to_end_then_holds():
    assert cosine(2.0, 0.2, 0, 100) == 2.0
    assert cosine(2.0, 0.2, 50, 100) == pytest.approx(1.1)
    assert cosine(2.0, 0.2, 25, 100) == pytest.approx(0.2 + 1.8 * (1 + 2 ** -0.5) / 2)
    assert cosine(2.0, 0.2, 100, 100) == cosine(2.0, 0.2, 10_000, 100) == 0.2


def test_m9s_rates_at_the_ends_and_the_middle_of_its_schedule():
    cfg = get_config("M9")
    span = cfg.schedule_iters
    start, middle, end = rates(cfg, 0), rates(cfg, span // 2), rates(cfg, span)
    assert (start.lr_g, start.lr_d, start.beta2, start.gamma) == (cfg.lr_g, cfg.lr_d, 0.9, cfg.gamma)
    assert middle.lr_g == pytest.approx(cfg.lr_g * (1 + cfg.lr_final_scale) / 2)
    assert middle.lr_d == pytest.approx(cfg.lr_d * (1 + cfg.lr_final_scale) / 2)
    assert middle.beta2 == pytest.approx((0.9 + 0.99) / 2) and middle.gamma == pytest.approx((1.0 + 0.1) / 2)
    assert (end.lr_g, end.beta2, end.gamma) == (pytest.approx(cfg.lr_g / 4), 0.99, 0.1)
    assert rates(cfg, 3 * span) == end                                   # held after the burn-in
    # Every rate moves one way only.
    seq = [rates(cfg, i) for i in range(0, span + 1, 100)]
    assert all(a.lr_g >= b.lr_g and a.beta2 <= b.beta2 and a.gamma >= b.gamma for a, b in zip(seq, seq[1:]))


def test_lazy_penalties_come_every_kth_step_weighted_by_k():
    cfg = get_config("M9")
    k = cfg.penalty_every
    weights = [penalty_weight(cfg, i) for i in range(3 * k)]
    assert [w > 0 for w in weights] == [i % k == 0 for i in range(3 * k)]
    assert weights[0] == k * cfg.gamma and weights[k] == pytest.approx(k * rates(cfg, k).gamma)
    assert penalty_weight(get_config("M7"), 0) == 0.0


def test_models_without_schedules_keep_their_rates_and_their_optimizers_untouched():
    for name in ("M1", "M7", "M8"):
        cfg = get_config(name)
        assert rates(cfg, 0) == rates(cfg, 12_345) and rates(cfg, 0).lr_g == cfg.lr_g
        assert graph_safe(cfg)
    s = build_state(get_config("M7"), 0, torch.device("cpu"))
    before = [dict(g) for g in s.opt_G.param_groups]
    apply_rates(s.opt_G, s.opt_D, get_config("M7"), 2500)
    assert [dict(g) for g in s.opt_G.param_groups] == before
    assert not graph_safe(get_config("M9")) and not graph_safe(get_config("M10"))


def test_apply_rates_sets_both_optimizers():
    cfg = get_config("M9")
    s = build_state(cfg, 0, torch.device("cpu"))
    apply_rates(s.opt_G, s.opt_D, cfg, cfg.schedule_iters)
    (g,), (d,) = s.opt_G.param_groups, s.opt_D.param_groups
    assert g["lr"] == pytest.approx(cfg.lr_g / 4) and d["lr"] == pytest.approx(cfg.lr_d / 4)
    assert g["betas"] == (cfg.beta1, 0.99) == d["betas"]


def test_unusable_training_fields_are_refused_by_name():
    for name in REGISTRY:
        check_recipe(get_config(name))
    for change, field in [({"penalty_every": 0}, "penalty_every 0"), ({"gamma": -1.0}, "gamma -1.0"),
                          ({"beta2_final": 1.0}, "beta2_final 1.0"), ({"loss": "wgan"}, "loss 'wgan'"),
                          ({"lr_final_scale": 0.0}, "lr_final_scale 0.0")]:
        with pytest.raises(ValueError, match=f"model M9: unusable .*{field}"):
            check_recipe(get_config("M9").replace(**change))
