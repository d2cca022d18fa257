"""Training throughput of skmtl against the identical network in raw Keras.

What it measures
----------------
On ``make_sensor_tasks`` data (signals ``ampl`` and ``phase`` of 3,750 steps;
covariates ``temp``, ``moist``, ``weight``; tasks ``material`` and ``density``):

* **skmtl**: ``MultiTaskConvEstimator(epochs=E, batch_size=B, shuffle=True,
  random_state=seed).fit(X, y)`` on the structured array.
* **keras**: the same default network built with
  ``skmtl.network.build_network(schema, tasks, ...)``, compiled with the
  estimator's own ``_compile_kwargs_for(tasks)`` (same losses, loss weights,
  metrics, optimizer), trained with ``keras.Model.fit`` on NumPy dicts
  (contiguous float32 inputs; targets and per-task sample weights from
  ``TargetEncoder.transform(y)``) with the same batch size, epochs and
  ``shuffle=True``.

A callback timestamps every epoch. The first epoch carries the one-off cost of
tracing the training step, so throughput (samples/s) is taken from the later
epochs; the first epoch and the set-up outside the epochs (schema, encoding,
building and compiling the model, Keras' data adapter) are reported on their
own. Each side runs in a fresh Python process (``--in-process`` to run both in
this one), so its peak RSS (``resource.getrusage``) is its own and neither
warms caches for the other.

Run it
------
::

    python benchmarks/fit_throughput.py
    python benchmarks/fit_throughput.py --samples 500 --epochs 2

About 2 to 3 minutes on 2 CPU cores with the defaults (2,000 samples, 3
epochs, batch 32). Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _common import environment, load_average, peak_rss_mib, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SIDES = ("skmtl", "keras")
_RESULT_TAG = "FIT_THROUGHPUT_RESULT "


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument(
        "--epochs", type=int, default=3, help="at least 2: the first is set-up"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-steps", type=int, default=3750, help="signal length")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--order",
        choices=["skmtl-first", "keras-first"],
        default="skmtl-first",
        help="which side runs first",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run both sides in this process (peak RSS is then cumulative)",
    )
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch is set-up)")
    return args


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Wall time of every epoch, from on_epoch_begin to on_epoch_end."""

        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def _fit_skmtl(X, y, args) -> dict:
    from skmtl import MultiTaskConvEstimator

    timer = _epoch_timer()
    est = MultiTaskConvEstimator(
        epochs=args.epochs,
        batch_size=args.batch_size,
        shuffle=True,
        random_state=args.seed,
        callbacks=[timer],
    )
    t0 = time.perf_counter()
    est.fit(X, y)
    fit_s = time.perf_counter() - t0
    return {
        "prepare_s": 0.0,
        "fit_s": fit_s,
        "epoch_s": timer.seconds,
        "final_loss": est.history_["loss"][-1],
    }


def _fit_keras(X, y, args) -> dict:
    import numpy as np

    from skmtl import MultiTaskConvEstimator
    from skmtl.inputs import encode, infer_schema
    from skmtl.network import build_network
    from skmtl.targets import TargetEncoder

    t0 = time.perf_counter()
    schema = infer_schema(X)
    encoded, _ = encode(X, schema)
    # What a Keras user holds: one contiguous float32 array per input.
    inputs = {name: np.ascontiguousarray(a) for name, a in encoded.items()}
    target_encoder = TargetEncoder().fit(y)
    tasks = list(target_encoder.tasks_)
    targets, weights = target_encoder.transform(y)
    model = build_network(schema, tasks, random_state=args.seed)
    # The estimator's defaults are the ones the skmtl side uses.
    est = MultiTaskConvEstimator(batch_size=args.batch_size, random_state=args.seed)
    model.compile(**est._compile_kwargs_for(tasks))
    prepare_s = time.perf_counter() - t0

    timer = _epoch_timer()
    t0 = time.perf_counter()
    history = model.fit(
        inputs,
        targets,
        sample_weight=weights,
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        callbacks=[timer],
        verbose=0,
    )
    fit_s = time.perf_counter() - t0
    return {
        "prepare_s": prepare_s,
        "fit_s": fit_s,
        "epoch_s": timer.seconds,
        "final_loss": float(history.history["loss"][-1]),
    }


def measure(side: str, args: argparse.Namespace) -> dict:
    """Generate the data, fit one side, return its timings and memory."""
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(args.samples, n_steps=args.n_steps, random_state=args.seed)
    rss_before = peak_rss_mib()
    result = (_fit_skmtl if side == "skmtl" else _fit_keras)(X, y, args)
    result.update(
        side=side,
        samples=args.samples,
        rss_before_mib=rss_before,
        peak_rss_mib=peak_rss_mib(),
        data_mib=X.nbytes / 2**20,
    )
    return result


