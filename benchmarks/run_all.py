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

Each with its defaults; ``--quick`` shrinks both for a smoke run (the numbers
are then dominated by noise). See each script's docstring for what is measured.

Run it
------
::

    python benchmarks/run_all.py
    python benchmarks/run_all.py --quick

About 2 to 3 minutes on 2 CPU cores with the defaults (longer if other jobs
share the machine). Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import time

import fit_throughput
import predict_latency
from _common import load_average

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_QUICK_PREDICT = ["--rows", "1", "32", "--budget", "2", "--fit-samples", "64"]
_QUICK_FIT = ["--samples", "256", "--epochs", "2", "--rounds", "1"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: a smoke run, not numbers"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = {}
    results.update(predict_latency.main(_QUICK_PREDICT if args.quick else []))
    print("\n")
    results.update(fit_throughput.main(_QUICK_FIT if args.quick else []))
    print(
        f"\nall benchmarks done in {time.perf_counter() - start:.0f} s; "
        f"load average now {load_average()}"
    )
    return results


if __name__ == "__main__":
    main()
