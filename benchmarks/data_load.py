"""Benchmark: seconds for a cold load (decode, write cache) and a warm load (from cache) of one dataset split."""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

from emogan.data import load_faces

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", default=str(REPO.parent / "shared" / "data" / "fer2013"),
                        help="dataset folder or fer2013.csv (default: ../shared/data/fer2013 from the repo root)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--emotion", default="all")
    args = parser.parse_args(argv)

    # A fresh cache folder, so the first load is really cold whatever earlier runs left behind.
    with tempfile.TemporaryDirectory(prefix="emogan-bench-") as cache_dir, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        faces = load_faces(args.path, args.split, args.emotion, cache_dir=Path(cache_dir))
        t1 = time.perf_counter()
        again = load_faces(args.path, args.split, args.emotion, cache_dir=Path(cache_dir))
        t2 = time.perf_counter()
    assert again.content_hash == faces.content_hash
    print(f"{args.path} split={args.split} emotion={args.emotion}: {len(faces)} images")
    print(f"cold load:   {t1 - t0:.2f} s")
    print(f"cached load: {t2 - t1:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