def _child_argv(side: str, args: argparse.Namespace) -> list[str]:
    return [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        side,
        "--samples",
        str(args.samples),
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--n-steps",
        str(args.n_steps),
        "--seed",
        str(args.seed),
    ]


def _measure_in_child(side: str, args: argparse.Namespace) -> dict:
    proc = subprocess.run(
        _child_argv(side, args), capture_output=True, text=True, check=False
    )
    for line in proc.stdout.splitlines():
        if line.startswith(_RESULT_TAG):
            return json.loads(line[len(_RESULT_TAG) :])
    sys.stderr.write(proc.stdout + proc.stderr)
    raise RuntimeError(f"the {side} benchmark process failed (rc {proc.returncode})")


def _summary(r: dict) -> dict:
    epochs = r["epoch_s"]
    later = sum(epochs[1:]) / len(epochs[1:])
    return {
        "first_epoch_s": epochs[0],
        "later_epoch_s": later,
        "samples_per_s": r["samples"] / later,
        "setup_s": r["prepare_s"] + r["fit_s"] - sum(epochs),
        "total_s": r["prepare_s"] + r["fit_s"],
    }


def print_tables(results: dict[str, dict], args: argparse.Namespace) -> None:
    s = {side: _summary(r) for side, r in results.items()}
    rows = []
    for side in SIDES:
        r, m = results[side], s[side]
        rows.append(
            [
                side,
                f"{m['setup_s']:.2f}",
                f"{m['first_epoch_s']:.2f}",
                f"{m['later_epoch_s']:.2f}",
                f"{m['samples_per_s']:.1f}",
                f"{m['total_s']:.1f}",
                f"{r['rss_before_mib']:.0f}",
                f"{r['peak_rss_mib']:.0f}",
                f"{r['final_loss']:.4f}",
            ]
        )
    print(
        table(
            [
                "side",
                "set-up s",
                "epoch 1 s",
                "later s/epoch",
                "samples/s",
                "total s",
                "RSS before MiB",
                "peak RSS MiB",
                "final loss",
            ],
            rows,
        )
    )
    sk, ke = s["skmtl"], s["keras"]
    print(
        f"set-up s: time outside the epochs (keras: schema, encoding, targets, "
        f"build, compile, plus Keras' data adapter). later s/epoch: mean of epochs "
        f"2..{args.epochs}; samples/s from it. RSS before: after imports and data "
        f"({results['skmtl']['data_mib']:.0f} MiB of X)."
    )
    peak = {side: results[side]["peak_rss_mib"] for side in SIDES}
    ratios = [
        [
            "throughput, later epochs (samples/s)",
            sk["samples_per_s"],
            ke["samples_per_s"],
        ],
        ["epoch 1 time (lower is better)", sk["first_epoch_s"], ke["first_epoch_s"]],
        ["set-up time (lower is better)", sk["setup_s"], ke["setup_s"]],
        ["total time (lower is better)", sk["total_s"], ke["total_s"]],
        ["peak RSS (lower is better)", peak["skmtl"], peak["keras"]],
    ]
    print()
    print(
        table(
            ["ratio skmtl / keras", "value"],
            [[name, f"{a / b:.3f}" if b else "n/a"] for name, a, b in ratios],
        )
    )
    print("throughput ratio >= 1: skmtl trains at least as fast as raw Keras.")


def run(args: argparse.Namespace) -> dict:
    print("== fit throughput: skmtl vs the same network in raw Keras ==")
    print(environment())
    print(
        f"{args.samples} samples x {args.n_steps} steps, {args.epochs} epochs, "
        f"batch {args.batch_size}, shuffle; "
        f"{'one process' if args.in_process else 'one fresh process per side'}; "
        f"load average at start: {load_average()}\n"
    )
    order = SIDES if args.order == "skmtl-first" else SIDES[::-1]
    results = {}
    for side in order:
        results[side] = (
            measure(side, args) if args.in_process else _measure_in_child(side, args)
        )
    print_tables(results, args)
    print(f"load average at end: {load_average()}")
    return {"fit": results, "summary": {k: _summary(v) for k, v in results.items()}}


def main(argv=None) -> dict | None:
    args = parse_args(argv)
    if args.child:
        print(_RESULT_TAG + json.dumps(measure(args.child, args)))
        return None
    return run(args)


if __name__ == "__main__":
    main()
