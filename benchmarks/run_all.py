"""Run every skmtl benchmark and print all their tables.

What it runs
------------
1. ``predict_latency.py``: median latency of ``est.predict`` /
   ``est.predict_proba`` for 1, 32 and 1,024 rows against ``Model.predict``
   and ``Model.predict_on_batch`` on the same fitted model, and whether the
   outputs agree.
2. ``fit_throughput.py``: samples/s of ``est.fit`` against raw
   ``keras.Model.fit`` of the identical network on NumPy dicts, with set-up,
   first epoch and peak RSS reported on their own.
3. ``memory.py``: peak RSS of a one-epoch fit on 20,000 in-memory samples
   against the size of the data plus the model, and of fits streamed from
   memory-mapped ``.npy`` files bigger than the memory the process is allowed.
4. ``scaling.py``: seconds per epoch for 1k / 4k / 16k samples and 500 / 3,750
   / 15,000 steps, with the fitted log-log exponents.
5. ``flops.py``: FLOPs per sample of the default network, achieved GFLOP/s
   against the CPU's peak, and throughput and held-out scores for batch size,
   ``jit_compile`` and ``filters`` choices.
6. ``parallel_search.py``: ``GridSearchCV`` with ``n_jobs=1`` and ``n_jobs=2``
   under three thread settings for the workers.
7. ``step_cost.py``: milliseconds per optimizer step on small sets and on
   2,000 x 3,750 x 2 samples, against ``keras.Model.fit`` (plain, and with
   repeated data and ``steps_per_execution=32``) and a bare ``tf.function``
   loop.
8. ``real_data.py``: accuracy / RMSE and fit seconds of the default estimator
   on the UCR/UEA/TSER sets shipped with aeon (the ``bench`` extra), next to
   aeon's MiniRocket and the published FCN figures.
9. ``explain_uncertainty.py``: share of ``explain``'s relevance inside a
   planted informative window, ``predict_interval`` coverage and width, and the
   calibration error before and after temperature scaling.

Each with its defaults; ``--quick`` shrinks them all for a smoke run (the
numbers are then dominated by noise and fixed costs). ``--only`` runs a subset.
See each script's docstring for what is measured.

Run it
------
::

    python benchmarks/run_all.py
    python benchmarks/run_all.py --quick
    python benchmarks/run_all.py --only memory scaling

About 8 to 11 minutes on 2 CPU cores with the defaults (longer if other jobs
share the machine), about 2.5 with ``--quick``. Numbers are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import os
import time

import explain_uncertainty
import fit_throughput
import flops
import memory
import parallel_search
import predict_latency
import real_data
import scaling
import step_cost
from _common import load_average

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# name: (module, arguments with --quick)
BENCHMARKS = {
    "predict_latency": (
        predict_latency,
        ["--rows", "1", "32", "--budget", "2", "--fit-samples", "64"],
    ),
    "fit_throughput": (
        fit_throughput,
        ["--samples", "256", "--epochs", "2", "--rounds", "1"],
    ),
    "memory": (
        memory,
        ["--samples", "2000", "--stream-samples", "4000", "--f64-samples", "1000"],
    ),
    "scaling": (scaling, ["--quick"]),
    "flops": (flops, ["--train", "400", "--test", "200", "--epochs", "2"]),
    "parallel_search": (
        parallel_search,
        [
            "--samples",
            "300",
            "--n-steps",
            "500",
            "--epochs",
            "2",
            "--settings",
            "n_jobs=1",
            "n_jobs=2, TF_NUM_*_THREADS=1",
        ],
    ),
    "step_cost": (step_cost, ["--sets", "ItalyPowerDemand", "--steps", "100"]),
    "real_data": (real_data, ["--seeds", "0", "--sets", "ItalyPowerDemand"]),
    "explain_uncertainty": (explain_uncertainty, ["--quick"]),
}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: a smoke run, not numbers"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(BENCHMARKS),
        default=list(BENCHMARKS),
        help="run these benchmarks only (in the order above)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results, durations = {}, {}
    for name in (n for n in BENCHMARKS if n in args.only):
        module, quick = BENCHMARKS[name]
        t0 = time.perf_counter()
        results.update(module.main(quick if args.quick else []) or {})
        durations[name] = time.perf_counter() - t0
        print("\n")
    print(
        "durations: "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in durations.items())
    )
    print(
        f"all benchmarks done in {time.perf_counter() - start:.0f} s; "
        f"load average now {load_average()}"
    )
    return results


if __name__ == "__main__":
    main()
