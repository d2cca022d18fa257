"""How ``fit`` time per epoch grows with the number of samples and the signal length.

What it measures
----------------
For every ``n`` (samples) in ``--samples`` and every ``L`` (steps per signal)
in ``--lengths``, a default ``MultiTaskConvEstimator`` (batch 32, shuffled,
``random_state=0``) is fitted on ``make_sensor_tasks(n, n_steps=L)`` (the
structured array it returns: signals ``ampl`` and ``phase`` of ``L`` steps,
three covariates, tasks ``material`` and ``density``) for ``1 + k`` epochs. A
callback times every epoch; the first carries the tracing of the training step
and is left out, the median of the ``k`` later ones is the time per epoch.
``k`` is chosen so that the timed epochs cover at least ``--min-timed-samples``
samples (default 4,000: 4 timed epochs at n = 1,000, 1 at n = 16,000).

Cells with ``n * L`` above ``--max-sample-steps`` (default 6e7) are skipped to
keep the default run near 2 minutes on 2 CPU cores: with the default grid
that is only n = 16,000 at L = 15,000 (about 70 s of training on its own);
``--max-sample-steps 0`` runs every cell.

Printed: the table of seconds per epoch (wall and process CPU), samples/s and
nanoseconds per sample-step, then the fitted exponents ``b`` of ``time ~ n^b``
at each fixed ``L`` and ``time ~ L^b`` at each fixed ``n`` (least squares on
log-log; ``b`` = 1 is linear, below 1 means a fixed per-epoch or per-batch cost
still shows).

Run it
------
::

    python benchmarks/scaling.py
    python benchmarks/scaling.py --quick
    python benchmarks/scaling.py --samples 1000 4000 16000 --lengths 500 3750 15000 \\
        --max-sample-steps 0

About 2 minutes on 2 CPU cores with the defaults, 30 s with ``--quick``.
Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import time

from _common import environment, epoch_timer, load_average, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--samples", type=int, nargs="+", default=[1000, 4000, 16000])
    parser.add_argument("--lengths", type=int, nargs="+", default=[500, 3750, 15000])
    parser.add_argument(
        "--max-sample-steps",
        type=float,
        default=6e7,
        help="skip cells with samples x steps above this (0: run every cell)",
    )
    parser.add_argument(
        "--min-timed-samples",
        type=int,
        default=4000,
        help="timed (post-tracing) epochs cover at least this many samples",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="samples 250 1000, lengths 500 2000, 1,000 timed samples",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.lengths = [250, 1000], [500, 2000]
        args.min_timed_samples = 1000
    return args


def measure_cell(n: int, n_steps: int, args: argparse.Namespace) -> dict:
    import keras

    from skmtl import MultiTaskConvEstimator
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(n, n_steps=n_steps, random_state=args.seed)
    timed = max(1, math.ceil(args.min_timed_samples / n))
    timer = epoch_timer()
    est = MultiTaskConvEstimator(
        epochs=1 + timed,
        batch_size=args.batch_size,
        random_state=args.seed,
        callbacks=[timer],
    )
    t0 = time.perf_counter()
    est.fit(X, y)
    fit_s = time.perf_counter() - t0
    del est, X, y
    keras.backend.clear_session()
    gc.collect()
    epoch_s = statistics.median(timer.wall[1:])
    return {
        "samples": n,
        "n_steps": n_steps,
        "timed_epochs": timed,
        "first_epoch_s": timer.wall[0],
        "epoch_s": epoch_s,
        "epoch_cpu_s": statistics.median(timer.cpu[1:]),
        "fit_s": fit_s,
        "samples_per_s": n / epoch_s,
        "ns_per_sample_step": 1e9 * epoch_s / (n * n_steps),
    }


def _exponent(xs, ys) -> float:
    """Least-squares slope of log(y) on log(x)."""
    import numpy as np

    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def exponents(results: list[dict]) -> list[list]:
    rows = []
    for key, other, label in (
        ("n_steps", "samples", "time ~ n^b at L ="),
        ("samples", "n_steps", "time ~ L^b at n ="),
    ):
        for fixed in sorted({r[key] for r in results}):
            cells = sorted(
                (r for r in results if r[key] == fixed), key=lambda r: r[other]
            )
            if len(cells) < 2:
                continue
            xs = [r[other] for r in cells]
            times = [r["epoch_s"] for r in cells]
            b = _exponent(xs, times)
            b_cpu = _exponent(xs, [r["epoch_cpu_s"] for r in cells])
            local = [
                _exponent(xs[i : i + 2], times[i : i + 2]) for i in range(len(xs) - 1)
            ]
            rows.append(
                [
                    f"{label} {fixed}",
                    ", ".join(str(x) for x in xs),
                    f"{b:.2f}",
                    f"{b_cpu:.2f}",
                    ", ".join(f"{v:.2f}" for v in local),
                ]
            )
    return rows


def print_tables(results: list[dict], skipped: list[tuple[int, int]]) -> list[list]:
    rows = [
        [
            r["samples"],
            r["n_steps"],
            r["timed_epochs"],
            f"{r['first_epoch_s']:.2f}",
            f"{r['epoch_s']:.2f}",
            f"{r['epoch_cpu_s']:.2f}",
            f"{r['samples_per_s']:.0f}",
            f"{r['ns_per_sample_step']:.0f}",
        ]
        for r in results
    ]
    print(
        table(
            [
                "samples n",
                "steps L",
                "timed epochs",
                "epoch 1 s",
                "s/epoch",
                "CPU s/epoch",
                "samples/s",
                "ns per sample-step",
            ],
            rows,
        )
    )
    print(
        "s/epoch and CPU s/epoch: medians of the timed epochs (epoch 1, with "
        "tracing, left out). CPU: process CPU time, all threads."
    )
    if skipped:
        print(
            "skipped (samples x steps above --max-sample-steps): "
            + ", ".join(f"n={n} L={length}" for n, length in skipped)
        )
    print()
    fits = exponents(results)
    print(
        table(
            [
                "fit",
                "points",
                "exponent b (wall)",
                "exponent b (CPU)",
                "b between neighbours (wall)",
            ],
            fits,
        )
    )
    print(
        "b = 1: time linear in n (or L); b < 1: a fixed cost per epoch or per "
        "batch still shows. Least squares over all points; the last column "
        "fits each pair of neighbouring points on its own."
    )
    return fits


def run(args: argparse.Namespace) -> dict:
    print("== scaling: fit time per epoch against samples and signal length ==")
    print(environment())
    print(
        f"batch {args.batch_size}, shuffled; load average at start: {load_average()}\n"
    )
    results, skipped = [], []
    for n_steps in args.lengths:
        for n in args.samples:
            if args.max_sample_steps and n * n_steps > args.max_sample_steps:
                skipped.append((n, n_steps))
                continue
            results.append(measure_cell(n, n_steps, args))
    fits = print_tables(results, skipped)
    print(f"load average at end: {load_average()}")
    return {"scaling": results, "scaling_exponents": fits}


def main(argv=None) -> dict:
    return run(parse_args(argv))


if __name__ == "__main__":
    main()
