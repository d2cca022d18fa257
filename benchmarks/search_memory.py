"""Resident memory over 60 consecutive fits in one process (a GridSearchCV).

What it measures
----------------
A ``GridSearchCV`` over 20 candidates (``loss_weights__density`` x ``dropout``)
x 3 folds, ``n_jobs=1``, ``refit=False``: 60 fits of a tiny network
(``filters=(84,)``, one epoch) on ``make_sensor_tasks(--samples, n_steps=64)``,
one after the other in this process, as a hyper-parameter search does. A scorer
reads ``VmRSS`` from ``/proc/self/status`` after every fit (``--gc`` runs
``gc.collect()`` first, to tell uncollected garbage from a leak).

It prints the resident set after each candidate (every 3 fits), then: RSS
before the search, after the first fit and at the end, the growth per fit (the
least-squares slope over fits 21-60, so the one-off costs of the first fits,
such as TensorFlow's kernels and thread pools, do not count), and a
PASS/FAIL check against ``--bound-mib`` of growth over those last 40 fits.

The bound
---------
The default bound, 40 MiB over the last 40 fits (1 MiB per fit), is what a
search that does not leak must meet. Measured in one process (TensorFlow
2.21, Keras 3.15, 2 CPU cores; the diagnostics are in
``docs/troubleshooting.md``, "Memory grows during a long search"): building
a new network and tracing its predict function 12 times grew RSS by 0.0 MiB
per network; training *the same* network again and again (``partial_fit``)
by 0.0 MiB per call. So a fit whose estimator is then dropped should cost
about nothing; 1 MiB per fit leaves room for allocator jitter (a few MiB up or
down between readings without ``--gc``).

Measured result (TensorFlow 2.21, Keras 3.15): PASS, about 1.2 MiB per fit
over the last 40 fits (RSS about 760 MiB after the first fit, 905 MiB at the
end). Before skmtl built the optimizer eagerly and skipped the single-replica
gradient all-reduce it grew 15-17 MiB per fit, as a plain Keras
``compile`` + ``fit`` still does (see ``docs/troubleshooting.md``, "Memory
grows during a long search").

The script also counts TensorFlow's "triggered tf.function retracing" warnings
during the search (see ``docs/troubleshooting.md``).

Run it
------
::

    python benchmarks/search_memory.py
    python benchmarks/search_memory.py --gc --bound-mib 20

About 1-2 minutes on 2 CPU cores (longer when they are shared). Exit status 1
when the check fails.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time

from _common import environment, load_average, peak_rss_mib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

N_FOLDS = 3
GRID = {
    "loss_weights__density": [0.25, 0.5, 1.0, 2.0, 4.0],
    "dropout": [0.0, 0.1, 0.2, 0.3],
}
TAIL = 40  # fits at the end over which growth is judged


class RetracingCounter(logging.Handler):
    """Counts TensorFlow's "triggered tf.function retracing" warnings."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retracing" in record.getMessage():
            self.count += 1


def rss_mib() -> float:
    """Current resident set size (``VmRSS``) of this process, in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmRSS line in /proc/self/status (Linux only)")


def slope(values: list[float]) -> float:
    """Least-squares growth per step of ``values``."""
    n = len(values)
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=150)
    parser.add_argument(
        "--gc", action="store_true", help="gc.collect() before each reading"
    )
    parser.add_argument(
        "--bound-mib",
        type=float,
        default=40.0,
        help=f"allowed RSS growth over the last {TAIL} fits (default 40)",
    )
    args = parser.parse_args(argv)

    from sklearn.model_selection import GridSearchCV, KFold

    from skmtl import MultiTaskConvEstimator
    from skmtl.datasets import make_sensor_tasks

    print("search_memory:", environment())
    print(f"load average {load_average()}; gc before readings: {args.gc}")
    X, y = make_sensor_tasks(args.samples, n_steps=64, random_state=0)
    est = MultiTaskConvEstimator(
        filters=(84,),
        dense_units=8,
        batch_size=16,
        epochs=1,
        random_state=0,
    )
    readings: list[float] = []
    retracing = RetracingCounter()
    logging.getLogger("tensorflow").addHandler(retracing)

    def scorer(fitted, X_test, y_test) -> float:
        score = fitted.score(X_test, y_test)
        if args.gc:
            gc.collect()
        readings.append(rss_mib())
        fit = len(readings)
        if fit % N_FOLDS == 0:
            print(
                f"  candidate {fit // N_FOLDS:2d}  fits {fit:2d}  "
                f"RSS {readings[-1]:7.1f} MiB  "
                f"(+{readings[-1] - readings[0]:5.1f} since fit 1)",
                flush=True,
            )
        return score

    before = rss_mib()
    print(f"RSS before the search: {before:.1f} MiB")
    start = time.perf_counter()
    search = GridSearchCV(
        est,
        GRID,
        cv=KFold(N_FOLDS, shuffle=True, random_state=0),
        scoring=scorer,
        refit=False,
        n_jobs=1,
        error_score="raise",
    )
    search.fit(X, y)
    elapsed = time.perf_counter() - start

    n_fits = len(readings)
    tail = readings[-TAIL:]
    growth_tail = tail[-1] - tail[0]
    per_fit_tail = slope(tail)
    per_fit_all = slope(readings)
    ok = growth_tail < args.bound_mib
    print()
    print(f"fits: {n_fits} in {elapsed:.0f} s ({elapsed / n_fits:.2f} s per fit)")
    print(
        f"RSS before the search {before:.1f} MiB, after fit 1 {readings[0]:.1f} "
        f"MiB, at the end {readings[-1]:.1f} MiB (peak {peak_rss_mib():.1f} MiB)"
    )
    print(f"growth per fit, all {n_fits} fits (slope): {per_fit_all:.3f} MiB")
    print(f"growth per fit, last {len(tail)} fits (slope): {per_fit_tail:.3f} MiB")
    print(f"TensorFlow retracing warnings during the search: {retracing.count}")
    print(
        f"growth over the last {len(tail)} fits: {growth_tail:.1f} MiB "
        f"(bound {args.bound_mib:.0f} MiB): {'PASS' if ok else 'FAIL'}"
    )
    return {
        "fits": n_fits,
        "rss_before_mib": before,
        "rss_first_fit_mib": readings[0],
        "rss_end_mib": readings[-1],
        "growth_per_fit_mib": per_fit_tail,
        "growth_tail_mib": growth_tail,
        "retracing_warnings": retracing.count,
        "passed": ok,
    }


if __name__ == "__main__":
    sys.exit(0 if main()["passed"] else 1)
