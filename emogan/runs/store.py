"""The run store: one self-describing folder per training run, written atomically, read by everyone."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from emogan.errors import RunError, first_line
from emogan.images import make_grid, split_grid
from emogan.runs.atomic import OutputError, atomic_write_bytes, atomic_write_json
from emogan.runs.paths import member, resolve_run_path, run_argument

if TYPE_CHECKING:
    import torch  # weights and latents only: reading a run's losses and grids needs no torch

RUN_FORMAT = "emogan.run/1"
CONFIG = "config.json"
INDEX = "index.json"
LOSSES = "losses.csv"
LATENTS = "latents.safetensors"
STATE = "state.safetensors"
SCALARS = "scalars.jsonl"     # further scalars a loop of one's own logs beside the losses (emogan.track)
LOSS_COLUMNS = ("iteration", "loss_D", "loss_G", "D_x", "D_G_z", "seconds")
FACES_COLUMNS = 40            # faces per row of a snapshot's stored metric faces


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunError(f"{path}: cannot read ({e})") from None
    except json.JSONDecodeError as e:
        raise RunError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None


def format_loss_row(row: dict[str, float]) -> str:
    return ",".join([str(int(row["iteration"]))] + [repr(float(row[c])) for c in LOSS_COLUMNS[1:]]) + "\n"


# ---------------------------------------------------------------- writing (used by training)

class RunWriter:
    """Writes one run folder. Every file but the append-only loss log is replaced atomically."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def create(self, config: dict[str, Any], latents: torch.Tensor) -> None:
        from emogan.runs import checkpoint
        # config.json last: it is what makes a folder a run, so a kill before it leaves no half-made run behind.
        checkpoint.save_tensors(self.path / LATENTS, {"z": latents})
        self.write_index([], {"state": "running", "iteration": 0, "message": ""})
        atomic_write_bytes(self.path / LOSSES, (",".join(LOSS_COLUMNS) + "\n").encode())
        atomic_write_json(self.path / CONFIG, config)

    def append_losses(self, rows: Iterable[dict[str, float]]) -> None:
        """Appended, not replaced: a kill can tear the last line, which readers skip and resume rewrites."""
        text = "".join(format_loss_row(r) for r in rows)
        if not text:
            return
        _append_synced(self.path / LOSSES, text)

    def truncate_losses(self, last_iteration: int) -> None:
        """Keep rows up to `last_iteration` (the resumed snapshot): later ones are recomputed identically."""
        lines = _complete_lines(self.path / LOSSES)
        header, rows = lines[0], lines[1:]
        kept = [ln for ln in rows if int(ln.split(",", 1)[0]) <= last_iteration]
        atomic_write_bytes(self.path / LOSSES, ("".join([header] + kept)).encode())

    def write_snapshot_files(self, iteration: int, grid: Image.Image,
                             weights: tuple[dict[str, torch.Tensor], dict[str, str]] | None,
                             faces: np.ndarray | None = None) -> dict[str, Any]:
        """The sample grid, (optionally) G's weights from `checkpoint.generator_payload`, and (optionally) the faces
        the metrics measure, uint8 (N, 48, 48), for a run whose generator cannot be stored; returns the index entry."""
        entry: dict[str, Any] = {"iteration": int(iteration), "grid": f"samples/{iteration:06d}.png", "weights": None}
        buf = io.BytesIO()
        grid.save(buf, format="PNG", optimize=True)
        atomic_write_bytes(self.path / entry["grid"], buf.getvalue())
        if faces is not None:
            # PNG: lossless, and a quarter smaller than the raw bytes; not optimized, which triples the time for 1%.
            entry["faces"], entry["n_faces"] = f"faces/{iteration:06d}.png", int(len(faces))
            buf = io.BytesIO()
            make_grid(faces, ncols=FACES_COLUMNS).save(buf, format="PNG")
            atomic_write_bytes(self.path / entry["faces"], buf.getvalue())
        if weights is not None:
            from emogan.runs import checkpoint
            entry["weights"] = f"weights/G_{iteration:06d}.safetensors"
            checkpoint.save_tensors(self.path / entry["weights"], *weights)
        return entry

    def write_index(self, snapshots: list[dict[str, Any]], status: dict[str, Any]) -> None:
        atomic_write_json(self.path / INDEX, {"format": RUN_FORMAT, "snapshots": snapshots, "status": status})

    def append_scalars(self, rows: Iterable[dict[str, Any]]) -> None:
        """Further scalars, one JSON line per iteration ({"iteration": N, name: value, ...}), appended as the losses."""
        text = "".join(json.dumps(r, allow_nan=True) + "\n" for r in rows)
        if not text:
            return
        _append_synced(self.path / SCALARS, text)

    def truncate_scalars(self, last_iteration: int) -> None:
        """Keep the further scalars up to `last_iteration`, as truncate_losses does the losses."""
        if not (self.path / SCALARS).exists():
            return
        kept = [ln for ln in _complete_lines(self.path / SCALARS) if _scalar_iteration(ln) <= last_iteration]
        atomic_write_bytes(self.path / SCALARS, "".join(kept).encode())


