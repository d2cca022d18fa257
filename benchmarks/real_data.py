"""Accuracy of the default estimator on real recordings, next to MiniRocket.

What it measures
----------------
The UCR/UEA/TSER archive sets that ship inside ``aeon`` (the ``bench`` extra:
``pip install skmtl[bench]``), on their official train/test splits, read with
``aeon.datasets.load_from_ts_file`` and transposed from aeon's
``(n, channels, steps)`` to skmtl's ``(n, steps, channels)``:

* classification: GunPoint (50 x 150), ArrowHead (36 x 251, 3 classes),
  ItalyPowerDemand (67 x 24), BasicMotions (40 x 100 x 6 channels, 4 classes);
  test accuracy;
* regression: CardanoSentiment (74 x 24 x 2 channels); test RMSE, next to
  the RMSE of predicting the training mean (a set with little signal);
* on request (``--sets OSULeaf ACSF1``), two sets the defaults were not tuned
  on: OSULeaf (200 x 427, 6 classes) and ACSF1 (100 x 1,460, 10 classes);
* a multi-task pair built the way the archive builds its ``_disc`` sets:
  Covid3Month (140 x 84) with its regression target, and the same target cut
  into tertiles (edges from the training targets) as a 3-class task. One
  estimator with both tasks against two single-task estimators: test RMSE and
  accuracy of each, and whether the class head collapsed to one class.

For each set: the skmtl default ``MultiTaskConvEstimator(random_state=seed)``
(any parameter can be overridden with ``--param name=value``) as mean ± std
over ``--seeds``, with its fit seconds; in the same run aeon's
``MiniRocketClassifier`` / ``MiniRocketRegressor`` (same seeds; numba's
first-call compilation, ~40 s, is paid before any timing by a warm-up fit);
and the published figures: FCN (Wang et al. 2017 / Fawaz et al. 2019: 2,000
epochs, mean of 5 runs; TSER: Tan et al. 2021) and the best published deep
model (H-InceptionTime, Ismail-Fawaz et al. 2022).

Run it
------
::

    python benchmarks/real_data.py
    python benchmarks/real_data.py --sets ArrowHead --seeds 0   # one quick set
    python benchmarks/real_data.py --param trunk='"conv"' --param epochs=20

About 3 minutes on 2 CPU cores with the defaults (6 sets, seeds 0 1 2, plus
the numba warm-up), a few seconds per set and seed after that. Numbers are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import time
import warnings

from _common import environment, load_average, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# name: (kind, published FCN, best published deep); RMSE for regression.
SETS = {
    "GunPoint": ("classification", 1.000, 1.000),
    "ArrowHead": ("classification", 0.843, 0.891),
    "ItalyPowerDemand": ("classification", 0.963, 0.969),
    "BasicMotions": ("classification", 1.000, 1.000),
    "CardanoSentiment": ("regression", 0.3023, 0.2895),
    "Covid3Month": ("pair", None, None),
}
# Run only when named with --sets: checks on sets the defaults were not tuned on
# (FCN on OSULeaf from Wang et al. 2017; ACSF1 has no published FCN figure).
EXTRA_SETS = {
    "OSULeaf": ("classification", 0.988, None),
    "ACSF1": ("classification", None, None),
}
DEFAULT_SETS = list(SETS)
SETS.update(EXTRA_SETS)
DEV_CLASSIFICATION = ("GunPoint", "ArrowHead", "ItalyPowerDemand", "BasicMotions")


def load(name: str):
    """``(X_train, y_train, X_test, y_test)`` of a set shipped with aeon."""
    import aeon
    import numpy as np
    from aeon.datasets import load_from_ts_file

    root = os.path.join(os.path.dirname(aeon.__file__), "datasets", "data", name)
    parts = []
    for split in ("TRAIN", "TEST"):
        X, y = load_from_ts_file(os.path.join(root, f"{name}_{split}.ts"))
        parts += [np.ascontiguousarray(np.transpose(X, (0, 2, 1)), np.float32), y]
    return parts


def tertiles(y_train, y):
    """``y`` cut at the training targets' tertiles: labels 0, 1, 2."""
    import numpy as np

    edges = np.quantile(np.asarray(y_train, float), [1 / 3, 2 / 3])
    return np.searchsorted(edges, np.asarray(y, float), side="right")


