"""CUDA graphs in the training loop: block sizes everywhere; replays, fallback and bf16 statistics on a GPU."""

import pytest
import torch
from tiny import fixture_faces, tiny

from emogan.runs.store import Run
from emogan.training.cuda_graphs import block_size
from emogan.training.loop import Job, train_many


def test_block_size_never_steps_over_a_snapshot():
    assert block_size(10, 0, 5000, 50, (950, 1900, 2950, 4110, 4700, 4850)) == 10
    assert block_size(10, 0, 5000, 50, (4115,)) == 5
    assert block_size(16, 0, 1000, 50, ()) == 2
    assert block_size(10, 0, 5003, 50, ()) == 1


def test_graphs_need_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(Exception, match="CUDA graphs need a CUDA device"):
        train_many(fixture_faces(), [Job(tiny("M1"), tmp_path / "a")], iters=2, batch=4, device="cpu",
                   cuda_graphs=True)


@pytest.mark.filterwarnings("error::RuntimeWarning")      # a failed capture would compare eager with eager


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_graphs_match_eager_statistically_on_gpu(tmp_path):
    """bf16 + CUDA graphs vs the eager fp32 loop: same seeds, losses within noise (not bit-equal)."""
    faces = fixture_faces()
    kw = dict(iters=300, batch=32, snapshot_every=50, snapshot_at=(), n_fixed=8, device="cuda")
    train_many(faces, [Job("M1", tmp_path / "g" / "M1")], **kw)
    train_many(faces, [Job("M1", tmp_path / "e" / "M1")], amp=False, cuda_graphs=False, **kw)
    g = Run(tmp_path / "g" / "M1").losses().iloc[-100:]
    e = Run(tmp_path / "e" / "M1").losses().iloc[-100:]
    for col in ("loss_D", "loss_G"):
        assert abs(g[col].mean() - e[col].mean()) < 0.5 * max(g[col].std(), e[col].std(), 0.05) + 0.25


def _replays_draw_fresh_batches(tmp_path, models):
    jobs = [Job(m, tmp_path / m) for m in models]
    results = train_many(fixture_faces(), jobs, iters=60, batch=32, snapshot_every=30, snapshot_at=(), n_fixed=8,
                         device="cuda")
    for r in results:
        assert (r.status, r.iteration) == ("done", 60)
        losses = Run(r.path).losses()
        assert losses["loss_D"].notna().all() and len(losses) == 60
        a, b = losses["loss_D"].to_numpy()[20:30], losses["loss_D"].to_numpy()[30:40]
        assert (a != b).any(), f"{r.path.name}: two graph replays gave the same losses"


# A failed capture only warns and trains on eagerly (right for users, wrong for this test): as an error here, it
# fails the test, and the GPU session then trains without graphs.


@pytest.mark.filterwarnings("error::RuntimeWarning")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_graph_replays_draw_fresh_batches_for_every_model_on_gpu(tmp_path):
    """A graph that baked its random draws in would repeat the same 10 losses every block: they must not repeat."""
    _replays_draw_fresh_batches(tmp_path, ("M1", "M6", "M7"))      # dropout; BN in D; EMA + DiffAugment + SN


@pytest.mark.filterwarnings("error::RuntimeWarning")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_graph_replays_of_a_conditional_model_on_gpu(tmp_path):
    """M8 indexes the emotion labels inside the graph; on its own, so that a failure here costs M1..M7 nothing."""
    _replays_draw_fresh_batches(tmp_path, ("M8",))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_failed_capture_falls_back_to_eager_on_gpu(tmp_path, monkeypatch):
    import emogan.training.cuda_graphs

    def broken(*args, **kwargs):
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(emogan.training.cuda_graphs, "capture", broken)
    with pytest.warns(RuntimeWarning, match="CUDA graph capture failed"):
        [r] = train_many(fixture_faces(), [Job("M1", tmp_path / "M1")], iters=30, batch=16, snapshot_every=10,
                         snapshot_at=(), n_fixed=8, device="cuda")
    assert (r.status, r.iteration) == ("done", 30)
    assert len(Run(r.path).losses()) == 30

