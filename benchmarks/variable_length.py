"""Variable-length recordings: the ragged default against padding by hand.

For every unequal-length archive set it finds (official splits), in one run:

- **ragged**: the default ``MultiTaskConvEstimator`` on the raw recordings, a
  DataFrame column of ``(T_i, C)`` arrays, as the docs show;
- **padded**: the same estimator on the recordings zero-padded to the longest
  (train and test), a fixed-length ``(n, T, C)`` field;
- **MiniRocket**: aeon's ``MiniRocketClassifier`` (numba) on the same
  zero-padded recordings, the reference a user would otherwise reach for.

It prints accuracy and fit seconds of each (means over the seeds), the gap of
the ragged default to MiniRocket in points (the bar: at most 2 below), and the
ragged fit's seconds over the padded fit's (the bar: at most 1.5).

Sets: those shipped with aeon (JapaneseVowels, 12 channels, 7-29 steps;
PickupGestureWiimoteZ, 29-361 steps), PLAID (100-1,344 steps) where sktime is
installed (its wheel ships it), and any ``<dir>/<Name>/<Name>_TRAIN.ts`` /
``_TEST.ts`` pair under ``--data-dir`` (the UCR/UEA archive's layout).

Run: ``python benchmarks/variable_length.py [--seeds 0 1 2] [--sets NAME ...]
[--data-dir DIR]``. Needs aeon (``pip install "skmtl[bench]"``).
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

SHIPPED = ("JapaneseVowels", "PickupGestureWiimoteZ", "PLAID")


def _data_dirs(extra: str | None) -> list[str]:
    dirs = []
    if extra:
        dirs.append(extra)
    for package in ("aeon", "sktime"):
        try:
            module = __import__(package)
        except ImportError:
            continue
        dirs.append(os.path.join(os.path.dirname(module.__file__), "datasets", "data"))
    return dirs


def find_sets(data_dir: str | None, names=None) -> dict[str, str]:
    """``{name: folder}`` of the unequal-length sets found (``names``: those)."""
    found = {}
    for root in _data_dirs(data_dir):
        if not os.path.isdir(root):
            continue
        for name in sorted(os.listdir(root)):
            folder = os.path.join(root, name)
            train = os.path.join(folder, f"{name}_TRAIN.ts")
            if name in found or not os.path.isfile(train):
                continue
            if names and name not in names:
                continue
            if not names and root != data_dir and name not in SHIPPED:
                continue
            with open(train) as f:
                header = f.read(4096).lower()
            if "@equallength false" in header:
                found[name] = folder
    return found


def load(name: str, folder: str):
    """Train and test recordings as lists of ``(T_i, C)`` arrays, and labels."""
    from aeon.datasets import load_from_ts_file

    parts = []
    for split in ("TRAIN", "TEST"):
        X, y = load_from_ts_file(os.path.join(folder, f"{name}_{split}.ts"))
        # aeon gives (channels, T_i) per recording; skmtl reads (T_i, channels).
        parts += [[np.asarray(x, dtype=np.float64).T for x in X], np.asarray(y)]
    return parts


def zero_padded(cells, steps: int) -> np.ndarray:
    out = np.zeros((len(cells), steps, cells[0].shape[1]), dtype=np.float32)
    for i, cell in enumerate(cells):
        out[i, : len(cell)] = cell
    return out


def _fit_score(est, X_train, y_train, X_test, y_test, fit=None):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        (fit or est.fit)(X_train, y_train)
    seconds = time.perf_counter() - start
    predicted = est.predict(X_test)
    return float(np.mean(np.asarray(predicted) == y_test)), seconds


def run_set(name: str, folder: str, seeds) -> dict:
    from aeon.classification.convolution_based import MiniRocketClassifier

    from skmtl import MultiTaskConvEstimator

    train, y_train, test, y_test = load(name, folder)
    steps = max(len(c) for c in train + test)
    padded_train, padded_test = zero_padded(train, steps), zero_padded(test, steps)
    forms = {
        "ragged": (
            pd.DataFrame({"signal": train}),
            pd.DataFrame({"signal": test}),
        ),
        "padded": ({"signal": padded_train}, {"signal": padded_test}),
    }
    result = {key: {"accuracy": [], "seconds": []} for key in (*forms, "minirocket")}
    for seed in seeds:
        for key, (X_train, X_test) in forms.items():
            est = MultiTaskConvEstimator(random_state=seed)
            acc, secs = _fit_score(est, X_train, y_train, X_test, y_test)
            result[key]["accuracy"].append(acc)
            result[key]["seconds"].append(secs)
        mr = MiniRocketClassifier(random_state=seed)
        aeon_train = np.transpose(padded_train, (0, 2, 1)).astype(np.float64)
        aeon_test = np.transpose(padded_test, (0, 2, 1)).astype(np.float64)
        start = time.perf_counter()
        mr.fit(aeon_train, y_train)
        secs = time.perf_counter() - start
        acc = float(np.mean(mr.predict(aeon_test) == y_test))
        result["minirocket"]["accuracy"].append(acc)
        result["minirocket"]["seconds"].append(secs)
    lengths = [len(c) for c in train + test]
    result["shape"] = (
        f"{len(train)}/{len(test)} rows, {train[0].shape[1]} ch, "
        f"{min(lengths)}-{max(lengths)} steps, {len(np.unique(y_train))} classes"
    )
    return result


def _warm_numba() -> None:
    from aeon.classification.convolution_based import MiniRocketClassifier

    rng = np.random.default_rng(0)
    for channels in (1, 2):
        X = rng.normal(size=(8, channels, 40))
        MiniRocketClassifier(random_state=0).fit(X, np.arange(8) % 2)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sets", nargs="+", help="only these sets")
    parser.add_argument(
        "--data-dir", help="more sets, one <Name>/<Name>_TRAIN.ts folder each"
    )
    args = parser.parse_args(argv)
    sets = find_sets(args.data_dir, args.sets)
    if not sets:
        raise SystemExit("No unequal-length set found (pip install aeon).")
    _warm_numba()
    print(
        "| set | shape | ragged | padded | MiniRocket (padded) | ragged - MR "
        "| fit s: ragged / padded / MR | ragged / padded fit |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, folder in sets.items():
        r = run_set(name, folder, args.seeds)
        acc = {k: statistics.fmean(r[k]["accuracy"]) for k in r if k != "shape"}
        secs = {k: statistics.fmean(r[k]["seconds"]) for k in r if k != "shape"}
        print(
            f"| {name} | {r['shape']} | {acc['ragged']:.3f} | {acc['padded']:.3f} "
            f"| {acc['minirocket']:.3f} "
            f"| {100 * (acc['ragged'] - acc['minirocket']):+.1f} "
            f"| {secs['ragged']:.1f} / {secs['padded']:.1f} / "
            f"{secs['minirocket']:.1f} | {secs['ragged'] / secs['padded']:.2f} |",
            flush=True,
        )
    print(
        f"\nseeds {args.seeds}; bars: ragged - MR >= -2.0 points, ragged/padded <= 1.5"
    )


if __name__ == "__main__":
    main()
