"""Predict latency of skmtl against raw Keras on the same fitted model.

What it measures
----------------
A default ``MultiTaskConvEstimator`` is fitted briefly (300 samples, 1 epoch) on
``make_sensor_tasks`` data (signals ``ampl`` and ``phase`` of 3,750 steps;
covariates ``temp``, ``moist``, ``weight``; tasks ``material`` and ``density``).
Then, for 1, 32 and 1,024 rows of fresh data, the median wall time per call
(after warm-up, over many repeats in rotating blocks) of:

* ``est.predict(X)`` and ``est.predict_proba(X)``: the whole skmtl path, from
  the structured array to decoded labels / probabilities;
* ``est.model_.predict(x_dict, verbose=0)``: Keras' own predict loop on the same
  model and the same rows, with ``x_dict`` built as the estimator builds it
  (``skmtl.data.inputs.encode(X, est.schema_)[0]``);
* ``est.model_.predict_on_batch(x_dict)``: one Keras forward pass, no loop.

Ratios are ``keras ms / skmtl ms`` (above 1: skmtl is faster). A second table
checks that the outputs agree: the largest absolute difference between Keras'
outputs and skmtl's raw outputs (``est._outputs(X)``), and whether decoding
Keras' outputs gives exactly ``est.predict(X)``. A third splits skmtl's
``predict`` into input encoding, forward passes and decoding.

Run it
------
::

    python benchmarks/predict_latency.py
    python benchmarks/predict_latency.py --rows 1 8 256 --budget 3
    python benchmarks/predict_latency.py --trunk minirocket   # no differences

About 40 seconds on 2 CPU cores with the defaults. Numbers are printed, never
asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import time

from _common import block_timings, environment, load_average, median_ms, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[1, 32, 1024], help="rows per call"
    )
    parser.add_argument("--fit-samples", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--n-steps", type=int, default=3750, help="signal length")
    parser.add_argument(
        "--rounds", type=int, default=4, help="timed blocks per method, rotated"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed calls before each block"
    )
    parser.add_argument(
        "--min-repeats", type=int, default=6, help="timed calls per method, at least"
    )
    parser.add_argument(
        "--max-repeats", type=int, default=300, help="timed calls per method, at most"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=6.0,
        help="seconds of timed calls per row count, shared by the methods",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--trunk", default="rocket", help="trunk= of the estimator (the default's)"
    )
    return parser.parse_args(argv)


def _max_abs_diff(a: dict, b: dict) -> dict[str, float]:
    import numpy as np

    return {
        name: float(
            np.max(np.abs(np.asarray(a[name], np.float64) - np.asarray(b[name])))
        )
        for name in b
    }


def _same_predictions(left, right) -> bool:
    import numpy as np

    if hasattr(left, "equals"):
        return bool(left.equals(right))
    return bool(np.array_equal(np.asarray(left), np.asarray(right)))


def _timing_kwargs(args: argparse.Namespace, budget_s: float) -> dict:
    return {
        "rounds": args.rounds,
        "warmup": args.warmup,
        "min_repeats": args.min_repeats,
        "max_repeats": args.max_repeats,
        "budget_s": budget_s,
    }


def measure_rows(est, X, args: argparse.Namespace) -> dict:
    """Latencies, output agreement and skmtl's time split for one batch of rows."""
    from skmtl.data.inputs import encode

    model = est.model_
    x_dict = {k: encode(X, est.schema_)[0][k] for k in est.input_names_}
    times = block_timings(
        {
            "skmtl_predict": lambda: est.predict(X),
            "skmtl_proba": lambda: est.predict_proba(X),
            "keras_predict": lambda: model.predict(x_dict, verbose=0),
            "keras_on_batch": lambda: model.predict_on_batch(x_dict),
        },
        **_timing_kwargs(args, args.budget),
    )

    # Do the outputs agree?
    raw = est._outputs(X)
    keras_out = model.predict(x_dict, verbose=0)
    diff_predict = _max_abs_diff(keras_out, raw)
    diff_on_batch = _max_abs_diff(model.predict_on_batch(x_dict), raw)
    decoded_equal = _same_predictions(
        est.predict(X), est.target_encoder_.inverse_transform(keras_out)
    )

    # Where does skmtl's predict time go?
    state = {}

    def do_encode():
        arrays, n_rows = encode(X, est.schema_)
        state["x"] = {k: arrays[k] for k in est.input_names_}
        state["n"] = n_rows

    def do_forward():
        state["out"] = est.fitted_state_.forward(
            state["x"], state["n"], est._predict_chunk()
        )

    def do_decode():
        est.target_encoder_.inverse_transform(state["out"])

    do_encode()
    do_forward()
    split = block_timings(
        {"encode": do_encode, "forward": do_forward, "decode": do_decode},
        **_timing_kwargs(args, args.budget / 3),
    )
    return {
        "rows": len(X),
        "ms": {name: median_ms(t) for name, t in times.items()},
        "calls": {name: len(t) for name, t in times.items()},
        "max_abs_diff_predict": diff_predict,
        "max_abs_diff_on_batch": diff_on_batch,
        "decoded_equal": decoded_equal,
        "split_ms": {name: median_ms(t) for name, t in split.items()},
    }


