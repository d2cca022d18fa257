"""Does a task with few labels gain from a partner task with many?

What it measures
----------------
Each pair has a **scarce** task, labelled on ``--fraction`` of the training
rows (default 0.2; the rows drawn per seed), and a **dense** partner labelled
on every row. Three fits per pair and seed, all with the same parameters:

* **multi-task**: one estimator, both tasks; the scarce task's unlabelled rows
  carry a missing label (NaN / None);
* **scarce alone**: the scarce task alone on the *same* rows, its unlabelled
  rows given as missing labels (so the two see the same X and labels);
* **dense alone**: the dense task alone, every row labelled.

Test scores on the official test split with every label: accuracy for a class
task, RMSE for a regression task (lower is better). Printed per pair as mean ±
std over ``--seeds``, with the paired gain of multi-task over alone (points of
accuracy, or per cent of RMSE; positive is better) and on how many seeds
multi-task won.

The pairs:

* ``Covid3Month/band``: Covid3Month's rate (regression, dense) with the
  archive's own ``Covid3Month_disc`` bands (3 classes, scarce);
* ``Covid3Month/rate``: the same tasks, the rate scarce and the bands dense;
* ``sensor/material`` and ``sensor/density``: ``make_sensor_tasks(600,
  n_steps=256, noise=1)``, one task scarce and the other dense (test set of
  1,000 from another seed). Density is mostly the material's (a lookup no
  linear map of the features learns from 120 labels); at ``noise=3`` neither
  task predicts the other (material from predicted density: 0.48 accuracy
  against 0.64 alone), so there is nothing to share;
* ``Cardano/tertile``: CardanoSentiment's target (dense) with its tertiles
  (edges from the training targets, scarce), built the way the archive
  builds its ``_disc`` sets. A target with little signal: a check that
  multi-task costs nothing where there is nothing to share.

Run it
------
::

    python benchmarks/mtl_scarce.py
    python benchmarks/mtl_scarce.py --pairs sensor/material --seeds 0
    python benchmarks/mtl_scarce.py --param loss_weighting='"uncertainty"'

About 3 minutes on 2 CPU cores with the defaults (4 pairs x 3 seeds x 3
fits). Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

from _common import environment, load_average, table
from real_data import load, parse_params, rmse, tertiles

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _covid(scarce: str):
    import numpy as np

    X_train, rate_train, X_test, rate_test = load("Covid3Month")
    _, band_train, _, band_test = load("Covid3Month_disc")
    band_train = np.asarray(band_train, float).astype(np.int64)
    band_test = np.asarray(band_test, float).astype(np.int64)
    y_train = {"rate": np.asarray(rate_train, float), "band": band_train}
    y_test = {"rate": np.asarray(rate_test, float), "band": band_test}
    dense = "rate" if scarce == "band" else "band"
    return X_train, y_train, X_test, y_test, scarce, dense


def _cardano():
    import numpy as np

    X_train, y_train, X_test, y_test = load("CardanoSentiment")
    y_train, y_test = np.asarray(y_train, float), np.asarray(y_test, float)
    train = {"value": y_train, "tertile": tertiles(y_train, y_train)}
    test = {"value": y_test, "tertile": tertiles(y_train, y_test)}
    return X_train, train, X_test, test, "tertile", "value"


def _sensor(scarce: str):
    from skmtl.datasets import make_sensor_tasks

    def draw(n, seed):
        X, y = make_sensor_tasks(n, n_steps=256, noise=1.0, random_state=seed)
        return X, {
            "material": y["material"].to_numpy(object),
            "density": y["density"].to_numpy(float),
        }

    X_train, y_train = draw(600, 0)
    X_test, y_test = draw(1000, 10_000)
    dense = "density" if scarce == "material" else "material"
    return X_train, y_train, X_test, y_test, scarce, dense


PAIRS = {
    "Covid3Month/band": lambda: _covid("band"),
    "Covid3Month/rate": lambda: _covid("rate"),
    "sensor/material": lambda: _sensor("material"),
    "sensor/density": lambda: _sensor("density"),
    "Cardano/tertile": _cardano,
}


def _frame(columns: dict, mask=None, scarce=None):
    import numpy as np
    import pandas as pd

    out = {}
    for name, values in columns.items():
        values = np.asarray(values)
        if name == scarce and mask is not None:
            if values.dtype.kind == "f":
                values = np.where(mask, values, np.nan)
            else:
                values = pd.array(
                    [v if m else None for v, m in zip(values, mask, strict=True)],
                    dtype=object,
                )
        out[name] = pd.Series(
            values, dtype=float if values.dtype.kind == "f" else object
        )
    return pd.DataFrame(out)


def _score(y_true, y_pred) -> float:
    import numpy as np

    y_true = np.asarray(y_true)
    if y_true.dtype.kind == "f":
        return rmse(y_true, y_pred)
    return float(np.mean(np.asarray(y_pred).astype(str) == y_true.astype(str)))


def _gain(multi: float, alone: float, regression: bool) -> float:
    """Points of accuracy, or per cent of RMSE; positive: multi-task better."""
    if regression:
        return 100.0 * (alone - multi) / alone
    return 100.0 * (multi - alone)


def _fit(params, seed, X, y):
    from skmtl import MultiTaskConvEstimator

    est = MultiTaskConvEstimator(random_state=seed, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return est, time.perf_counter() - start


def run_pair(name, seeds, params, fraction) -> dict:
    import numpy as np

    X_train, y_train, X_test, y_test, scarce, dense = PAIRS[name]()
    regression = {t: np.asarray(y_train[t]).dtype.kind == "f" for t in y_train}
    out = {k: [] for k in ("mt_s", "mt_d", "st_s", "st_d", "mt_sec", "st_sec")}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        n = len(y_train[scarce])
        mask = np.zeros(n, bool)
        mask[rng.choice(n, max(2, round(fraction * n)), replace=False)] = True
        both = _frame({dense: y_train[dense], scarce: y_train[scarce]}, mask, scarce)
        est, seconds = _fit(params, seed, X_train, both)
        pred = est.predict(X_test)
        out["mt_s"].append(_score(y_test[scarce], pred[scarce]))
        out["mt_d"].append(_score(y_test[dense], pred[dense]))
        out["mt_sec"].append(seconds)
        alone, s1 = _fit(params, seed, X_train, both[[scarce]])
        out["st_s"].append(_score(y_test[scarce], alone.predict(X_test)[scarce]))
        alone, s2 = _fit(params, seed, X_train, both[[dense]])
        out["st_d"].append(_score(y_test[dense], alone.predict(X_test)[dense]))
        out["st_sec"].append(s1 + s2)
    out["gain_s"] = [
        _gain(m, a, regression[scarce])
        for m, a in zip(out["mt_s"], out["st_s"], strict=True)
    ]
    out["gain_d"] = [
        _gain(m, a, regression[dense])
        for m, a in zip(out["mt_d"], out["st_d"], strict=True)
    ]
    out["scarce"], out["dense"] = scarce, dense
    out["metric"] = {t: "RMSE" if regression[t] else "acc" for t in (scarce, dense)}
    return out


def _ms(values, digits=3) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.{digits}f} ± {std:.{digits}f}"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", nargs="+", choices=list(PAIRS), default=list(PAIRS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--param", action="append", metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    params = parse_params(args.param)
    print(f"# Scarce task beside a dense partner; {environment()}")
    print(
        f"skmtl parameters: {params or 'defaults'}; seeds {args.seeds}; scarce "
        f"labels on {args.fraction:.0%} of the rows; load {load_average()}"
    )
    rows, results = [], {}
    for name in args.pairs:
        res = results[name] = run_pair(name, args.seeds, params, args.fraction)
        digits = {t: 4 if m == "RMSE" else 3 for t, m in res["metric"].items()}
        s, d = res["scarce"], res["dense"]
        for role, task, mt, st, gain in (
            ("scarce", s, "mt_s", "st_s", "gain_s"),
            ("dense", d, "mt_d", "st_d", "gain_d"),
        ):
            rows.append(
                [
                    f"{name}: {task} ({role}, {res['metric'][task]})",
                    _ms(res[mt], digits[task]),
                    _ms(res[st], digits[task]),
                    _ms(res[gain], 1),
                    f"{sum(g > 0 for g in res[gain])}/{len(res[gain])}",
                ]
            )
        print(
            f"{name}: fit s multi-task {statistics.fmean(res['mt_sec']):.1f}, "
            f"two alone {statistics.fmean(res['st_sec']):.1f}",
            flush=True,
        )
    print(
        table(
            ["pair: task", "multi-task", "alone", "gain (pts / % RMSE)", "wins"],
            rows,
        )
    )
    return results


if __name__ == "__main__":
    main()
