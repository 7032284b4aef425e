"""emogan/classifier/model.py: the net's shapes, its cost budget, its config round trip and BN folding."""

import copy

import pytest
import torch

from emogan.classifier.model import (
    ClassifierConfig,
    EmotionNet,
    EnsembleConfig,
    EnsembleNet,
    build_net,
    config_from_dict,
    count_macs,
    fold_batchnorm,
)


def randomise_batchnorm(net: torch.nn.Module, seed: int = 0) -> None:
    """Give every BN non-trivial statistics, as after training (a fresh BN is the identity and hides mistakes)."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def test_shapes_of_logits_and_embedding():
    torch.manual_seed(0)
    net = EmotionNet().eval()
    x = torch.rand(3, 1, 48, 48) * 2 - 1
    assert net(x).shape == (3, 7)
    assert net.embed(x).shape == (3, 512) == (3, net.config.embed_dim)


def test_a_face_is_judged_on_its_centre_window():
    torch.manual_seed(0)
    net = EmotionNet().eval()
    x = torch.rand(3, 1, 48, 48) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(net(x), net(x[..., 4:44, 4:44]))      # input_size 40: the centre of 48
        y = x.clone()
        y[..., :4, :] = 0                                                 # outside the window: no effect
        torch.testing.assert_close(net(y), net(x))


def test_temperature_divides_the_logits():
    import dataclasses

    torch.manual_seed(0)
    net = EmotionNet().eval()
    x = torch.rand(3, 1, 48, 48) * 2 - 1
    with torch.no_grad():
        plain = net(x)
        net.config = dataclasses.replace(net.config, temperature=2.0)
        torch.testing.assert_close(net(x), plain / 2)


def test_default_net_fits_the_cpu_budget():
    # 64 faces with flip TTA (128 passes) in < 50 ms on 2 bf16-capable CPU cores holds for nets of up to about
    # 60 M multiply-adds per face; a costlier default must be re-measured with benchmarks/classifier_inference.py.
    net = EmotionNet()
    macs = count_macs(net)
    assert 30e6 <= macs <= 60e6, macs
    params = sum(p.numel() for p in net.parameters())
    assert params * 2 <= 10 * 2**20  # fp16 weights within the 10 MB shipping budget


def test_config_round_trip_and_unknown_keys():
    cfg = ClassifierConfig(widths=(8, 16), depths=(1, 2), dropout=0.0)
    again = ClassifierConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.embed_dim == 16
    with pytest.raises(ValueError, match="unknown classifier config keys: colour"):
        ClassifierConfig.from_dict({**cfg.to_dict(), "colour": 1})
    with pytest.raises(ValueError):
        ClassifierConfig(widths=(8, 16), depths=(1,))
    with pytest.raises(ValueError, match="dropout 1.5"):
        ClassifierConfig(dropout=1.5)
    with pytest.raises(ValueError, match="arch 'vgg'"):
        ClassifierConfig(arch="vgg")
    with pytest.raises(ValueError, match="temperature 0"):
        ClassifierConfig(temperature=0)


def test_other_configs_build_and_run():
    for cfg in (ClassifierConfig(arch="resnet", widths=(8, 16), depths=(2, 1), stem_kernel=6, input_size=48),
                ClassifierConfig(arch="resnet", widths=(8, 8, 8), depths=(1, 1, 1), stem_kernel=2, input_size=48),
                ClassifierConfig(widths=(8, 16, 16), depths=(2, 1, 1), input_size=44)):
        net = EmotionNet(cfg).eval()
        assert net(torch.zeros(2, 1, 48, 48)).shape == (2, 7)
        assert net.embed(torch.zeros(2, 1, 48, 48)).shape == (2, cfg.widths[-1])


def test_fold_batchnorm_keeps_the_outputs():
    torch.manual_seed(0)
    net = EmotionNet(ClassifierConfig(widths=(8, 16, 16, 32), depths=(1, 1, 1, 1))).eval()
    randomise_batchnorm(net)
    folded = fold_batchnorm(copy.deepcopy(net))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.rand(5, 1, 48, 48) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(folded.embed(x), net.embed(x), atol=1e-5, rtol=1e-4)


def test_an_ensemble_averages_its_members_logits_and_joins_their_embeddings():
    torch.manual_seed(0)
    nets = [EmotionNet(ClassifierConfig(widths=w, depths=(1, 1, 1, 1))).eval() for w in ((8, 16, 16, 24), (8, 8, 16, 16))]
    for i, n in enumerate(nets):
        randomise_batchnorm(n, seed=i)
    ens = EnsembleNet.of(nets)
    x = torch.rand(4, 1, 48, 48) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(ens(x), (nets[0](x) + nets[1](x)) / 2, atol=1e-5, rtol=1e-4)
        assert ens.embed(x).shape == (4, 24 + 16) == (4, ens.config.embed_dim)
        torch.testing.assert_close(ens.embed(x)[:, :24], nets[0].embed(x))
        # The head on the joined embedding IS the averaged logits: what the metrics rely on.
        torch.testing.assert_close(ens.head(ens.embed(x)), ens(x))
        folded = fold_batchnorm(copy.deepcopy(ens))
        torch.testing.assert_close(folded(x), ens(x), atol=1e-5, rtol=1e-4)
    # The members were copied: training the originals further does not change the ensemble.
    with torch.no_grad():
        nets[0].head.bias.add_(1.0)
        torch.testing.assert_close(ens(x), (nets[0](x) - 1.0 + nets[1](x)) / 2, atol=1e-5, rtol=1e-4)


def test_ensemble_config_round_trip_and_its_checks():
    cfg = EnsembleConfig((ClassifierConfig(widths=(8, 16), depths=(1, 1)),
                          ClassifierConfig(widths=(8, 32), depths=(1, 2))))
    assert config_from_dict(cfg.to_dict()) == cfg and cfg.embed_dim == 48 and cfg.num_classes == 7
    assert config_from_dict(ClassifierConfig().to_dict()) == ClassifierConfig()
    assert isinstance(build_net(cfg), EnsembleNet) and isinstance(build_net(ClassifierConfig()), EmotionNet)
    with pytest.raises(ValueError, match="at least two members"):
        EnsembleConfig((ClassifierConfig(),))
    with pytest.raises(ValueError, match="unknown classifier ensemble keys: extra"):
        config_from_dict({**cfg.to_dict(), "extra": 1})
    with pytest.raises(ValueError, match="unknown classifier config keys: colour"):
        config_from_dict({"members": [{"colour": 1}, {}]})
