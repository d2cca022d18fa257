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
own. Each side runs ``--rounds`` times (default 2) in the order
skmtl, keras, keras, skmtl, ..., so that a drift in the machine's speed (other
jobs on a shared machine) hits both alike; every run is a fresh Python process
(``--in-process`` to run them all in this one), so its peak RSS
(``resource.getrusage``) is its own and no run warms caches for another.

Run it
------
::

    python benchmarks/fit_throughput.py
    python benchmarks/fit_throughput.py --samples 500 --epochs 2

About a minute on 2 idle CPU cores with the defaults (2,000 samples, 4
epochs, batch 32, 2 rounds). Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
        "--epochs", type=int, default=4, help="at least 2: the first is set-up"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-steps", type=int, default=3750, help="signal length")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="runs per side, in A B B A order",
    )
    parser.add_argument(
        "--order",
        choices=["skmtl-first", "keras-first"],
        default="skmtl-first",
        help="which side runs first (A)",
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
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Wall and CPU time (all threads) of every epoch."""

        def __init__(self):
            super().__init__()
            self.seconds = []
            self.cpu_seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = (time.perf_counter(), time.process_time())

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start[0])
            self.cpu_seconds.append(time.process_time() - self._start[1])

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
        "epoch_cpu_s": timer.cpu_seconds,
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
        "epoch_cpu_s": timer.cpu_seconds,
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


def _summary(runs: list[dict]) -> dict:
    """Medians over the runs of one side; later epochs pooled over all runs."""
    later = sorted(t for r in runs for t in r["epoch_s"][1:])
    later_cpu = [t for r in runs for t in r["epoch_cpu_s"][1:]]
    samples = runs[0]["samples"]
    return {
        "runs": len(runs),
        "setup_s": statistics.median(
            r["prepare_s"] + r["fit_s"] - sum(r["epoch_s"]) for r in runs
        ),
        "first_epoch_s": statistics.median(r["epoch_s"][0] for r in runs),
        "later_epoch_s": statistics.median(later),
        "later_epoch_min_s": later[0],
        "later_epoch_max_s": later[-1],
        "samples_per_s": samples / statistics.median(later),
        "best_samples_per_s": samples / later[0],
        "later_epoch_cpu_s": statistics.median(later_cpu),
        "total_s": statistics.median(r["prepare_s"] + r["fit_s"] for r in runs),
        "rss_before_mib": min(r["rss_before_mib"] for r in runs),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
        "final_loss": [round(r["final_loss"], 4) for r in runs],
    }


def print_tables(summary: dict[str, dict], args: argparse.Namespace) -> None:
    rows = []
    for side in SIDES:
        m = summary[side]
        rows.append(
            [
                side,
                m["runs"],
                f"{m['setup_s']:.2f}",
                f"{m['first_epoch_s']:.2f}",
                f"{m['later_epoch_s']:.2f} [{m['later_epoch_min_s']:.2f}-"
                f"{m['later_epoch_max_s']:.2f}]",
                f"{m['samples_per_s']:.0f}",
                f"{m['later_epoch_cpu_s']:.2f}",
                f"{m['total_s']:.1f}",
                f"{m['rss_before_mib']:.0f}",
                f"{m['peak_rss_mib']:.0f}",
                " ".join(f"{v:.4f}" for v in m["final_loss"]),
            ]
        )
    print(
        table(
            [
                "side",
                "runs",
                "set-up s",
                "epoch 1 s",
                "later s/epoch [min-max]",
                "samples/s",
                "later CPU s/epoch",
                "total s",
                "RSS before MiB",
                "peak RSS MiB",
                "final loss per run",
            ],
            rows,
        )
    )
    print(
        "Medians over runs. set-up s: time outside the epochs (keras: schema, "
        "encoding, targets, build, compile, plus Keras' data adapter). later "
        f"s/epoch: median of epochs 2..{args.epochs} of every run; samples/s from "
        "it. CPU s: process CPU time, all threads (less sensitive than wall time "
        "to other jobs on the machine). RSS before: after imports and data "
        "generation."
    )
    sk, ke = summary["skmtl"], summary["keras"]
    ratios = [
        ["throughput (median later epoch)", sk["samples_per_s"], ke["samples_per_s"]],
        [
            "throughput (fastest later epoch)",
            sk["best_samples_per_s"],
            ke["best_samples_per_s"],
        ],
        [
            "CPU time per later epoch (lower is better)",
            sk["later_epoch_cpu_s"],
            ke["later_epoch_cpu_s"],
        ],
        ["epoch 1 time (lower is better)", sk["first_epoch_s"], ke["first_epoch_s"]],
        ["set-up time (lower is better)", sk["setup_s"], ke["setup_s"]],
        ["total time (lower is better)", sk["total_s"], ke["total_s"]],
        ["peak RSS (lower is better)", sk["peak_rss_mib"], ke["peak_rss_mib"]],
    ]
    print()
    print(
        table(
            ["ratio skmtl / keras", "value"],
            [[name, f"{a / b:.3f}" if b else "n/a"] for name, a, b in ratios],
        )
    )
    print(
        "throughput ratio >= 1: skmtl trains at least as fast as raw Keras. The "
        "fastest-epoch ratio is the one least disturbed by other jobs."
    )


def run(args: argparse.Namespace) -> dict:
    print("== fit throughput: skmtl vs the same network in raw Keras ==")
    print(environment())
    first = SIDES if args.order == "skmtl-first" else SIDES[::-1]
    # A B B A ...: a steady drift in the machine's speed hits both sides alike.
    order = [side for r in range(args.rounds) for side in first[:: 1 - 2 * (r % 2)]]
    print(
        f"{args.samples} samples x {args.n_steps} steps, {args.epochs} epochs, "
        f"batch {args.batch_size}, shuffle; runs: {' '.join(order)} "
        f"({'in this process' if args.in_process else 'a fresh process each'}); "
        f"load average at start: {load_average()}\n"
    )
    runs: dict[str, list] = {side: [] for side in SIDES}
    for side in order:
        runs[side].append(
            measure(side, args) if args.in_process else _measure_in_child(side, args)
        )
    summary = {side: _summary(r) for side, r in runs.items()}
    print_tables(summary, args)
    print(f"load average at end: {load_average()}")
    return {"fit_runs": runs, "fit_summary": summary}


def main(argv=None) -> dict | None:
    args = parse_args(argv)
    if args.child:
        print(_RESULT_TAG + json.dumps(measure(args.child, args)))
        return None
    return run(args)


if __name__ == "__main__":
    main()
