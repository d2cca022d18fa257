"""Variable-length recordings: accuracy on JapaneseVowels and the cost of padding.

Two measurements, in one run:

1. **JapaneseVowels** (UEA archive, shipped with aeon: 270 train / 370 test
   recordings, 12 channels, lengths 7-29, 9 classes; official split), read in
   its raw unequal-length form as a DataFrame column of ``(T_i, 12)`` arrays:
   the default ``MultiTaskConvEstimator`` accuracy and fit seconds over seeds
   0, 1, 2, next to LITETime's published 0.9946 (on the padded version).
2. **Bucketed batches vs padding everything**: recordings whose lengths are
   uniform in [T/2, T], fitted as a ragged field (each batch padded to its own
   longest member, batches drawn from length buckets) and, for the same
   epochs, with every recording zero-padded to T. The ratio of fit seconds is
   what the bucketing saves (the bar: at most 0.8).

Run: ``python benchmarks/variable_length.py [--seeds 0 1 2] [--n 512 --steps 512]``.
Needs aeon (``pip install "skmtl[bench]"``) for part 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd

LITETIME_PUBLISHED = 0.9946


def _japanese_vowels():
    import aeon
    from aeon.datasets import load_from_ts_file

    root = os.path.join(os.path.dirname(aeon.__file__), "datasets", "data")
    folder = os.path.join(root, "JapaneseVowels")
    parts = []
    for split in ("TRAIN", "TEST"):
        X, y = load_from_ts_file(os.path.join(folder, f"JapaneseVowels_{split}.ts"))
        # aeon gives (channels, T_i) per recording; skmtl reads (T_i, channels).
        parts += [pd.DataFrame({"signal": [np.asarray(x).T for x in X]}), y]
    return parts


def japanese_vowels(seeds) -> dict:
    from skmtl import MultiTaskConvEstimator

    X_train, y_train, X_test, y_test = _japanese_vowels()
    scores, seconds = [], []
    for seed in seeds:
        est = MultiTaskConvEstimator(random_state=seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            est.fit(X_train, y_train)
        seconds.append(time.perf_counter() - start)
        scores.append(est.score(X_test, y_test))
    return {"accuracy": scores, "fit_seconds": seconds}


def bucketed_vs_padded(n: int, steps: int, epochs: int) -> dict:
    from skmtl import MultiTaskConvEstimator

    rng = np.random.default_rng(0)
    lengths = rng.integers(steps // 2, steps + 1, n)
    labels = np.arange(n) % 2
    cells = [
        np.sin(np.linspace(0, 4 + 4 * lab, t))[:, None]
        + 0.3 * rng.standard_normal((t, 2))
        for t, lab in zip(lengths, labels, strict=True)
    ]
    padded = np.zeros((n, steps, 2), dtype=np.float32)
    for i, cell in enumerate(cells):
        padded[i, : len(cell)] = cell
    # Training only: no rows held out for conformal calibration.
    params = {
        "trunk": "conv",
        "epochs": epochs,
        "random_state": 0,
        "calibration_fraction": None,
    }
    timings = {}
    for name, X in (
        ("padded", {"signal": padded}),
        ("bucketed", pd.DataFrame({"signal": cells})),
    ):
        est = MultiTaskConvEstimator(**params)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            est.fit(X, labels)
        timings[name] = time.perf_counter() - start
    return timings


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--steps", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--skip-archive", action="store_true")
    args = parser.parse_args(argv)

    if not args.skip_archive:
        result = japanese_vowels(args.seeds)
        acc, secs = result["accuracy"], result["fit_seconds"]
        spread = statistics.stdev(acc) if len(acc) > 1 else 0.0
        print("JapaneseVowels (raw unequal lengths, official split)")
        print(f"  seeds               {args.seeds}")
        print(f"  accuracy            {statistics.mean(acc):.4f} +/- {spread:.4f}")
        print(f"  per seed            {[round(a, 4) for a in acc]}")
        print(f"  fit seconds         {statistics.mean(secs):.1f}")
        print(f"  LITETime published  {LITETIME_PUBLISHED:.4f} (padded version)")
        print(f"  ratio to published  {statistics.mean(acc) / LITETIME_PUBLISHED:.3f}")
    timing = bucketed_vs_padded(args.n, args.steps, args.epochs)
    print(
        f"\nLengths uniform in [{args.steps // 2}, {args.steps}], n={args.n}, "
        f"{args.epochs} epochs"
    )
    print(f"  padded to {args.steps} (s)   {timing['padded']:.1f}")
    print(f"  bucketed batches (s)  {timing['bucketed']:.1f}")
    print(
        f"  ratio bucketed/padded {timing['bucketed'] / timing['padded']:.3f} (bar 0.8)"
    )


if __name__ == "__main__":
    main()
