"""CUDA graphs for the training loop: `block` iterations of every model captured once and replayed, each model on
its own stream inside the capture, so a GPU overlaps the small networks and the host launches one graph per block."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

WARMUP = 3          # eager steps before capture: lets cuDNN pick kernels and the optimizer create its state


def block_size(requested: int, start: int, iters: int, snapshot_every: int, snapshot_at: tuple[int, ...]) -> int:
    """The largest block <= requested that never steps over a snapshot iteration."""
    g = math.gcd(requested, snapshot_every, iters)
    for it in snapshot_at:
        if start < it <= iters:
            g = math.gcd(g, it)
    return g


def capture(sessions: Sequence[Any], k: int,
            step_fn: Callable[[Any], torch.Tensor]) -> tuple[torch.cuda.CUDAGraph, list[torch.Tensor]]:
    """One CUDA graph holding k iterations of every session (step_fn(session) -> its (4,) loss stats), and the
    per-session (k, 4) buffers each replay fills."""
    torch.cuda.synchronize()
    device = sessions[0].device
    graph = torch.cuda.CUDAGraph()
    logbufs = [torch.zeros(k, 4, device=device) for _ in sessions]
    streams = [torch.cuda.Stream() for _ in sessions]
    main = torch.cuda.current_stream()
    for sess in sessions:     # grads must be allocated inside the graph's memory pool
        sess.state.opt_G.zero_grad(set_to_none=True), sess.state.opt_D.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        for sess, stream, buf in zip(sessions, streams, logbufs):
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for i in range(k):
                    buf[i].copy_(step_fn(sess))
        cur = torch.cuda.current_stream()
        for stream in streams:
            cur.wait_stream(stream)
    main.synchronize()
    return graph, logbufs
