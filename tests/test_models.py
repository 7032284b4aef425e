"""The registry's variants: shapes, parameter counts, the one-change ladder, config round trips."""

import dataclasses

import pytest
import torch

from emogan.errors import EmoganError
from emogan.models import (ORIGINAL_SIX, REGISTRY, GANConfig, build_discriminator, build_generator, get_config)

# Parameter counts of the full-size variants; a change here changes every shipped checkpoint, so it is pinned.
EXPECTED_PARAMS = {  # name: (G, D)
    "M1": (399105, 92929), "M2": (401633, 92929), "M3": (401633, 92929), "M4": (401633, 333313),
    "M5": (401633, 333313), "M6": (401633, 93185), "M7": (401633, 92929),
}


@pytest.mark.parametrize("name", list(REGISTRY))
def test_shapes_and_parameter_counts(name):
    torch.manual_seed(0)
    G, D = build_generator(name), build_discriminator(name)
    z = torch.randn(5, 100)
    x = G(z)
    assert x.shape == (5, 1, 48, 48)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (5,)
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert (n(G), n(D)) == EXPECTED_PARAMS[name]


def test_the_six_form_a_ladder_of_single_changes():
    fields = [f.name for f in dataclasses.fields(GANConfig) if f.name not in ("name", "summary", "expect", "extras")]
    changed = lambda a, b: [f for f in fields if getattr(get_config(a), f) != getattr(get_config(b), f)]  # noqa: E731
    # Each model differs from the neighbour it was built from in exactly one respect.
    for child, parent in [("M2", "M1"), ("M3", "M2"), ("M4", "M3"), ("M5", "M4"), ("M6", "M3")]:
        assert len(changed(child, parent)) == 1, (child, parent, changed(child, parent))
    assert ORIGINAL_SIX == ("M1", "M2", "M3", "M4", "M5", "M6")
    for name in REGISTRY:
        assert get_config(name).summary and get_config(name).expect


def test_config_round_trip_rebuilds_the_same_model():
    cfg = get_config("M7")
    again = GANConfig.from_dict(cfg.to_dict())
    assert again == cfg
    torch.manual_seed(1)
    G = build_generator(cfg)
    G2 = build_generator(again)
    G2.load_state_dict(G.state_dict())
    z = torch.randn(3, 100)
    assert torch.equal(G.eval()(z), G2.eval()(z))


def test_unknown_model_and_config_key_are_refused():
    with pytest.raises(EmoganError, match="unknown model 'M9'"):
        get_config("M9")
    with pytest.raises(ValueError, match="unknown model config keys: bogus"):
        GANConfig.from_dict({"name": "X", "bogus": 1})


def test_transpose_and_upsample_variants_differ_in_layers():
    up = build_generator("M2")
    tr = build_generator("M3")
    assert any(isinstance(m, torch.nn.Upsample) for m in up.modules())
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in tr.modules())
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in up.modules())
