"""emogan/classifier/store.py: the weights file round trip, refusing bad or pickled weights, and the shipped ones."""

import json
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from emogan.classifier import ClassifierConfig, EmotionNet, load_classifier, read_net, save_classifier
from emogan.classifier import files as store
from emogan.classifier.inference import Classifier
from emogan.data import load_faces
from emogan.errors import CheckpointError

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "fer2013"
SMALL = ClassifierConfig(widths=(8, 16, 16, 24), depths=(1, 1, 1, 1))


@pytest.fixture(autouse=True)
def _fresh_cache():
    store.clear_cache()
    yield
    store.clear_cache()


def trained_looking_net(config: ClassifierConfig = SMALL, seed: int = 0) -> EmotionNet:
    torch.manual_seed(seed)
    net = EmotionNet(config).eval()
    for m in net.modules():  # non-trivial BN statistics, so a lost buffer would show
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    return net


def test_round_trip_predicts_the_same(tmp_path):
    net = trained_looking_net()
    path = save_classifier(tmp_path, net, {"validation": {"accuracy": 0.5}})
    assert path == tmp_path / "classifier.safetensors"
    faces = np.random.default_rng(1).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    loaded = load_classifier(tmp_path)
    # The file holds fp16 weights: compare with the same net rounded to fp16.
    rounded = EmotionNet(SMALL).eval()
    rounded.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in net.state_dict().items()})
    np.testing.assert_allclose(loaded.predict(faces), Classifier(rounded).predict(faces), atol=1e-6)
    np.testing.assert_allclose(loaded.features(faces), Classifier(rounded).features(faces), atol=1e-5)
    assert np.abs(loaded.predict(faces) - Classifier(net).predict(faces)).max() < 1e-2
    assert loaded.info == {"validation": {"accuracy": 0.5}} and loaded.config == SMALL


def test_file_alone_rebuilds_the_default_net_within_10mb(tmp_path):
    path = save_classifier(tmp_path, trained_looking_net(ClassifierConfig()), {})
    assert path.stat().st_size <= 10 * 2**20
    net, meta = read_net(path)
    assert net.config == ClassifierConfig() and meta["format"] == store.FORMAT
    assert json.loads(meta["config"]) == ClassifierConfig().to_dict()
    assert all(t.dtype == torch.float32 for t in net.state_dict().values() if t.is_floating_point())


def test_cache_reloads_only_a_changed_file(tmp_path):
    save_classifier(tmp_path, trained_looking_net(), {})
    first = load_classifier(tmp_path)
    assert load_classifier(tmp_path) is first
    save_classifier(tmp_path, trained_looking_net(seed=1), {})
    path = tmp_path / "classifier.safetensors"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert load_classifier(tmp_path) is not first


def test_default_folder_is_found_from_the_package_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert store.default_weights_dir() == REPO / "checkpoints" / "classifier"


def test_missing_shipped_weights_say_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "default_weights_dir", lambda: tmp_path / "nowhere")
    with pytest.raises(CheckpointError) as e:
        load_classifier()
    msg = str(e.value)
    assert "shipped classifier weights are missing" in msg and "classifier train" in msg and "\n" not in msg
    with pytest.raises(CheckpointError, match="no classifier weights in"):
        load_classifier(tmp_path / "elsewhere")


class _Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickle_payload_really_runs_when_unpickled(tmp_path):
    # Guards the next test: if this payload did nothing, "marker absent" there would prove nothing.
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(marker))).close()
    assert marker.exists()


@pytest.mark.parametrize("with_safetensors", [False, True])
def test_pickled_weights_are_never_loaded(tmp_path, with_safetensors):
    folder, marker = tmp_path / "weights", tmp_path / "pwned"
    folder.mkdir()
    if with_safetensors:
        save_classifier(folder, trained_looking_net(), {})
    evil = pickle.dumps(_Payload(marker))
    (folder / "classifier.pt").write_bytes(evil)
    (folder / "model.pkl").write_bytes(evil)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if with_safetensors:
            assert load_classifier(folder).predict(np.zeros((1, 48, 48), np.uint8)).shape == (1, 7)
        else:
            with pytest.raises(CheckpointError) as e:
                load_classifier(folder)
            assert "\n" not in str(e.value) and "classifier train" in str(e.value)
    assert not marker.exists()
    # Said once: a warning beside working weights, the error itself when nothing else is there.
    notes = [str(w.message) for w in caught] if with_safetensors else [str(e.value)]
    assert any("classifier.pt" in n and "model.pkl" in n and "never loaded" in n for n in notes), notes
    assert len(caught) == (1 if with_safetensors else 0), [str(w.message) for w in caught]


def test_a_pickle_named_safetensors_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "classifier.safetensors").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_classifier(tmp_path)
    assert not marker.exists()


