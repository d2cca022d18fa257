"""Interval coverage after every training path: plain fit, early stopping,
warm refits and ``partial_fit``.

What it measures
----------------
One draw of ``make_sensor_tasks(n_steps=64, noise=1.0)``: the first rows to
fit on, the last ``--test`` rows fresh. For each path, the share of fresh true
densities inside ``predict_interval`` at alpha 0.1 and 0.2 (nominal 0.90 and
0.80; with ``m`` calibration rows the standard error is about
``sqrt(alpha (1 - alpha) / m)``), and ``m``:

* ``plain``: ``fit`` on ``--train`` rows (10 % held out);
* ``early stopping``: ``early_stopping=True, validation_fraction=0.2`` (the
  validation rows calibrate);
* ``warm, new seed``: a fit, then a warm refit on the same rows with another
  ``random_state`` (what ``random_state=None`` does);
* ``warm, grown``: a fit on half the rows, then a warm refit on all of them,
  reordered, with another seed;
* ``partial_fit``: three passes of ``partial_fit`` over the rows with
  ``calibration_fraction=0.1``.

A path that gives no intervals prints ``-``. Run it from another checkout
(``PYTHONPATH=<checkout> python benchmarks/coverage_paths.py``) to compare
versions. Numbers are printed, never asserted.

Run it
------
::

    python benchmarks/coverage_paths.py
    python benchmarks/coverage_paths.py --train 2000 --test 4000

About 1 minute on 2 CPU cores with the defaults.
"""

from __future__ import annotations

import argparse
import os
import warnings

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SMALL = {"filters": (840,), "epochs": 4, "batch_size": 32}


def _coverage(est, X, y, alpha: float) -> float:
    band = est.predict_interval(X, alpha=alpha)["density"]
    truth = y["density"].to_numpy()
    return float(np.mean((band[:, 0] <= truth) & (truth <= band[:, 1])))


def _paths(X, y, n: int):
    """``{path: fitted estimator}``, each fitted as its path says."""
    from skmtl import MultiTaskConvEstimator

    def est(**params):
        return MultiTaskConvEstimator(**{**SMALL, "random_state": 0, **params})

    X, y = X[:n], y.iloc[:n].reset_index(drop=True)
    order = np.random.default_rng(0).permutation(n)
    yield "plain", lambda: est().fit(X, y)
    yield (
        "early stopping",
        lambda: est(early_stopping=True, validation_fraction=0.2).fit(X, y),
    )

    def warm_new_seed():
        model = est(warm_start=True).fit(X, y)
        return model.set_params(random_state=1).fit(X, y)

    def warm_grown():
        half = n // 2
        model = est(warm_start=True).fit(X[:half], y.iloc[:half])
        grown_y = y.iloc[order].reset_index(drop=True)
        return model.set_params(random_state=1).fit(X[order], grown_y)

    def streamed():
        model = est(calibration_fraction=0.1)
        for _ in range(3):
            model.partial_fit(X, y)
        return model

    yield "warm, new seed", warm_new_seed
    yield "warm, grown", warm_grown
    yield "partial_fit", streamed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=2000)
    args = parser.parse_args(argv)
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(
        args.train + args.test, n_steps=64, noise=1.0, random_state=5
    )
    fresh = X[args.train :], y.iloc[args.train :]
    print("| path | calibration rows | coverage at 0.1 | coverage at 0.2 |")
    print("| --- | --- | --- | --- |")
    for name, fit in _paths(X, y, args.train):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = fit()
            try:
                m = model.calibration_.n_rows
            except AttributeError:
                print(f"| {name} | - | - | - |", flush=True)
                continue
            cover = [_coverage(model, *fresh, alpha) for alpha in (0.1, 0.2)]
        print(f"| {name} | {m} | {cover[0]:.3f} | {cover[1]:.3f} |", flush=True)


if __name__ == "__main__":
    main()
