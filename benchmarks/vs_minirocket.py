"""The default estimator against aeon's MiniRocket on the seed's shape.

What it measures
----------------
``make_sensor_tasks`` data of the mission's shape: two signals (``ampl``,
``phase``) of ``--n-steps`` steps (3,750), three covariates, five materials
and a density. ``--train`` recordings (1,000) to fit, ``--test`` (1,000) to
predict, in one process, interleaved:

1. ``MultiTaskConvEstimator()`` (the default, both tasks) fitted, then aeon's
   ``MiniRocketClassifier(n_jobs=-1)`` (numba, every core) on the material
   alone, from the two signals as ``(n, 2, n_steps)`` float64; then each
   predicts the test rows. Each first fits 32 rows, not timed: numba compiles
   its kernels, TensorFlow and oneDNN initialise theirs (the time of skmtl's is
   printed). ``--rounds`` (3: this machine's fits swing by up to 1.5x from
   one round to the next) repeats the four timings in alternating order; the
   medians are reported, with the ratios skmtl / MiniRocket (below 1: skmtl
   is faster) and the material accuracy of both.
2. ``est.predict`` against ``est.model_.predict`` on the same fitted network
   and the same 1,024 rows (the inputs encoded as the estimator encodes them,
   not timed): the overhead of everything around the network.
3. One-row ``est.predict`` latency: the median over many calls (after warm-up).

Run it
------
::

    python benchmarks/vs_minirocket.py
    python benchmarks/vs_minirocket.py --train 300 --test 300 --rounds 1

About 7 minutes on 2 CPU cores with the defaults. Numbers are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

from _common import block_timings, environment, load_average, median_ms, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _timed(call):
    start = time.perf_counter()
    out = call()
    return out, time.perf_counter() - start


def _signals(X):
    import numpy as np

    return np.stack([X["ampl"], X["phase"]], axis=1).astype(np.float64)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--n-steps", type=int, default=3750)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import numpy as np
    from aeon.classification.convolution_based import MiniRocketClassifier

    from skmtl import MultiTaskConvEstimator
    from skmtl.data.inputs import encode
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(
        args.train + args.test, n_steps=args.n_steps, random_state=0
    )
    X_fit, y_fit = X[: args.train], y.iloc[: args.train]
    X_new, y_new = X[args.train :], y.iloc[args.train :]
    truth = y_new["material"].to_numpy()
    # numba compiles MiniRocket's kernels on first use, and TensorFlow
    # initialises its runtime and oneDNN its kernels on a process's first fit:
    # neither is part of a fit, so both warm up on 32 rows first.
    MiniRocketClassifier(random_state=0).fit(
        _signals(X_fit[:32]), y_fit["material"].to_numpy()[:32]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, warm_up = _timed(
            lambda: MultiTaskConvEstimator(random_state=0).fit(
                X_fit[:32], y_fit.iloc[:32]
            )
        )

    times = {key: [] for key in ("fit skmtl", "fit aeon", "pred skmtl", "pred aeon")}
    accuracy = {}
    for r in range(args.rounds):
        order = ["skmtl", "aeon"] if r % 2 == 0 else ["aeon", "skmtl"]
        fitted = {}
        for who in order:
            if who == "skmtl":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = MultiTaskConvEstimator(random_state=r)
                    fitted[who], seconds = _timed(lambda e=est: e.fit(X_fit, y_fit))
            else:
                clf = MiniRocketClassifier(random_state=r, n_jobs=-1)
                fitted[who], seconds = _timed(
                    lambda c=clf: c.fit(_signals(X_fit), y_fit["material"].to_numpy())
                )
            times[f"fit {who}"].append(seconds)
        for who in order:
            if who == "skmtl":
                pred, seconds = _timed(lambda e=fitted["skmtl"]: e.predict(X_new))
                labels = pred["material"].to_numpy()
            else:
                labels, seconds = _timed(
                    lambda c=fitted["aeon"]: c.predict(_signals(X_new))
                )
            times[f"pred {who}"].append(seconds)
            accuracy.setdefault(who, []).append(float(np.mean(labels == truth)))
        print(
            f"round {r + 1}: "
            + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()),
            flush=True,
        )

    est = fitted["skmtl"]
    rows = X_new[:1024] if len(X_new) >= 1024 else X[:1024]
    encoded = encode(rows, est.schema_)[0]
    encoded = {k: encoded[k] for k in est.fitted_state_.input_names}
    overhead = block_timings(
        {
            "est.predict": lambda: est.predict(rows),
            "model.predict": lambda: est.model_.predict(encoded, verbose=0),
        },
        rounds=2,
        warmup=1,
        min_repeats=2,
        max_repeats=6,
        budget_s=60.0,
    )
    one_row = block_timings(
        {"one row": lambda: est.predict(X_new[:1])}, rounds=3, budget_s=6.0
    )

    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    print(f"{environment()}; load {load_average()}")
    print(
        f"{args.train} fit / {args.test} predicted recordings, 2 signals x "
        f"{args.n_steps} steps, 5 classes; medians of {args.rounds} round(s)"
    )
    rows_out = [
        [
            "fit",
            f"{med['fit skmtl']:.1f}",
            f"{med['fit aeon']:.1f}",
            f"{med['fit skmtl'] / med['fit aeon']:.2f}",
        ],
        [
            f"predict {args.test} rows",
            f"{med['pred skmtl']:.2f}",
            f"{med['pred aeon']:.2f}",
            f"{med['pred skmtl'] / med['pred aeon']:.2f}",
        ],
        [
            "material accuracy",
            f"{statistics.mean(accuracy['skmtl']):.3f}",
            f"{statistics.mean(accuracy['aeon']):.3f}",
            "",
        ],
    ]
    print(table(["", "skmtl (s)", "MiniRocket (s)", "ratio"], rows_out))
    est_ms = median_ms(overhead["est.predict"])
    model_ms = median_ms(overhead["model.predict"])
    print(
        f"\nest.predict / model.predict on {len(rows)} rows: "
        f"{est_ms:.0f} / {model_ms:.0f} ms = {est_ms / model_ms:.2f}"
    )
    print(f"one-row est.predict: {median_ms(one_row['one row']):.2f} ms (median)")
    print(f"skmtl's warm-up fit on 32 rows (first in the process): {warm_up:.1f} s")
    return {
        "fit_ratio": med["fit skmtl"] / med["fit aeon"],
        "predict_ratio": med["pred skmtl"] / med["pred aeon"],
        "overhead": est_ms / model_ms,
        "one_row_ms": median_ms(one_row["one row"]),
    }


if __name__ == "__main__":
    main()
