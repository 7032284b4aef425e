"""The registry's variants: shapes, parameter counts, the one-change ladder, config round trips."""

import dataclasses

import pytest
import torch

from emogan.errors import EmoganError
from emogan.models import ORIGINAL_SIX, REGISTRY, GANConfig, build_discriminator, build_generator, get_config
from emogan.models.config import LATER_FIELDS
from emogan.sampling import conditioned, generate

# Parameter counts of the full-size variants; a change here changes every shipped checkpoint, so it is pinned.
EXPECTED_PARAMS = {  # name: (G, D)
    "M1": (399105, 92929), "M2": (401633, 92929), "M3": (401633, 92929), "M4": (401633, 333313),
    "M5": (401633, 333313), "M6": (401633, 93185),
    # M3's G twice as wide (Dense to 128x6x6, 256/128/64 channels) with self-modulation (z -> gain and bias of
    # each BN); a spectral-norm D of three strided stages (64, 128, 256) down to 6x6
    "M7": (100 * 4608 + 2 * 4608 + 9 * (128 * 256 + 256 * 128 + 128 * 64) + 2 * (256 + 128 + 64) + 9 * 64 + 1
           + 2 * 100 * (256 + 128 + 64),
           9 * (64 + 64 * 128 + 128 * 256) + (64 + 128 + 256) + 256 * 36 + 1),
}
# M7 + the one-hot's Dense weights; D: M7's, the projection's 7x256 embedding, the head's own three conv + BN
# stages and its linear layer
EXPECTED_PARAMS["M8"] = (EXPECTED_PARAMS["M7"][0] + 7 * 4608,
                         EXPECTED_PARAMS["M7"][1] + 7 * 256 + (9 * 32 + 64) + (9 * 32 * 64 + 128)
                         + (9 * 64 * 128 + 256) + 128 * 36 * 7 + 7)


def _block(c: int, expand: int = 1, group: int = 16) -> int:
    """A residual block's weights and biases: 1x1 conv to `expand` x the width, grouped 3x3 conv, 1x1 conv back."""
    w = c * expand
    return (c * w + w) + (w * group * 9 + w) + (w * c + c)


# M9: M7's G; a residual D -- a 3x3 stem (1 -> 32) to 24x24, a block at each side (32, 64, 128) with 1x1 convs
# between, and M7's Dense from 128 x 6 x 6 to one logit
EXPECTED_PARAMS["M9"] = (EXPECTED_PARAMS["M7"][0],
                         (9 * 32 + 32) + _block(32) + (32 * 64 + 64) + _block(64) + (64 * 128 + 128) + _block(128)
                         + 128 * 36 + 1)
# M10: M9 + the one-hot's Dense weights; D: M9's, the projection's 7x128 embedding, the D2D-CE head's linear map
# of D's pooled features (128 -> 128) and the emotions' 7x128 embeddings
EXPECTED_PARAMS["M10"] = (EXPECTED_PARAMS["M9"][0] + 7 * 4608,
                          EXPECTED_PARAMS["M9"][1] + 7 * 128 + (128 * 128 + 128) + 7 * 128)
# The recipe fingerprints of the models shipped before the later fields: unchanged, so their runs stay grouped.
SHIPPED_RECIPES = {"M1": "746032", "M2": "608f1e", "M3": "973d9d", "M4": "ebff45", "M5": "cc0c19", "M6": "48adbe",
                   "M7": "c97b10", "M8": "b4e90d"}


@pytest.mark.parametrize("name", list(REGISTRY))
def test_shapes_and_parameter_counts(name):
    torch.manual_seed(0)
    G, D = build_generator(name), build_discriminator(name)
    cfg = get_config(name)
    y = torch.arange(5) % 7
    z = conditioned(torch.randn(5, 100), y, cfg.n_labels)
    x = G(z)
    assert x.shape == (5, 1, 48, 48)
    assert x.min() >= -1 and x.max() <= 1
    assert (D(x, y) if cfg.conditional else D(x)).shape == (5,)
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
    with pytest.raises(EmoganError, match="unknown model 'M99'"):
        get_config("M99")
    with pytest.raises(ValueError, match="unknown model config keys: bogus"):
        GANConfig.from_dict({"name": "X", "bogus": 1})