def rmse(y_true, y_pred) -> float:
    import numpy as np

    diff = np.asarray(y_pred, float) - np.asarray(y_true, float)
    return float(np.sqrt(np.mean(diff**2)))


def fit_skmtl(params, seed, X, y):
    from skmtl import MultiTaskConvEstimator

    est = MultiTaskConvEstimator(random_state=seed, **params)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    collapsed = any("collapsed" in str(w.message) for w in caught)
    return est, time.perf_counter() - start, collapsed


def fit_minirocket(kind, seed, X, y):
    import numpy as np
    from aeon.classification.convolution_based import MiniRocketClassifier
    from aeon.regression.convolution_based import MiniRocketRegressor

    cls = MiniRocketClassifier if kind == "classification" else MiniRocketRegressor
    est = cls(random_state=seed)
    start = time.perf_counter()
    est.fit(np.transpose(X, (0, 2, 1)).astype(np.float64), y)
    return est, time.perf_counter() - start


def predict_minirocket(est, X):
    import numpy as np

    return est.predict(np.transpose(X, (0, 2, 1)).astype(np.float64))


def warm_numba() -> float:
    """Compile MiniRocket's numba kernels once, so that no fit below pays it."""
    import numpy as np

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for channels in (1, 2):
        X = rng.normal(size=(8, 40, channels)).astype(np.float32)
        fit_minirocket("classification", 0, X, np.arange(8) % 2)
        fit_minirocket("regression", 0, X, rng.normal(size=8))
    return time.perf_counter() - start


def mean_std(values, digits: int = 3) -> str:
    if not values:
        return "—"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.{digits}f} ± {std:.{digits}f}"


def run_set(name, seeds, params, minirocket: bool) -> dict:
    """Scores and fit seconds of skmtl and MiniRocket on one set."""
    import numpy as np

    kind = SETS[name][0]
    X_train, y_train, X_test, y_test = load(name)
    out = {"skmtl": [], "skmtl_s": [], "minirocket": [], "minirocket_s": []}
    for seed in seeds:
        est, seconds, _ = fit_skmtl(params, seed, X_train, y_train)
        pred = est.predict(X_test)
        score = rmse(y_test, pred) if kind == "regression" else np.mean(pred == y_test)
        out["skmtl"].append(float(score))
        out["skmtl_s"].append(seconds)
        if minirocket:
            mr, seconds = fit_minirocket(kind, seed, X_train, y_train)
            pred = predict_minirocket(mr, X_test)
            score = (
                rmse(y_test, pred) if kind == "regression" else np.mean(pred == y_test)
            )
            out["minirocket"].append(float(score))
            out["minirocket_s"].append(seconds)
    if kind == "regression":
        out["mean_baseline"] = rmse(y_test, np.full(len(y_test), np.mean(y_train)))
    return out


def run_pair(name, seeds, params) -> dict:
    """One estimator with a regression task and its tertile classes, against
    two single-task estimators of the same parameters."""
    import numpy as np
    import pandas as pd

    X_train, y_train, X_test, y_test = load(name)
    y_train = np.asarray(y_train, float)
    y_test = np.asarray(y_test, float)
    frame = pd.DataFrame(
        {"value": y_train, "tertile": tertiles(y_train, y_train).astype(np.int64)}
    )
    test_tertile = tertiles(y_train, y_test)
    out = {k: [] for k in ("mt_rmse", "mt_acc", "st_rmse", "st_acc", "mt_s", "st_s")}
    out["collapsed"] = 0
    for seed in seeds:
        est, seconds, collapsed = fit_skmtl(params, seed, X_train, frame)
        pred = est.predict(X_test)
        out["mt_rmse"].append(rmse(y_test, pred["value"]))
        out["mt_acc"].append(float(np.mean(pred["tertile"] == test_tertile)))
        out["mt_s"].append(seconds)
        out["collapsed"] += collapsed
        reg, s_reg, _ = fit_skmtl(params, seed, X_train, frame["value"].to_numpy())
        cls, s_cls, collapsed = fit_skmtl(
            params, seed, X_train, frame["tertile"].to_numpy()
        )
        out["st_rmse"].append(rmse(y_test, reg.predict(X_test)))
        out["st_acc"].append(float(np.mean(cls.predict(X_test) == test_tertile)))
        out["st_s"].append(s_reg + s_cls)
        out["collapsed"] += collapsed
    out["mean_baseline"] = rmse(y_test, np.full(len(y_test), y_train.mean()))
    out["majority_baseline"] = float(
        np.mean(test_tertile == np.bincount(frame["tertile"]).argmax())
    )
    return out