def _scalar_iteration(line: str) -> float:
    try:
        return int(json.loads(line)["iteration"])
    except (ValueError, KeyError, TypeError):
        return float("inf")         # a line that cannot be read is not kept


def _complete_lines(path: Path) -> list[str]:
    """The loss log's lines, without a torn (unterminated) last line."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]
    return lines


# ---------------------------------------------------------------- reading (used by the CLI, metrics and the app)

_LOSS_DTYPE = np.dtype([(c, "i8" if c == "iteration" else "f8") for c in LOSS_COLUMNS])


def _parse_loss_rows(path: Path, rows: list[str]) -> pd.DataFrame:
    """The loss rows as a frame: numpy's C parser for a well-formed log (the landing page reads every selected run's
    5000 rows before it draws), and a row-by-row pass only to name the first malformed row of a log it refuses."""
    if rows:
        try:
            return pd.DataFrame(np.loadtxt(rows, delimiter=",", comments=None, dtype=_LOSS_DTYPE, ndmin=1))
        except ValueError:
            pass
    parsed = []
    for lineno, line in enumerate(rows, start=2):
        parts = line.strip().split(",")
        try:
            if len(parts) != len(LOSS_COLUMNS):
                raise ValueError(f"{len(parts)} fields, expected {len(LOSS_COLUMNS)}")
            parsed.append((int(parts[0]), *(float(p) for p in parts[1:])))
        except ValueError as e:
            raise RunError(f"{path}:{lineno}: malformed loss row ({e})") from None
    return pd.DataFrame(np.array(parsed, dtype=_LOSS_DTYPE))


@dataclass(frozen=True)
class RunInfo:
    """One folder under a runs root: what it trained and how far it got, or a one-line reason why it cannot be read."""
    name: str
    path: Path
    model: str = ""
    emotion: str = ""
    dataset: str = ""        # the data folder's name and a short content hash: runs on different data never mix
    state: str = ""          # running | done | interrupted | diverged
    iteration: int = 0
    iters: int = 0
    message: str = ""        # the trainer's status message (e.g. where it diverged)
    error: str | None = None
    seed: int | None = None  # the training seed: runs of one model and emotion at several seeds are compared as one
    summary: str = ""        # the recipe the run was trained with, from its own config (a registry id can move on)
    recipe: str = ""         # that recipe's fingerprint (GANConfig.recipe_id): seeds are grouped by model and recipe
    framework: str = ""      # what trained it: "emogan" (our trainer), or what a loop of one's own said (emogan.track)

    @property
    def group(self) -> str:
        """'emotion · dataset': the runs the explorer compares with each other."""
        return f"{self.emotion} · {self.dataset}" if self.dataset else self.emotion


class Run:
    """A read-only view of one run folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise RunError(f"{self.path}: no such run folder")
        self.config: dict[str, Any] = _read_json(self.file(CONFIG))
        if not isinstance(self.config, dict) or self.config.get("format") != RUN_FORMAT:
            raise RunError(f"{self.path / CONFIG}: not an EmoGAN run config (format "
                           f"{self.config.get('format') if isinstance(self.config, dict) else None!r})")
        for key in ("model", "model_config", "emotion"):
            if key not in self.config:
                raise RunError(f"{self.path / CONFIG}: missing the {key!r} field")

    name = property(lambda self: self.path.name)
    model = property(lambda self: str(self.config["model"]))
    emotion = property(lambda self: str(self.config["emotion"]))

    @property
    def recipe(self) -> str:
        """The fingerprint of the model config the run was trained with ("" when that config cannot be read)."""
        from emogan.models.config import GANConfig
        try:
            return GANConfig.from_dict(self.config["model_config"]).recipe_id()
        except (TypeError, ValueError):
            return ""

    @property
    def framework(self) -> str:
        """What trained the run: "emogan" for our trainer; a loop of one's own records its framework (emogan.track)."""
        return str(self.config.get("framework") or "emogan")

    @property
    def paired_latents(self) -> bool:
        """Whether the run's grids show the shipped runs' fixed latents, so its faces pair with theirs column for
        column (False for a run of another latent size or prior, which draws latents of its own)."""
        return bool(self.config.get("paired_latents", True))

    @property
    def grid_size(self) -> int:
        """Faces per stored grid: the first `grid_n` fixed latents (an exported demo may keep fewer than n_fixed)."""
        return int(self.config.get("grid_n", self.config.get("n_fixed", 64)))

    def _index(self) -> dict[str, Any]:
        index = _read_json(self.file(INDEX))
        if not isinstance(index, dict) or not isinstance(index.get("snapshots"), list):
            raise RunError(f"{self.path / INDEX}: has no snapshot list")
        return index

    def snapshots(self) -> list[dict[str, Any]]:
        return sorted(self._index()["snapshots"], key=lambda s: s["iteration"])

    def snapshot_iterations(self) -> list[int]:
        return [int(s["iteration"]) for s in self.snapshots()]

    def weight_iterations(self) -> list[int]:
        return [int(s["iteration"]) for s in self.snapshots() if s.get("weights")]

    def face_iterations(self) -> list[int]:
        """Snapshots that store the faces the metrics measure (runs of one's own loop, see emogan.track)."""
        return [int(s["iteration"]) for s in self.snapshots() if s.get("faces")]

    def measurable_iterations(self) -> list[int]:
        """Snapshots the metrics can measure: those with generator weights or with stored faces."""
        return [int(s["iteration"]) for s in self.snapshots() if s.get("weights") or s.get("faces")]

    def status(self) -> dict[str, Any]:
        return dict(self._index().get("status") or {})

    def _entry(self, iteration: int) -> dict[str, Any]:
        for s in self.snapshots():
            if s["iteration"] == iteration:
                return s
        raise RunError(f"{self.path}: no snapshot at iteration {iteration} "
                       f"(snapshots: {_describe(self.snapshot_iterations())})")

    def file(self, rel: str) -> Path:
        """A file of the run (a fixed name or an index entry), refused unread if it leads out of the folder.

        The folder may have been sent by someone else: a link to a system file or a FIFO must not be opened."""
        return member(self.path, rel)

    def losses(self) -> pd.DataFrame:
        path = self.file(LOSSES)
        try:
            lines = _complete_lines(path)
        except FileNotFoundError:
            raise RunError(f"{path}: missing") from None
        except (OSError, UnicodeDecodeError) as e:
            raise RunError(f"{path}: cannot read ({e})") from None
        if not lines or tuple(lines[0].strip().split(",")) != LOSS_COLUMNS:
            raise RunError(f"{path}: header must be {','.join(LOSS_COLUMNS)}")
        df = _parse_loss_rows(path, lines[1:])
        # A killed-then-resumed run is rewritten, but a reader may catch one mid-resume: last row wins.
        return df.drop_duplicates("iteration", keep="last").reset_index(drop=True)

    def fixed_latents(self) -> torch.Tensor:
        from emogan.runs import checkpoint
        tensors, _ = checkpoint.read_tensors(self.file(LATENTS))
        z = tensors.get("z")
        z_dim = (self.config.get("model_config") or {}).get("z_dim")
        if z is None or z.dim() != 2 or not z.is_floating_point() or len(z) == 0:
            raise RunError(f"{self.path / LATENTS}: holds no (n, z_dim) float tensor 'z'")
        if z_dim is not None and z.shape[1] != z_dim:
            raise RunError(f"{self.path / LATENTS}: latents have {z.shape[1]} dimensions, the model takes {z_dim}")
        return z.float()

    def grid(self, iteration: int) -> np.ndarray:
        path = self.file(self._entry(iteration)["grid"])
        n = self.grid_size
        try:
            with Image.open(path) as im:
                im.load()
                arr = np.asarray(im.convert("L"))
        except FileNotFoundError:
            raise RunError(f"{path}: sample grid missing") from None
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise RunError(f"{path}: damaged sample grid ({e})") from None
        if arr.shape[0] % 48 or arr.shape[1] % 48 or (arr.shape[0] // 48) * (arr.shape[1] // 48) < n:
            raise RunError(f"{path}: grid of {arr.shape[1]}x{arr.shape[0]} px cannot hold {n} 48x48 faces")
        return split_grid(arr, n)

    def stored_faces(self, iteration: int) -> np.ndarray | None:
        """The metric faces stored at `iteration`, uint8 (N, 48, 48); None where the snapshot stores none."""
        entry = self._entry(iteration)
        if not entry.get("faces"):
            return None
        path = self.file(entry["faces"])
        n = entry.get("n_faces")
        if not isinstance(n, int) or n < 1:
            raise RunError(f"{self.path / INDEX}: the faces at iteration {iteration} have no count (n_faces)")
        try:
            with Image.open(path) as im:
                im.load()
                arr = np.asarray(im.convert("L"))
        except FileNotFoundError:
            raise RunError(f"{path}: stored faces missing") from None
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise RunError(f"{path}: damaged stored faces ({e})") from None
        if arr.shape[0] % 48 or arr.shape[1] % 48 or (arr.shape[0] // 48) * (arr.shape[1] // 48) < n:
            raise RunError(f"{path}: image of {arr.shape[1]}x{arr.shape[0]} px cannot hold {n} 48x48 faces")
        return split_grid(arr, n)

    def scalars(self) -> pd.DataFrame:
        """The further scalars a loop of one's own logged (emogan.track), one row per iteration; empty if none."""
        path = self.file(SCALARS)
        if not path.exists():
            return pd.DataFrame({"iteration": pd.Series(dtype="int64")})
        rows = []
        for lineno, line in enumerate(_complete_lines(path), start=1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise RunError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
        df = pd.DataFrame(rows)
        return df.drop_duplicates("iteration", keep="last").reset_index(drop=True) if len(df) else df

    def load_generator(self, iteration: int, device: str | torch.device = "cpu") -> torch.nn.Module:
        from emogan.runs import checkpoint
        rel = self._entry(iteration).get("weights")
        if not rel:
            raise RunError(f"{self.path}: no generator weights at iteration {iteration} "
                           f"(weights at: {_describe(self.weight_iterations())})")
        G, _ = checkpoint.load_generator(self.file(rel), device)
        return G


def _describe(its: list[int]) -> str:
    if not its:
        return "none"
    return ", ".join(map(str, its)) if len(its) <= 8 else f"{its[0]}..{its[-1]} ({len(its)} in all)"


def nearest(iterations: list[int], target: int) -> int | None:
    """The listed iteration closest to `target` (ties go to the earlier one)."""
    return min(iterations, key=lambda it: (abs(it - target), it)) if iterations else None


def first_nonfinite(losses: pd.DataFrame, columns: Sequence[str] = ("loss_D", "loss_G")) -> int | None:
    """The first iteration at which a loss is NaN or infinite (the run diverged there), or None."""
    if losses.empty:
        return None
    bad = ~np.isfinite(losses[list(columns)].to_numpy(dtype=np.float64)).all(axis=1)
    return int(losses["iteration"].to_numpy()[bad.argmax()]) if bad.any() else None


def loss_log_notes(losses: pd.DataFrame, snapshots: list[int]) -> list[str]:
    """What a loss log says that a status may not: NaN/inf losses ('diverged at N'), or a log that stops before the
    last snapshot ('loss log ends at N of M': rows lost or cut off)."""
    notes = []
    bad = first_nonfinite(losses)
    if bad is not None:
        notes.append(f"diverged at {bad}")
    last = int(losses["iteration"].iloc[-1]) if len(losses) else 0
    if snapshots and last < max(snapshots):
        notes.append(f"loss log ends at {last} of {max(snapshots)}")
    return notes


def open_run(root: str | Path, run: str) -> Run:
    """A run as the CLI takes it: a name under `root`, or the path of a run folder anywhere (see paths.run_argument)."""
    return Run(run_argument(root, run))


def _dataset(config: dict[str, Any]) -> str:
    data = config.get("data") or {}
    source = str(data.get("source") or "")
    name = Path(source).name if source else "unknown data"
    digest = str(data.get("content_hash") or "")[:8]
    return f"{name} ({digest})" if digest else name


def describe_run(root: str | Path, name: str) -> RunInfo:
    """The run folder root/name described, or with its one-line reason when it cannot be read."""
    path = Path(root) / name
    try:
        resolve_run_path(root, name)
        run = Run(path)
        status = run.status()
        seed = run.config.get("seed")
        summary = (run.config.get("model_config") or {}).get("summary")
        return RunInfo(name, path, run.model, run.emotion, _dataset(run.config), str(status.get("state", "")),
                       int(status.get("iteration", 0) or 0), int(run.config.get("iters", 0) or 0),
                       str(status.get("message", "") or ""), seed=seed if isinstance(seed, int) else None,
                       summary=summary if isinstance(summary, str) else "", recipe=run.recipe,
                       framework=run.framework)
    except Exception as e:  # noqa: BLE001 - one bad folder must not hide the others
        return RunInfo(name, path, error=first_line(e))


def scan_runs(root: str | Path) -> list[RunInfo]:
    """Every folder under `root` that looks like a run (it has a config.json) by name, damaged ones with their reason."""
    root = Path(root)
    if not root.is_dir():
        raise RunError(f"{root}: runs folder not found")
    return [describe_run(root, d.name) for d in sorted(root.iterdir())
            if not d.name.startswith(".") and d.is_dir() and (d / CONFIG).exists()]


def _append_synced(path: Path, text: str) -> None:
    """Append `text` and fsync it: what was appended survives a kill (a torn last line at worst)."""
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