def test_transpose_and_upsample_variants_differ_in_layers():
    up = build_generator("M2")
    tr = build_generator("M3")
    assert any(isinstance(m, torch.nn.Upsample) for m in up.modules())
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in tr.modules())
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in up.modules())


def test_m8_is_m7_made_conditional_and_its_emotion_matters():
    fields = [f.name for f in dataclasses.fields(GANConfig) if f.name not in ("name", "summary", "expect", "extras")]
    assert [f for f in fields if getattr(get_config("M8"), f) != getattr(get_config("M7"), f)] == \
        ["conditional", "d_projection_pool", "ac_weight", "ac_head"]
    torch.manual_seed(0)
    G, D = build_generator("M8").eval(), build_discriminator("M8").eval()
    z = torch.randn(1, 100).repeat(7, 1)
    faces = generate(G, z, labels=torch.arange(7))       # one latent, seven emotions asked for
    assert faces.shape == (7, 48, 48) and len({f.tobytes() for f in faces}) == 7
    assert (generate(G, z) == faces).all()               # unasked, the emotions cycle 0..6
    x = torch.rand(4, 1, 48, 48) * 2 - 1
    with torch.no_grad():
        nn_init = D.embed.parametrizations.weight.original
        nn_init.normal_(std=1.0)                          # a trained-looking embedding
        assert not torch.allclose(D(x, torch.zeros(4, dtype=torch.long)), D(x, torch.full((4,), 3)))
    with pytest.raises(ValueError, match="needs the emotion"):
        D(x)
    with pytest.raises(ValueError, match="emotion indices must lie in 0..6"):
        generate(G, z, labels=torch.full((7,), 7))
    with pytest.raises(ValueError, match="3 emotions for 7 latents"):
        generate(G, z, labels=torch.arange(3))


def _fixture_batch(n: int = 64):
    from tiny import FIXTURE

    from emogan.data import load_faces
    from emogan.images import to_model_input

    faces = load_faces(FIXTURE, "train")
    idx = torch.randperm(len(faces), generator=torch.Generator().manual_seed(0))[:n]
    return to_model_input(torch.from_numpy(faces.images[idx.numpy()]), "cpu"), torch.from_numpy(faces.labels[idx.numpy()]).long()


def test_m8s_projection_sum_pools_as_the_reference_does():
    """Mean pooling would divide the emotion term by the number of positions of D's last features (6x6)."""
    x, y = _fixture_batch()
    terms = {}
    for pool in ("sum", "mean"):
        torch.manual_seed(0)
        D = build_discriminator(get_config("M8").replace(d_projection_pool=pool)).eval()
        with torch.no_grad():
            h = D.features(x)
            terms[pool] = D(x, y) - D.fc(h.flatten(1)).squeeze(1)
    assert h.shape[-2:] == (6, 6)
    assert torch.allclose(terms["sum"], 36 * terms["mean"], rtol=1e-4, atol=1e-6)


def test_m8s_auxiliary_head_learns_the_emotion_of_real_faces_within_a_few_dozen_steps():
    import torch.nn.functional as F

    x, y = _fixture_batch()
    torch.manual_seed(0)
    D = build_discriminator("M8").train()
    opt = torch.optim.Adam(D.parameters(), lr=4e-4, betas=(0.0, 0.9))
    losses = []
    for _ in range(40):
        _, emotions = D(x, y, with_emotions=True)
        loss = F.cross_entropy(emotions, y)
        opt.zero_grad(), loss.backward(), opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses[::10]
    with pytest.raises(ValueError, match="no auxiliary-classifier head"):
        build_discriminator("M7")(x, with_emotions=True)