def parse_params(items) -> dict:
    params = {}
    for item in items or []:
        key, _, value = item.partition("=")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=DEFAULT_SETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="estimator parameter (a Python literal), e.g. epochs=300",
    )
    parser.add_argument(
        "--no-minirocket", action="store_true", help="skip aeon's MiniRocket"
    )
    parser.add_argument(
        "--no-shrinkage",
        action="store_true",
        help=(
            "keep the gradient-trained regression heads (skmtl.training.shrinkage off)"
        ),
    )
    args = parser.parse_args(argv)
    params = parse_params(args.param)
    if args.no_shrinkage:
        import skmtl.training.shrinkage

        skmtl.training.shrinkage.ENABLED = False
    minirocket = not args.no_minirocket
    print(f"# Real recordings (aeon's archive sets); {environment()}")
    print(
        f"skmtl parameters: {params or 'defaults'}; seeds {args.seeds}; "
        f"ridge heads: {'off' if args.no_shrinkage else 'on'}; "
        f"load average {load_average()}"
    )
    if minirocket:
        print(f"numba warm-up (not timed below): {warm_numba():.1f} s")
    rows, results = [], {}
    for name in args.sets:
        kind, fcn, best = SETS[name]
        if kind == "pair":
            continue
        res = results[name] = run_set(name, args.seeds, params, minirocket)
        metric = "RMSE" if kind == "regression" else "accuracy"
        digits = 4 if kind == "regression" else 3
        note = f" (mean: {res['mean_baseline']:.4f})" if kind == "regression" else ""
        rows.append(
            [
                f"{name} ({metric}){note}",
                mean_std(res["skmtl"], digits),
                f"{statistics.fmean(res['skmtl_s']):.1f}",
                mean_std(res["minirocket"], digits),
                f"{statistics.fmean(res['minirocket_s']):.2f}"
                if res["minirocket_s"]
                else "—",
                "—" if fcn is None else f"{fcn:.4g}",
                "—" if best is None else f"{best:.4g}",
            ]
        )
    headers = [
        "set",
        "skmtl default",
        "fit s",
        "MiniRocket",
        "fit s",
        "FCN (published)",
        "best deep (published)",
    ]
    if rows:
        print(table(headers, rows))
    dev = [n for n in DEV_CLASSIFICATION if n in results]
    if dev:
        for seed_index, seed in enumerate(args.seeds):
            acc = statistics.fmean(results[n]["skmtl"][seed_index] for n in dev)
            print(f"mean accuracy over {len(dev)} set(s), seed {seed}: {acc:.4f}")
        acc = statistics.fmean(statistics.fmean(results[n]["skmtl"]) for n in dev)
        fcn = statistics.fmean(SETS[n][1] for n in dev)
        print(f"mean over seeds: {acc:.4f} (published FCN: {fcn:.4f})")
    if "Covid3Month" in args.sets:
        pair = results["Covid3Month"] = run_pair("Covid3Month", args.seeds, params)
        print(
            "\n# Multi-task pair: Covid3Month value and its tertiles (3 classes)\n"
            f"predicting the training mean: RMSE {pair['mean_baseline']:.4f}; "
            f"majority class: accuracy {pair['majority_baseline']:.3f}"
        )
        print(
            table(
                ["model", "RMSE", "tertile accuracy", "fit s"],
                [
                    [
                        "one estimator, two tasks",
                        mean_std(pair["mt_rmse"], 4),
                        mean_std(pair["mt_acc"]),
                        f"{statistics.fmean(pair['mt_s']):.1f}",
                    ],
                    [
                        "two single-task estimators",
                        mean_std(pair["st_rmse"], 4),
                        mean_std(pair["st_acc"]),
                        f"{statistics.fmean(pair['st_s']):.1f}",
                    ],
                ],
            )
        )
        print(f"collapse warnings: {pair['collapsed']}")
    print(f"load average now {load_average()}")
    return {"real_data": results}


if __name__ == "__main__":
    main()
