"""A run's training state (G, D, the EMA of G, optimizers, RNG): built from a seed, saved for --resume in one
safetensors file (JSON in its metadata), and restored from it."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from emogan.errors import RunError, first_line
from emogan.models import GANConfig, build_discriminator, build_generator
from emogan.runs import checkpoint


@dataclass
class TrainState:
    G: torch.nn.Module
    D: torch.nn.Module
    G_ema: torch.nn.Module | None
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    gen: torch.Generator | None   # draws batch indices and z: the run's data order (None: the default generator)
    iteration: int = 0
    elapsed: float = 0.0
    ema_steps: torch.Tensor | None = None   # G updates averaged into G_ema: a device tensor, so CUDA graphs count too
    amp: bool = False             # forward passes under bf16 autocast, weights and activations channels_last

    @property
    def sampler(self) -> torch.nn.Module:
        return self.G_ema if self.G_ema is not None else self.G


def build_state(cfg: GANConfig, seed: int, device: torch.device, own_generator: bool = True,
                capturable: bool = False, amp: bool = False) -> TrainState:
    """Models, optimizers and RNG of one run, initialised from `seed`."""
    torch.manual_seed(seed)
    G, D = build_generator(cfg).to(device), build_discriminator(cfg).to(device)
    if amp:   # the layout oneDNN's and cuDNN's bf16 convolutions work in; the math is unchanged
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False) if cfg.ema_decay > 0 else None
    kw = {"capturable": True} if capturable else {}
    opt_G = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2), **kw)
    opt_D = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2), **kw)
    gen = torch.Generator(device=device).manual_seed(seed) if own_generator else None
    ema_steps = torch.zeros((), device=device) if G_ema is not None else None
    return TrainState(G, D, G_ema, opt_G, opt_D, gen, ema_steps=ema_steps, amp=amp)


def state_payload(s: TrainState, device: torch.device) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Everything `--resume` needs, copied to the CPU (so a background thread can write it while training goes on)."""
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, str] = {"iteration": str(s.iteration), "elapsed": repr(s.elapsed)}
    for name in ("G", "D", "G_ema"):
        m = getattr(s, name)
        if m is not None:
            tensors.update({f"{name}.{k}": v for k, v in m.state_dict().items()})
    for name in ("opt_G", "opt_D"):
        sd = getattr(s, name).state_dict()
        for idx, st in sd["state"].items():
            for k, v in st.items():
                tensors[f"{name}.{idx}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
        meta[f"{name}.param_groups"] = json.dumps(sd["param_groups"])
    tensors["rng.cpu"] = torch.get_rng_state()
    if device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(device)
    if s.gen is not None:
        tensors["rng.gen"] = s.gen.get_state()
    if s.ema_steps is not None:
        tensors["ema.steps"] = s.ema_steps
    return {k: v.detach().to("cpu").clone() for k, v in tensors.items()}, meta


def load_state(path: Path, s: TrainState, device: torch.device) -> None:
    """Restore `s` from a file state_payload wrote; anything missing or malformed is one RunError naming it."""
    tensors, meta = checkpoint.read_tensors(path)
    try:
        for name in ("G", "D", "G_ema"):
            m = getattr(s, name)
            if m is not None:
                checkpoint.load_into(m, tensors, path, prefix=f"{name}.")
        for name in ("opt_G", "opt_D"):
            opt = getattr(s, name)
            state: dict[int, dict[str, torch.Tensor]] = {}
            for key, v in tensors.items():
                if key.startswith(name + "."):
                    _, idx, k = key.split(".", 2)
                    state.setdefault(int(idx), {})[k] = v
            groups = json.loads(meta[f"{name}.param_groups"])
            for g, cur in zip(groups, opt.param_groups):   # capturable is a property of this process, not the file
                g["capturable"] = cur.get("capturable", False)
            opt.load_state_dict({"state": state, "param_groups": groups})
        torch.set_rng_state(tensors["rng.cpu"])
        if device.type == "cuda" and "rng.cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda"], device)
        if s.gen is not None and "rng.gen" in tensors:
            s.gen.set_state(tensors["rng.gen"])
        s.iteration, s.elapsed = int(meta["iteration"]), float(meta["elapsed"])
        if s.ema_steps is not None:    # states written before the count was kept: one G update per iteration
            s.ema_steps.copy_(tensors["ema.steps"] if "ema.steps" in tensors else torch.tensor(float(s.iteration)))
    except (KeyError, ValueError, RuntimeError) as e:
        raise RunError(f"{path}: resume state is incomplete or damaged ({first_line(e)})") from None
