"""Safetensors weights: round trip, metadata rebuilds the model, damage and pickles are refused with one line."""

import pickle

import pytest
import torch
from safetensors.torch import save as st_save

from emogan.errors import CheckpointError
from emogan.models import build_generator
from emogan.runs.checkpoint import load_generator, read_tensors, save_generator, save_tensors


def test_generator_round_trip_fp32_and_fp16(tmp_path):
    torch.manual_seed(0)
    G = build_generator("M2").eval()
    z = torch.randn(4, 100)
    for dtype, tol in ((torch.float32, 0.0), (torch.float16, 2e-2)):
        p = tmp_path / f"g_{dtype}.safetensors"
        save_generator(p, G, iteration=950, dtype=dtype)
        G2, meta = load_generator(p)
        assert meta["iteration"] == "950"
        assert G2.cfg == G.cfg and not G2.training
        assert (G2(z) - G(z)).abs().max().item() <= tol + 1e-7


def test_wrong_shape_and_dtype_are_refused(tmp_path):
    G = build_generator("M1")
    p = tmp_path / "g.safetensors"
    save_generator(p, G, 1)
    tensors, meta = read_tensors(p)
    bad = dict(tensors, **{"fc.weight": torch.zeros(3, 3)})
    q = tmp_path / "bad_shape.safetensors"
    q.write_bytes(st_save(bad, metadata=meta))
    with pytest.raises(CheckpointError, match=r"fc.weight has shape \[3, 3\]"):
        load_generator(q)
    bad = dict(tensors, **{"fc.weight": tensors["fc.weight"].to(torch.int32)})
    q.write_bytes(st_save(bad, metadata=meta))
    with pytest.raises(CheckpointError, match="fc.weight has dtype torch.int32"):
        load_generator(q)


def test_truncated_and_garbage_files_are_one_line_errors(tmp_path):
    p = tmp_path / "g.safetensors"
    save_generator(p, build_generator("M1"), 1)
    data = p.read_bytes()
    for i, blob in enumerate([data[: len(data) // 2], b"\x00" * 7, b"\xff" * 64, b"not safetensors at all"]):
        q = tmp_path / f"broken{i}.safetensors"
        q.write_bytes(blob)
        with pytest.raises(CheckpointError) as e:
            load_generator(q)
        assert str(q) in str(e.value) and "\n" not in str(e.value)


def test_pickle_files_are_never_opened(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for suffix in (".pt", ".pth", ".pkl"):
        p = tmp_path / f"weights{suffix}"
        p.write_bytes(pickle.dumps(Evil()))
        with pytest.raises(CheckpointError, match="never loaded"):
            read_tensors(p)
    assert not marker.exists()


def test_save_tensors_leaves_no_temp_files(tmp_path):
    save_tensors(tmp_path / "a.safetensors", {"x": torch.arange(4)})
    assert [p.name for p in tmp_path.iterdir()] == ["a.safetensors"]
