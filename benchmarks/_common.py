"""Helpers shared by the benchmark scripts (not a benchmark itself).

Only the standard library and NumPy are imported here, so a script can set
``TF_CPP_MIN_LOG_LEVEL`` before anything imports TensorFlow.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class Periodic:
    """Runs ``tick()`` every ``interval`` seconds in a daemon thread, inside ``with``.

    Subclasses define ``tick``; ``on_exit`` runs after the thread has stopped
    (a last reading, say).
    """

    def __init__(self, interval: float):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def tick(self) -> None:
        raise NotImplementedError

    def on_exit(self) -> None:
        pass

    def _run(self):
        while not self._stop.wait(self.interval):
            self.tick()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.on_exit()


def run_child(argv: Sequence[str], tag: str, what: str) -> dict:
    """Run a benchmark child process; return the JSON it printed after ``tag``.

    A child without that line failed: its output goes to stderr and
    ``RuntimeError("<what> failed (rc N)")`` is raised.
    """
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(tag):
            return json.loads(line[len(tag) :])
    sys.stderr.write(proc.stdout + proc.stderr)
    raise RuntimeError(f"{what} failed (rc {proc.returncode})")


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, except on Linux, where
    ``VmHWM`` from ``/proc/self/status`` is read first: Linux folds the
    *parent's* peak into a child's ``ru_maxrss`` across fork and exec, so a
    benchmark process started by a 800 MiB parent would never report less.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def environment() -> str:
    """One line naming the versions and CPU count the numbers were measured on."""
    import keras
    import numpy as np
    import sklearn
    import tensorflow as tf

    import skmtl

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return (
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"tensorflow {tf.__version__}, keras {keras.__version__}, "
        f"scikit-learn {sklearn.__version__}, skmtl {skmtl.__version__}, "
        f"{cpus or os.cpu_count()} CPU(s) usable, {platform.machine()}"
    )


def block_timings(
    calls: Mapping[str, Callable[[], object]],
    *,
    rounds: int = 3,
    warmup: int = 2,
    min_repeats: int = 6,
    max_repeats: int = 300,
    budget_s: float = 5.0,
) -> dict[str, list[float]]:
    """Seconds per call of each callable, timed in blocks over several rounds.

    In each of ``rounds`` rounds every callable gets one block: ``warmup``
    untimed calls, then timed calls until its share of ``budget_s`` is spent
    (at least ``min_repeats / rounds`` and at most ``max_repeats / rounds``
    calls). The order of the blocks rotates from round to round.

    Blocks rather than call-by-call interleaving: ``keras.Model.predict``
    leaves tf.data threads winding down after it returns, which slowed the very
    next ``predict_on_batch`` about twofold (1.2 -> 2.3 ms for one row) when the
    two were interleaved; the untimed warm-up calls of each block absorb that.
    Rounds spread any drift in the machine's speed (other jobs on a shared
    machine) over all the callables being compared.
    """
    names = list(calls)
    per_block_s = budget_s / (rounds * len(names))
    min_per = max(1, math.ceil(min_repeats / rounds))
    max_per = max(min_per, math.ceil(max_repeats / rounds))
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            call = calls[name]
            for _ in range(warmup):
                call()
            start = time.perf_counter()
            done = 0
            while done < max_per and (
                done < min_per or time.perf_counter() - start < per_block_s
            ):
                t0 = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - t0)
                done += 1
    return times


def load_average() -> str:
    """The 1-minute load average: other jobs on the machine skew timings."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def median_ms(samples: Sequence[float]) -> float:
    return 1e3 * statistics.median(samples)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def epoch_timer():
    """A Keras callback recording wall and CPU seconds of every epoch."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.wall, self.cpu = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = (time.perf_counter(), time.process_time())

        def on_epoch_end(self, epoch, logs=None):
            self.wall.append(time.perf_counter() - self._start[0])
            self.cpu.append(time.process_time() - self._start[1])

        def __deepcopy__(self, memo):
            # skmtl trains with copies of its callbacks; the benchmark reads
            # this very instance afterwards.
            return self

    return EpochTimer()


def keras_compile_kwargs(est, tasks) -> dict:
    """``Model.compile`` arguments for the estimator's training in plain Keras
    (same losses, loss weights, metrics and a fresh optimizer of its
    parameters): what the benchmarks compare skmtl's trainer with."""
    from skmtl.training.components import build_optimizer
    from skmtl.training.session import TrainingConfig

    config = TrainingConfig.of(est.get_params())
    return config.compile_kwargs(tasks, build_optimizer(config))