def test_configs_written_before_the_later_fields_load_and_keep_their_fingerprints():
    for name, recipe in SHIPPED_RECIPES.items():
        cfg = get_config(name)
        old = {k: v for k, v in cfg.to_dict().items() if k not in LATER_FIELDS}    # a run config of that time
        assert GANConfig.from_dict(old) == cfg
        assert cfg.recipe_id() == recipe, name
    assert get_config("M9").recipe_id() != get_config("M7").recipe_id()


def test_m9_is_m7_with_r3gans_recipe_and_m10_is_m9_made_conditional():
    fields = [f.name for f in dataclasses.fields(GANConfig) if f.name not in ("name", "summary", "expect", "extras")]
    changed = lambda a, b: [f for f in fields if getattr(get_config(a), f) != getattr(get_config(b), f)]  # noqa: E731
    assert set(changed("M9", "M7")) <= {"loss", "gamma", "gamma_final", "penalty_every", "schedule_iters",
                                        "lr_final_scale", "beta2_final", "ema_halflife_kimg", "d_arch",
                                        "d_spectral_norm", "d_channels", "d_blocks", "d_expand", "d_group_width",
                                        "lr_d", "lr_g"}
    assert set(changed("M10", "M9")) <= {"conditional", "d_projection_pool", "ac_weight", "ac_head", "ac_loss"}
    assert get_config("M10").conditional and get_config("M10").ac_loss == "d2dce"


def test_the_residual_d_has_no_normalization_and_its_blocks_start_as_the_identity():
    from emogan.models.residual import ResidualBlock

    torch.manual_seed(0)
    D = build_discriminator("M9")
    kinds = {type(m).__name__ for m in D.modules()}
    assert not kinds & {"BatchNorm1d", "BatchNorm2d", "Dropout"}
    assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in D.modules())    # no spectral norm
    blocks = [m for m in D.modules() if isinstance(m, ResidualBlock)]
    cfg = get_config("M9")
    assert len(blocks) == len(cfg.d_channels) * cfg.d_blocks
    assert all(b.spatial.groups == b.spatial.in_channels // cfg.d_group_width for b in blocks)
    x = torch.randn(2, blocks[0].expand.in_channels, 24, 24)
    assert torch.equal(blocks[0](x), x)
    faces, _ = _fixture_batch(8)
    assert D.features(faces).shape == (8, 128, 6, 6)
    with pytest.raises(ValueError, match="no normalization or dropout"):
        build_discriminator(cfg.replace(d_spectral_norm=True))
    with pytest.raises(ValueError, match="d_group_width 24 does not divide"):
        build_discriminator(cfg.replace(d_group_width=24))
    with pytest.raises(ValueError, match="unknown d_arch 'dense'"):
        build_discriminator(cfg.replace(d_arch="dense"))


def test_m10s_head_gives_unit_embeddings_and_its_emotion_term_starts_on_the_real_fake_scale():
    x, y = _fixture_batch()
    torch.manual_seed(0)
    D = build_discriminator("M10").train()
    with torch.no_grad():
        logits, embed = D(x, y, with_emotions=True)
        proxies = D.emotion_proxies(y)
        plain = D.fc(D.features(x).flatten(1)).squeeze(1)
    assert embed.shape == proxies.shape == (64, 128)
    torch.testing.assert_close(embed.norm(dim=1), torch.ones(64))
    torch.testing.assert_close(proxies.norm(dim=1), torch.ones(64))
    assert torch.equal(proxies[y == 3][0], proxies[y == 3][-1])      # one embedding per emotion
    assert (logits - plain).std() < 3 * plain.std() + 1.0            # the projection does not swamp the real/fake term
    with pytest.raises(ValueError, match="no emotion embeddings"):
        build_discriminator("M8").emotion_proxies(y)
    with pytest.raises(ValueError, match="unknown ac_loss 'focal'"):
        build_discriminator(get_config("M10").replace(ac_loss="focal"))
