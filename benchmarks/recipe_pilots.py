"""Short pilot runs of candidate recipes for M7..M10, judged by the project's metrics against validation faces.

    python benchmarks/recipe_pilots.py --data ../shared/data/fer2013 --out /tmp/pilots --iters 1000 --lanes 2
    python benchmarks/recipe_pilots.py --out /tmp/pilots --table --baseline OLD/M7-all-s0 --baseline OLD/M8-all-s0
    python benchmarks/recipe_pilots.py --data ../shared/data/fer2013 --out /tmp/pilots --cost   # seconds/iteration
    python benchmarks/recipe_pilots.py --data ../shared/data/fer2013 --out /tmp/pilots --cost r5-rp r5-rp-sched-resD

Each candidate is the recipe M7 and M8 shipped with before the pilots ("base"), changed in one or two ways that
the literature reports to help at this scale (../shared/RECIPES.md has the sources). Every candidate trains at
seed 0 on FER2013's training split, one thread per run and `--lanes` runs side by side, into OUT/<candidate>;
then `python -m emogan metrics --every 250` measures it (N = 1000, the same as the shipped runs). The table gives
FER-FID, coverage and (conditional models) label accuracy at the last iteration and averaged over the last two
measured snapshots, which halves the snapshot-to-snapshot noise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from emogan.models import GANConfig, get_config

# The recipe M7 had before the pilots: M3's generator, spectral-norm D without dropout, hinge loss, TTUR Adam,
# a fixed EMA of decay 0.999 and DiffAugment. M8 was the same, made conditional with a mean-pooled projection.
BASE_M7 = get_config("M3").replace(
    name="M7", d_dropout=0.0, d_spectral_norm=True, loss="hinge", lr_g=1e-4, lr_d=4e-4, beta1=0.0, beta2=0.9,
    ema_decay=0.999, diffaugment=True, summary="pilot")
BASE_M8 = BASE_M7.replace(name="M8", conditional=True)
# The M7 the first round chose, named here so that the third round keeps its start when the registry moves on.
SECOND_ROUND_M7 = BASE_M7.replace(diffaugment=False, ema_ramp=0.05, g_modulation="z")
# The M8 the first round chose: the second round's M7, conditional, with a sum-pooled projection and a head on D's
# pooled features.
FIRST_ROUND_M8 = SECOND_ROUND_M7.replace(name="M8", conditional=True, d_projection_pool="sum", ac_weight=1.0,
                                         ac_head="pooled", summary="pilot")

CANDIDATES: dict[str, GANConfig] = {
    # M7: DiffAugment slows the first thousands of steps on full-size data; the fixed 0.999 EMA lags; self-
    # modulated BN improved FID in 124 of 144 settings (Chen et al. 2019).
    "M7-noaug": BASE_M7.replace(diffaugment=False),
    "M7-noaug-ramp": BASE_M7.replace(diffaugment=False, ema_ramp=0.05),
    "M7-noaug-ramp-smbn": BASE_M7.replace(diffaugment=False, ema_ramp=0.05, g_modulation="z"),
    # DiffAugment kept: whether turning it off is what helps, or the ramp and self-modulation alone.
    "M7-ramp-smbn": BASE_M7.replace(ema_ramp=0.05, g_modulation="z"),
    # M2 (the original's best rung) learns faster in its first 1000 iterations: try its Adam settings.
    "M7-noaug-ramp-adam2": BASE_M7.replace(diffaugment=False, ema_ramp=0.05, lr_g=2e-4, lr_d=2e-4, beta1=0.5,
                                           beta2=0.999),
    # M8: the reference projection sum-pools; StudioGAN's conditional baselines use conditional BN in G; an
    # auxiliary classifier (ACGAN-Mod, cond_lambda 1.0) pushes hardest towards classifiable faces.
    "M8-sum": BASE_M8.replace(d_projection_pool="sum"),
    "M8-sum-cbn": BASE_M8.replace(d_projection_pool="sum", g_modulation="emotion"),
    "M8-sum-ac": BASE_M8.replace(d_projection_pool="sum", ac_weight=1.0),
    "M8-sum-cbn-ac": BASE_M8.replace(d_projection_pool="sum", g_modulation="emotion", ac_weight=1.0),
    # Second round, from the M8 the first round chose (head on D's pooled features; label accuracy 16% at 1500,
    # 27% at 5000): what the head reads. Mean-pooling D's 12x12 features forgets where a mouth or a brow is; a CNN
    # of its own is also free of D's spectral norm; a larger weight pushes G harder towards what the head reads.
    "M8-acflat": FIRST_ROUND_M8.replace(ac_head="flat"),
    "M8-acnet": FIRST_ROUND_M8.replace(ac_head="net"),      # the registry's M8 since
    "M8-acnet-w3": FIRST_ROUND_M8.replace(ac_head="net", ac_weight=3.0),
    "M8-acflat-w3": FIRST_ROUND_M8.replace(ac_head="flat", ac_weight=3.0),
    # Third round, from the M7 the first round chose (M7-noaug-ramp-smbn; FER-FID 0.95x M2's at 5000 over three
    # seeds, short of 0.8x): capacity. Its D has two strided convs and stops at 12x12; StudioGAN's logs put SNGAN's
    # deeper spectral-norm D far ahead of DCGAN's at equal steps. A third D stage (down to 6x6), a D twice as wide,
    # a G twice as wide, and the wide G with the third D stage.
    "M7-d3": SECOND_ROUND_M7.replace(d_channels=(64, 128, 256)),
    "M7-dwide": SECOND_ROUND_M7.replace(d_channels=(128, 256)),
    "M7-gwide": SECOND_ROUND_M7.replace(g_base=128, g_channels=(256, 128, 64)),
    "M7-gwide-d3": SECOND_ROUND_M7.replace(g_base=128, g_channels=(256, 128, 64), d_channels=(64, 128, 256)),
    # Fourth round: the third round's best at 1000 with G's learning rate doubled (M2, without spectral norm and
    # at 2e-4, is far ahead of M7 at 1000 and behind it at 5000); then the same rate on the cheaper Gs and Ds, since
    # the wide G costs twice M7's time.
    "M7-gwide-d3-lrg2": SECOND_ROUND_M7.replace(g_base=128, g_channels=(256, 128, 64), d_channels=(64, 128, 256),
                                                lr_g=2e-4),
    "M7-lrg2": SECOND_ROUND_M7.replace(lr_g=2e-4),
    "M7-d3-lrg2": SECOND_ROUND_M7.replace(d_channels=(64, 128, 256), lr_g=2e-4),
}
# Fifth round, for realism: from the M7 and M8 the fourth round chose, R3GAN's pieces (Huang et al. 2024) added one
# at a time, then gentler emotion pushes for the conditional model (../shared/RECIPES.md, "Realism").
FOURTH_ROUND_M7 = SECOND_ROUND_M7.replace(g_base=128, g_channels=(256, 128, 64), d_channels=(64, 128, 256), lr_g=2e-4)
# The relativistic pairing loss with R1 and R2 every 4th D step; the schedules over a 5000-iteration run; a small
# residual D without normalization (the conditional ones mean-pool the projection: no spectral norm bounds it).
R5_RP = dict(loss="rpgan", gamma=1.0, penalty_every=4)
R5_SCHED = dict(schedule_iters=5000, lr_final_scale=0.25, beta2_final=0.99, gamma_final=0.1, ema_halflife_kimg=20.0)
R5_RESD = dict(d_arch="residual", d_spectral_norm=False, d_channels=(32, 64, 128), d_blocks=1, d_expand=1,
               d_group_width=16)
R5_M9 = FOURTH_ROUND_M7.replace(name="M9", **R5_RP, **R5_SCHED, **R5_RESD)
R5_COND = R5_M9.replace(name="M10", conditional=True, d_projection_pool="mean")
CANDIDATES.update({
    "r5-rp": FOURTH_ROUND_M7.replace(**R5_RP),
    "r5-rp-sched": FOURTH_ROUND_M7.replace(**R5_RP, **R5_SCHED),
    "r5-rp-sched-resD": R5_M9,                                      # the registry's M9 when it was added
    "r5-rp-sched-resD-lrd2": R5_M9.replace(lr_d=2e-4),              # R3GAN's equal rates for G and D
    "r5-rp-sched-resD-r1every": R5_M9.replace(penalty_every=1),     # R3GAN's penalties at every step, at their cost
    "r5-rp-sched-resD-g32": R5_M9.replace(d_group_width=32),        # wider groups in the blocks' 3x3 convs
    "r5-rp-sched-resD-x2": R5_M9.replace(d_expand=2),               # R3GAN's expansion factor, at about 1.1x M7
    # The conditional model: M8's push on the recipe above, at a smaller weight; ReACGAN's D2D-CE at its CIFAR-10
    # weight 0.5 (the registry's M10 when it was added) and at 1.0.
    "r5c-acnet-w03": R5_COND.replace(ac_weight=0.3, ac_head="net"),
    "r5c-d2dce": R5_COND.replace(ac_weight=0.5, ac_head="pooled", ac_loss="d2dce"),
    "r5c-d2dce-w1": R5_COND.replace(ac_weight=1.0, ac_head="pooled", ac_loss="d2dce"),
    "r5c-m8push": R5_COND.replace(ac_weight=1.0, ac_head="net"),    # M8's push unchanged, for comparison
})
SHOWN = ("fer_fid", "coverage", "msssim", "label_accuracy", "c2st")     # c2st: the realism detector's accuracy


def train_one(name: str, data: str, out: Path, iters: int) -> None:
    """Train one candidate in this process (one thread), as `emogan train` would."""
    import torch

    from emogan.data import load_faces
    from emogan.training.loop import train

    torch.set_num_threads(1)
    faces = load_faces(data, split="train")
    command = ["python", "benchmarks/recipe_pilots.py", "--one", name, "--data", data, "--out", str(out),
               "--iters", str(iters)]
    result = train(faces, out / name, model=CANDIDATES[name], seed=0, iters=iters, snapshot_every=250,
                   command=command)
    print(f"{name}: {result.status} at iteration {result.iteration}", file=sys.stderr)


def cost(data: str, names: list[str] = (), iters: int = 32) -> str:
    """Seconds per iteration of the candidates `names` against the registry's M7 (and M8, for conditional ones), or
    without names of the registry's M7 and M8 against the recipe before the pilots, in this one process (one thread,
    bf16 autocast where the CPU has it natively, as training would). The recipes take turns step by step, so a busy
    machine slows all of them alike; the ratios are of CPU time, which waiting for a shared core does not count.
    Each recipe steps through its own iterations, so lazy penalties and schedules count: 3 warm-up and 32 timed
    steps keep the share of penalised steps at exactly 1/4 (or 1/8, 1/2)."""
    import statistics
    import time

    import torch

    from emogan.data import load_faces
    from emogan.device import fast_bf16
    from emogan.models import get_config
    from emogan.training.loop import step
    from emogan.training.losses import get_losses
    from emogan.training.state import build_state

    torch.set_num_threads(1)
    faces = load_faces(data, split="train")
    images = torch.from_numpy(faces.images)
    labels = torch.from_numpy(faces.labels.astype("int64"))
    if names:
        configs = {"registry M7": get_config("M7")}
        if any(CANDIDATES[n].conditional for n in names):
            configs["registry M8"] = get_config("M8")
        configs.update({n: CANDIDATES[n] for n in names})
        bases = ("registry M7", "registry M8")
    else:
        configs = {"before (M7)": BASE_M7, "before (M8)": BASE_M8, "registry M7": get_config("M7"),
                   "registry M8": get_config("M8")}
        bases = ("before (M7)", "before (M8)")
    cpu = torch.device("cpu")
    states = {k: build_state(c, 0, cpu, amp=fast_bf16(cpu)) for k, c in configs.items()}
    wall: dict[str, list[float]] = {k: [] for k in configs}
    used: dict[str, list[float]] = {k: [] for k in configs}
    for i in range(3 + iters):                  # 3 warm-up steps: oneDNN picks its kernels on the first calls
        for k, c in configs.items():
            s = states[k]
            t0, c0 = time.perf_counter(), time.process_time()
            step(s, c, images, 64, get_losses(c.loss), labels)
            if i >= 3:
                wall[k].append(time.perf_counter() - t0)
                used[k].append(time.process_time() - c0)
            s.iteration += 1
    lines = [f"| recipe | s / iteration (wall) | CPU s / iteration | CPU against {bases[0]} (or {bases[1]}) |",
             "|---|---|---|---|"]
    for k, c in configs.items():
        base = statistics.mean(used[bases[1] if c.conditional else bases[0]])
        lines.append(f"| {k} | {statistics.mean(wall[k]):.3f} | {statistics.mean(used[k]):.3f} | "
                     f"{statistics.mean(used[k]) / base:.2f}x |")
    return "\n".join(lines)


def run_candidate(name: str, data: str, out: Path, iters: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = (out / f"{name}.log").open("w")
    if not (out / name / "config.json").exists() or "--resume" in sys.argv:
        subprocess.run([sys.executable, __file__, "--one", name, "--data", data, "--out", str(out),
                        "--iters", str(iters)], check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
    subprocess.run([sys.executable, "-m", "emogan", "metrics", str(out / name), "--data", data, "--every", "250",
                    "--quiet"], check=True, env=env, stdout=log, stderr=subprocess.STDOUT)


def table(out: Path, names: list[str], baselines: list[Path] = ()) -> str:
    """The pilots' figures at their last measured iteration; `baselines` (runs of the recipes before the pilots,
    measured every 50 iterations) are shown at the same iteration, and the mean over the same two snapshots."""
    from emogan.metrics import read_metrics

    lines = ["| candidate | iteration | " + " | ".join(SHOWN) + " | mean of last two: FER-FID / coverage / label acc. |",
             "|---|---|" + "---|" * len(SHOWN) + "---|"]
    rows = [(name, out / name) for name in names] + [(f"{p.name} (before the pilots)", p) for p in baselines]
    last_it = None
    for name, path in rows:
        if not (path / "metrics.jsonl").exists():
            continue
        m = read_metrics(path)
        if last_it is not None and path in baselines:
            m = m[m["iteration"].isin([last_it - 250, last_it])]
        last, tail = m.iloc[-1], m.tail(2)
        last_it = int(last["iteration"]) if path not in baselines else last_it

        def fmt(v: object) -> str:
            return "-" if v is None or v != v else f"{float(v):.3f}"
        tail_means = " / ".join(fmt(tail[k].mean()) if k in tail else "-" for k in ("fer_fid", "coverage",
                                                                                   "label_accuracy"))
        lines.append(f"| {name} | {int(last['iteration'])} | "
                     + " | ".join(fmt(last.get(k)) for k in SHOWN) + f" | {tail_means} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("EMOGAN_DATA"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--iters", type=int, default=1000)
    ap.add_argument("--lanes", type=int, default=2)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--table", action="store_true", help="only print the table of the pilots under --out")
    ap.add_argument("--cost", action="store_true",
                    help="only time the named candidates against the registry's M7 (and M8), or without names the "
                         "registry's M7 and M8 against the recipe before the pilots, in alternation in one one-thread "
                         "process")
    ap.add_argument("--baseline", type=Path, action="append", default=[],
                    help="a run of the recipe before the pilots, shown in the table at the same iteration")
    ap.add_argument("candidates", nargs="*", default=[], help="candidate names (default: all)")
    args = ap.parse_args()
    named, args.candidates = args.candidates, args.candidates or list(CANDIDATES)
    unknown = [c for c in args.candidates if c not in CANDIDATES]
    if unknown:
        ap.error(f"unknown candidate {unknown[0]!r}: expected one of {', '.join(CANDIDATES)}")
    if args.one:
        train_one(args.one, args.data, args.out, args.iters)
        return
    if args.cost:
        print(cost(args.data, named))
        return
    if not args.table:
        if not args.data:
            ap.error("no dataset given: pass --data PATH or set EMOGAN_DATA")
        args.out.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(args.lanes) as pool:
            for f in [pool.submit(run_candidate, c, args.data, args.out, args.iters) for c in args.candidates]:
                f.result()
    print(table(args.out, args.candidates, args.baseline))


if __name__ == "__main__":
    main()