def print_tables(results: list[dict]) -> None:
    latency, checks, splits = [], [], []
    for r in results:
        ms, calls, n = r["ms"], r["calls"], r["rows"]
        for method, key in (("predict", "skmtl_predict"), ("proba", "skmtl_proba")):
            latency.append(
                [
                    n,
                    method,
                    f"{ms[key]:.2f}",
                    f"{ms['keras_predict']:.2f}",
                    f"{ms['keras_predict'] / ms[key]:.1f}x",
                    f"{ms['keras_on_batch']:.2f}",
                    f"{ms['keras_on_batch'] / ms[key]:.2f}x",
                    f"{calls[key]}/{calls['keras_predict']}/{calls['keras_on_batch']}",
                ]
            )
        for task, diff in r["max_abs_diff_predict"].items():
            checks.append(
                [
                    n,
                    task,
                    f"{diff:.3g}",
                    f"{r['max_abs_diff_on_batch'][task]:.3g}",
                    "yes" if r["decoded_equal"] else "NO",
                ]
            )
        split = r["split_ms"]
        splits.append(
            [
                n,
                f"{split['encode']:.3f}",
                f"{split['forward']:.2f}",
                f"{split['decode']:.3f}",
                f"{ms['skmtl_predict']:.2f}",
            ]
        )
    print(
        table(
            [
                "rows",
                "skmtl",
                "skmtl ms",
                "keras predict ms",
                "ratio",
                "keras on_batch ms",
                "ratio",
                "timed calls",
            ],
            latency,
        )
    )
    print(
        "ratio = keras ms / skmtl ms (medians); > 1 means skmtl is faster. skmtl = "
        "est.predict / est.predict_proba on the structured array (encode + "
        "forward + decode). timed calls: skmtl / keras predict / keras on_batch."
    )
    print()
    print(
        table(
            [
                "rows",
                "task",
                "max|predict - skmtl|",
                "max|on_batch - skmtl|",
                "decoded == est.predict",
            ],
            checks,
        )
    )
    print(
        "skmtl = est._outputs(X), the raw network outputs (probabilities; the "
        "standardised density); 0 means bit-identical."
    )
    print()
    print(
        table(
            ["rows", "encode ms", "forward ms", "decode ms", "predict total ms"],
            splits,
        )
    )
    print(
        "skmtl's predict split into inputs.encode, est._forward (predict_on_batch "
        "per chunk of 256 rows) and target_encoder_.inverse_transform (medians, "
        "each timed on its own)."
    )


def run(args: argparse.Namespace) -> dict:
    """Fit, time, print the tables; return the measurements."""
    from skmtl import MultiTaskConvEstimator
    from skmtl.datasets import make_sensor_tasks

    print("== predict latency: skmtl vs raw Keras on the same model ==")
    print(environment())
    print(f"load average at start: {load_average()}")
    X_fit, y_fit = make_sensor_tasks(
        args.fit_samples, n_steps=args.n_steps, random_state=args.seed
    )
    X_new, _ = make_sensor_tasks(
        max(args.rows), n_steps=args.n_steps, random_state=args.seed + 1
    )
    est = MultiTaskConvEstimator(
        trunk=args.trunk, epochs=args.epochs, random_state=args.seed
    )
    t0 = time.perf_counter()
    est.fit(X_fit, y_fit)
    print(
        f"fitted on {args.fit_samples} samples x {args.epochs} epoch(s) in "
        f"{time.perf_counter() - t0:.1f} s (trunk={args.trunk!r}); predicting on up "
        f"to {max(args.rows)} "
        f"fresh samples; {args.budget:g} s of timed calls per row count\n"
    )
    results = [measure_rows(est, X_new[:n], args) for n in args.rows]
    print_tables(results)
    print(f"load average at end: {load_average()}")
    return {"latency": results}


def main(argv=None) -> dict:
    return run(parse_args(argv))


if __name__ == "__main__":
    main()