def _write_tampered(path: Path, name: str, tensor: torch.Tensor) -> None:
    net = trained_looking_net()
    tensors = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    tensors[name] = tensor
    save_file(tensors, str(path), metadata={"format": store.FORMAT, "config": json.dumps(SMALL.to_dict())})


def test_wrong_tensor_shape_is_refused_naming_file_and_tensor(tmp_path):
    _write_tampered(tmp_path / "classifier.safetensors", "head.weight", torch.zeros(7, 99, dtype=torch.float16))
    with pytest.raises(CheckpointError) as e:
        load_classifier(tmp_path)
    msg = str(e.value)
    assert "classifier.safetensors" in msg and "head.weight" in msg and "[7, 99]" in msg and "\n" not in msg


def test_wrong_tensor_dtype_is_refused(tmp_path):
    _write_tampered(tmp_path / "classifier.safetensors", "head.bias", torch.zeros(7, dtype=torch.int32))
    with pytest.raises(CheckpointError, match=r"head\.bias has dtype torch\.int32"):
        load_classifier(tmp_path)


def test_other_safetensors_files_are_refused(tmp_path):
    save_file({"w": torch.zeros(2)}, str(tmp_path / "classifier.safetensors"), metadata={"format": "something/1"})
    with pytest.raises(CheckpointError, match="not an EmoGAN classifier file"):
        load_classifier(tmp_path)


def test_shipped_weights_classify_the_fixture_well_above_chance():
    if not (store.default_weights_dir() / store.WEIGHTS_FILE).is_file():
        pytest.skip("no shipped classifier weights in checkpoints/classifier")
    faces = load_faces(FIXTURE, split="validation")
    result = load_classifier().evaluate(faces.images, faces.labels, tta=True)
    # 210 real validation faces, 30 per emotion: chance and the best constant guess are both 1/7 = 14.3%.
    # A ~70%-accurate FER2013 net has a mean per-class recall of ~60-65% on a balanced set (fear, sad and
    # disgust are hardest); 50% sits ~3.5 standard errors below that, yet 35 points above chance.
    assert result.n == 210
    assert result.accuracy >= 0.50, result.format_table()


def test_an_ensemble_file_rebuilds_the_ensemble(tmp_path):
    from emogan.classifier import EnsembleNet
    from emogan.metrics.core import features_and_probs

    other = ClassifierConfig(widths=(8, 8, 16, 16), depths=(1, 1, 1, 1))
    members = [trained_looking_net(SMALL, seed=0), trained_looking_net(other, 1)]
    ens = EnsembleNet.of(members)
    save_classifier(tmp_path, ens, {"ensemble": ["a", "b"]})
    net, meta = read_net(tmp_path / "classifier.safetensors")
    assert isinstance(net, EnsembleNet) and net.config == ens.config and json.loads(meta["config"])["members"]
    faces = np.random.default_rng(2).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    loaded = load_classifier(tmp_path)
    assert np.abs(loaded.predict(faces) - Classifier(ens).predict(faces)).max() < 1e-2   # fp16 in the file
    np.testing.assert_array_equal(loaded.predict(faces), Classifier(store.as_saved(ens)).predict(faces))
    feats, probs = features_and_probs(loaded, faces)        # the metrics' one-pass path sees the averaged head
    assert feats.shape == (5, 24 + 16)
    np.testing.assert_allclose(probs, loaded.predict(faces), atol=1e-5)


FER2013 = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"


def test_the_shipped_record_matches_the_shipped_file():
    """classifier.json says what the weights file is: its net, and its accuracy on the validation split, re-measured
    here with the file (skipped without the weights, or without the dataset beside the checkout)."""
    weights = store.default_weights_dir() / store.WEIGHTS_FILE
    if not weights.is_file():
        pytest.skip("no shipped classifier weights in checkpoints/classifier")
    info = json.loads(weights.with_name(store.INFO_FILE).read_text())
    net, meta = read_net(weights)
    assert info["config"] == json.loads(meta["config"]) == net.config.to_dict()
    assert info["calibration"]["temperature"] == net.config.temperature
    assert info["validation"]["split"] == "validation" and info["validation"]["tta"] is True
    assert 0 < info["wall_seconds"] and info["command"].startswith("python -m emogan classifier train")
    if not (FER2013 / "validation").is_dir():
        pytest.skip(f"FER2013 is not at {FER2013}")
    faces = load_faces(FER2013, split="validation")
    assert faces.content_hash == info["validation"]["content_hash"]
    result = load_classifier().evaluate(faces.images, faces.labels, tta=True)
    assert result.n == info["validation"]["n"] == 3589
    # Another CPU's kernels (AVX2 against AVX-512, say) round the logits differently, which turns the verdict on a
    # face or two whose top two emotions are a rounding apart; another weights file would differ on many more.
    assert abs(result.accuracy - info["validation"]["accuracy"]) * result.n <= 3
