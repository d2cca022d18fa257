"""Peak resident memory of ``fit``: in-memory arrays, and signals streamed from disk.

What it measures
----------------
Data: ``make_sensor_tasks`` (signals ``ampl`` and ``phase`` of 3,750 steps,
covariates ``temp``, ``moist``, ``weight``; tasks ``material`` and
``density``), generated in chunks by this process and written to ``.npy`` files
first, so that generating it is never part of a measurement. Every measurement
then runs in a fresh Python process (``VmHWM``, the peak resident set, is per
process), which loads the files and fits a default ``MultiTaskConvEstimator``
for one epoch (batch 32, shuffled, ``random_state=0``):

* **baseline**: 64 samples. The TensorFlow runtime, the traced training step
  and the model: what any fit costs, whatever the data.
* **in-memory**: ``--samples`` (default 20,000) samples; X is a dict of
  C-contiguous float32 arrays read with ``np.load`` (into private memory).
  Its peak is compared with the float32 size of the data plus the model
  (weights and Adam slots), against the 1.5x bar, both raw and net of the
  baseline.
* **streamed**: ``--stream-samples`` (default 40,000, 1.2 GB) samples; the
  signals are opened with ``np.load(..., mmap_mode="r")`` and the memory maps
  are passed in the dict. skmtl reads them in row chunks (statistics, NaN
  check) and gathers each training batch from them, so the process never holds
  the data set. Linux counts the pages of a mapped file that are still in the
  page cache in the resident set (``RssFile``) and, with RAM to spare, keeps
  them there, so ``VmHWM`` of this run grows with the file although none of it
  is private memory.
* **streamed, pages reclaimed**: the same, with a thread that drops the
  mapped pages every 5 ms (``madvise(MADV_DONTNEED)``: clean file pages, read
  back from the page cache on the next access; the interpreter's switch
  interval is set to 1 ms so that the thread gets its turn), which is what the
  kernel does when the process runs under a memory limit. Its ``VmHWM`` is the
  memory the process actually needs; it is compared with ``--bound-mib``
  (default 1,024 MiB), which the data set exceeds.
* **streamed float64** (``--f64-samples``, default 4,000; 0 skips it): the
  signals saved as float64 memory maps. ``skmtl.data.inputs.encode`` converts a
  field to float32 as a whole, so this shows what a non-float32 memory map
  costs.

A thread samples ``RssAnon`` (private memory) and ``RssFile`` (mapped files,
shared libraries included) every 10 ms; ``VmHWM`` is the kernel's exact peak
of their sum, read and reset (``/proc/self/clear_refs``) at each phase of the
fit: load, prepare (statistics, NaN checks, encode, build), train, finish (the
post-fit collapsed-head check), so a second table shows where each peak is.
After the fit, each child checks that
``skmtl.data.inputs.encode(X, est.schema_)[0][name]`` shares memory with ``X[name]``
(``np.shares_memory``): no whole-data copy for float32 input.

Run it
------
::

    python benchmarks/memory.py
    python benchmarks/memory.py --samples 4000 --stream-samples 8000 --f64-samples 0

About 2.5 minutes on 2 CPU cores with the defaults; it writes about 2 GB of
``.npy`` files under ``--workdir`` (default: a temporary folder, removed at the
end). Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from _common import Periodic, environment, load_average, run_child, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_RESULT_TAG = "MEMORY_RESULT "
_MODES = ("baseline", "memory", "stream", "stream-reclaim", "stream-f64")
_SIGNALS = ("ampl", "phase")
_COVARIATES = ("temp", "moist", "weight")
_MIB = 1024 * 1024
_PHASES = ("load", "prepare", "train", "finish")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--samples", type=int, default=20000, help="in-memory data set size"
    )
    parser.add_argument(
        "--stream-samples",
        type=int,
        default=40000,
        help="memory-mapped data set size (0 skips the streamed runs)",
    )
    parser.add_argument(
        "--f64-samples",
        type=int,
        default=4000,
        help="float64 memory-mapped data set size (0 skips it)",
    )
    parser.add_argument("--n-steps", type=int, default=3750, help="signal length")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--bound-mib",
        type=float,
        default=1024.0,
        help="memory the streamed fit is allowed (peak RSS); the data exceed it",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workdir", help="where to write the .npy files (kept if given)"
    )
    parser.add_argument("--child", choices=_MODES, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --------------------------------------------------------------- data files
def write_dataset(
    directory: str, n_samples: int, n_steps: int, seed: int, dtype="float32"
) -> float:
    """Write ``make_sensor_tasks`` data as one .npy file per field; return MiB.

    Generated in chunks of 2,000 samples (each its own seed), so this process
    never holds more than one chunk.
    """
    import numpy as np

    from skmtl.datasets import make_sensor_tasks

    os.makedirs(directory, exist_ok=True)
    files = {}
    for name in _SIGNALS:
        files[name] = np.lib.format.open_memmap(
            os.path.join(directory, f"{name}.npy"),
            mode="w+",
            dtype=dtype,
            shape=(n_samples, n_steps),
        )
    for name in _COVARIATES:
        files[name] = np.lib.format.open_memmap(
            os.path.join(directory, f"{name}.npy"),
            mode="w+",
            dtype=dtype,
            shape=(n_samples,),
        )
    material = np.empty(n_samples, dtype="<U16")
    density = np.empty(n_samples, dtype=np.float64)
    chunk = 2000
    for i, start in enumerate(range(0, n_samples, chunk)):
        stop = min(start + chunk, n_samples)
        X, y = make_sensor_tasks(
            stop - start, n_steps=n_steps, random_state=seed + i, as_frame=False
        )
        for name, out in files.items():
            out[start:stop] = X[name]
        material[start:stop] = y["material"].astype(str)
        density[start:stop] = y["density"]
    for out in files.values():
        out.flush()
    del files
    np.save(os.path.join(directory, "material.npy"), material)
    np.save(os.path.join(directory, "density.npy"), density)
    return n_samples * (len(_SIGNALS) * n_steps + len(_COVARIATES)) * 4 / _MIB


def _load(directory: str, *, mmap: bool, rows: int | None = None):
    """X as a dict of arrays (memory maps when ``mmap``) and y as a DataFrame."""
    import numpy as np
    import pandas as pd

    def one(name):
        path = os.path.join(directory, f"{name}.npy")
        if rows is not None:  # the first rows only, copied into private memory
            return np.array(np.load(path, mmap_mode="r")[:rows])
        return np.load(path, mmap_mode="r" if mmap else None)

    X = {name: one(name) for name in (*_SIGNALS, *_COVARIATES)}
    y = pd.DataFrame(
        {
            "material": pd.Series(one("material"), dtype=object),
            "density": one("density"),
        }
    )
    return X, y


# ---------------------------------------------------------- child: measure
def _status() -> dict[str, float]:
    """VmHWM, VmRSS, RssAnon, RssFile of this process, in MiB."""
    wanted = {"VmHWM", "VmRSS", "RssAnon", "RssFile"}
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key = line.split(":", 1)[0]
            if key in wanted:
                values[key] = int(line.split()[1]) / 1024
    return values


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _Sampler(Periodic):
    """Peak RssAnon and RssFile per phase, sampled every ``interval`` s in a thread.

    ``next_phase(name)`` also closes the previous phase with the kernel's exact
    peak (VmHWM) and resets VmHWM, so each phase gets its own exact peak.
    """

    def __init__(self, interval: float = 0.01):
        super().__init__(interval)
        self.phase = "load"
        self.peaks: dict[str, dict[str, float]] = {}
        self.exact = _reset_peak()

    def _record(self, status: dict) -> None:
        peak = self.peaks.setdefault(
            self.phase, {"RssAnon": 0.0, "RssFile": 0.0, "VmHWM": 0.0}
        )
        for key in ("RssAnon", "RssFile"):
            peak[key] = max(peak[key], status[key])
        peak["VmHWM"] = max(peak["VmHWM"], status["VmHWM"])

    def tick(self) -> None:
        self._record(_status())

    on_exit = tick

    def next_phase(self, name: str) -> None:
        self._record(_status())
        if self.exact:
            _reset_peak()
        self.phase = name

    def __enter__(self):
        self.tick()  # a first sample before the thread's first interval
        return super().__enter__()

    def overall(self, key: str) -> float:
        return max(p[key] for p in self.peaks.values())


class _Reclaimer(Periodic):
    """Drops the mapped pages of memory maps every ``interval`` s.

    ``madvise(MADV_DONTNEED)`` on a read-only file mapping unmaps its pages
    from this process; they stay in the page cache and fault back in on the
    next read. The kernel does the same to a process under a memory limit.
    """

    def __init__(self, arrays, interval: float = 0.005):
        import mmap

        super().__init__(interval)
        self.maps = [a._mmap for a in arrays if getattr(a, "_mmap", None) is not None]
        self.advice = mmap.MADV_DONTNEED
        self.calls = 0

    def tick(self) -> None:
        for m in self.maps:
            m.madvise(self.advice)
        self.calls += 1


def _callbacks(sampler: _Sampler):
    """An epoch timer that also moves the sampler to the next phase of fit."""
    import keras

    class PhaseTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            sampler.next_phase("train")

        def on_train_end(self, logs=None):
            sampler.next_phase("finish")

        def on_epoch_begin(self, epoch, logs=None):
            self.start = (time.perf_counter(), time.process_time())

        def on_epoch_end(self, epoch, logs=None):
            self.wall = time.perf_counter() - self.start[0]
            self.cpu = time.process_time() - self.start[1]

        def __deepcopy__(self, memo):
            return self  # skmtl copies callbacks per fit; read this instance

    return PhaseTimer()


def measure(mode: str, directory: str, args: argparse.Namespace) -> dict:
    """One fit in this (fresh) process; return its memory figures."""
    import contextlib

    import numpy as np

    from skmtl import MultiTaskConvEstimator
    from skmtl.data.inputs import encode

    imported = _status()
    with _Sampler() as sampler:
        X, y = _load(
            directory,
            mmap=mode.startswith("stream"),
            rows=64 if mode == "baseline" else None,
        )
        loaded = _status()
        timer = _callbacks(sampler)
        est = MultiTaskConvEstimator(
            epochs=1,
            batch_size=args.batch_size,
            random_state=args.seed,
            callbacks=[timer],
        )
        reclaim = (
            _Reclaimer(X.values())
            if mode == "stream-reclaim"
            else contextlib.nullcontext()
        )
        if mode == "stream-reclaim":
            sys.setswitchinterval(0.001)  # let the reclaiming thread in often
        with reclaim:
            sampler.next_phase("prepare")
            t0 = time.perf_counter()
            est.fit(X, y)
            fit_s = time.perf_counter() - t0
    # The figures are taken: the check below may allocate (float64 input).
    encoded = encode(X, est.schema_)[0]
    shares = {name: bool(np.shares_memory(X[name], encoded[name])) for name in X}
    model_bytes = sum(int(np.prod(v.shape)) * 4 for v in est.model_.weights)
    optimizer_bytes = sum(
        int(np.prod(v.shape)) * 4 for v in est._session.trainer.optimizer.variables
    )
    n_samples = len(y)
    return {
        "mode": mode,
        "samples": n_samples,
        "data_mib": sum(a.nbytes for a in X.values()) / _MIB,
        "data_f32_mib": sum(a.size * 4 for a in X.values()) / _MIB,
        "dtype": str(X["ampl"].dtype),
        "memmap": isinstance(X["ampl"], np.memmap),
        "model_mib": (model_bytes + optimizer_bytes) / _MIB,
        "rss_imported_mib": imported["VmRSS"],
        "rss_loaded_mib": loaded["VmRSS"],
        "vmhwm_mib": sampler.overall("VmHWM"),
        "peak_anon_mib": sampler.overall("RssAnon"),
        "peak_file_mib": sampler.overall("RssFile"),
        "phases": sampler.peaks,
        "exact_phases": sampler.exact,
        "fit_s": fit_s,
        "epoch_s": timer.wall,
        "epoch_cpu_s": timer.cpu,
        "samples_per_s": n_samples / timer.wall,
        "shares_memory": shares,
        "reclaim_calls": getattr(reclaim, "calls", 0),
    }


def _measure_in_child(mode: str, directory: str, args: argparse.Namespace) -> dict:
    argv = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        mode,
        "--data",
        directory,
        "--batch-size",
        str(args.batch_size),
        "--seed",
        str(args.seed),
    ]
    return run_child(argv, _RESULT_TAG, f"the {mode} measurement")


# ------------------------------------------------------------------ report
_LABELS = {
    "baseline": "baseline (64 samples)",
    "memory": "in-memory dict",
    "stream": "streamed memmap",
    "stream-reclaim": "streamed, pages reclaimed",
    "stream-f64": "streamed memmap, float64",
}


def print_tables(results: dict[str, dict], args: argparse.Namespace) -> dict:
    rows = []
    for mode, r in results.items():
        rows.append(
            [
                _LABELS[mode],
                r["samples"],
                r["dtype"],
                f"{r['data_f32_mib']:.0f}",
                f"{r['model_mib']:.2f}",
                f"{r['rss_loaded_mib']:.0f}",
                f"{r['vmhwm_mib']:.0f}",
                f"{r['peak_anon_mib']:.0f}",
                f"{r['peak_file_mib']:.0f}",
                f"{r['epoch_s']:.1f}",
                f"{r['samples_per_s']:.0f}",
                f"{r['epoch_cpu_s'] / r['epoch_s']:.2f}",
            ]
        )
    print(
        table(
            [
                "run",
                "samples",
                "dtype",
                "data f32 MiB",
                "model MiB",
                "RSS loaded MiB",
                "peak RSS (VmHWM) MiB",
                "peak anon MiB",
                "peak file MiB",
                "epoch s",
                "samples/s",
                "CPU/wall",
            ],
            rows,
        )
    )
    print(
        "data f32: float32 size of X (signals + covariates). model: weights + "
        "Adam slots. RSS loaded: after imports and loading X, before fit. peak "
        "anon / file: RssAnon (private) / RssFile (mapped files incl. TF's "
        "shared libraries), sampled every 10 ms; VmHWM is the kernel's exact "
        "peak of their sum. CPU/wall: process CPU time over wall time of the "
        "epoch (2 cores: at most 2)."
    )
    print()
    phase_rows = []
    for mode, r in results.items():
        phases = r["phases"]
        phase_rows.append(
            [
                _LABELS[mode],
                *(
                    f"{phases[p]['VmHWM']:.0f} / {phases[p]['RssAnon']:.0f} / "
                    f"{phases[p]['RssFile']:.0f}"
                    if p in phases
                    else "-"
                    for p in _PHASES
                ),
            ]
        )
    print(
        table(
            ["run (peak MiB: RSS / anon / file)", *_PHASES],
            phase_rows,
        )
    )
    print(
        "Phases: load = np.load of X; prepare = fit up to the first batch "
        "(schema statistics, NaN checks, encode, build, head probe); train = the "
        "epoch (tracing included); finish = the rest of fit (the collapsed-head "
        "check predicts 512 training samples). RSS is the exact VmHWM of "
        "the phase (reset between phases through /proc/self/clear_refs)"
        + (
            ""
            if all(r["exact_phases"] for r in results.values())
            else " (NOT available here: cumulative)"
        )
        + "; anon and file are sampled."
    )
    print()
    summary = {}
    ratio_rows = []
    base = results.get("baseline")
    mem = results.get("memory")
    if mem:
        need = mem["data_f32_mib"] + mem["model_mib"]
        raw = mem["vmhwm_mib"] / need
        summary["memory_ratio_raw"] = raw
        ratio_rows.append(
            ["in-memory: peak RSS / (data + model)", f"{raw:.2f}", "<= 1.5"]
        )
        if base:
            net = (mem["vmhwm_mib"] - base["vmhwm_mib"]) / need
            summary["memory_ratio_net"] = net
            ratio_rows.append(
                [
                    "in-memory: (peak RSS - baseline peak) / (data + model)",
                    f"{net:.2f}",
                    "<= 1.5",
                ]
            )
            anon = (mem["peak_anon_mib"] - base["peak_anon_mib"]) / need
            ratio_rows.append(
                [
                    "in-memory: (peak anon - baseline peak anon) / (data + model)",
                    f"{anon:.2f}",
                    "",
                ]
            )
    for mode in ("stream", "stream-reclaim"):
        r = results.get(mode)
        if not r:
            continue
        ratio_rows.append(
            [
                f"{_LABELS[mode]}: peak RSS / data",
                f"{r['vmhwm_mib'] / r['data_f32_mib']:.2f}",
                "< 1 (data bigger than the process)"
                if mode == "stream-reclaim"
                else "",
            ]
        )
        ratio_rows.append(
            [
                f"{_LABELS[mode]}: peak anon / data",
                f"{r['peak_anon_mib'] / r['data_f32_mib']:.2f}",
                "",
            ]
        )
        if base:
            extra = r["peak_anon_mib"] - base["peak_anon_mib"]
            ratio_rows.append(
                [
                    f"{_LABELS[mode]}: (peak anon - baseline peak anon) / data",
                    f"{extra / r['data_f32_mib']:.3f}",
                    "",
                ]
            )
        summary[f"{mode}_ratio"] = r["vmhwm_mib"] / r["data_f32_mib"]
    f64 = results.get("stream-f64")
    if f64 and base:
        extra = f64["peak_anon_mib"] - base["peak_anon_mib"]
        ratio_rows.append(
            [
                "streamed float64: (peak anon - baseline peak anon) / data f32",
                f"{extra / f64['data_f32_mib']:.2f}",
                "",
            ]
        )
    if mem and results.get("stream"):
        ratio_rows.append(
            [
                "streamed / in-memory samples/s (epoch 1 incl. tracing, warm cache)",
                f"{results['stream']['samples_per_s'] / mem['samples_per_s']:.2f}",
                "",
            ]
        )
    print(table(["ratio", "value", "bar"], ratio_rows))
    reclaimed = results.get("stream-reclaim")
    if reclaimed:
        data, peak = reclaimed["data_f32_mib"], reclaimed["vmhwm_mib"]
        verdict = "within" if peak <= args.bound_mib < data else "NOT within"
        print(
            f"\nstreaming: data {data:.0f} MiB, bound {args.bound_mib:.0f} MiB; "
            f"peak RSS with pages reclaimed {peak:.0f} MiB ({verdict} the bound); "
            f"peak private memory {reclaimed['peak_anon_mib']:.0f} MiB."
        )
        if base:
            print(
                f"above the 64-sample baseline: peak RSS +"
                f"{peak - base['vmhwm_mib']:.0f} MiB, private memory +"
                f"{reclaimed['peak_anon_mib'] - base['peak_anon_mib']:.0f} MiB, for "
                f"{data:.0f} MiB of data"
                + (
                    f" (in memory: +{mem['vmhwm_mib'] - base['vmhwm_mib']:.0f} MiB "
                    f"RSS for {mem['data_f32_mib']:.0f} MiB)."
                    if mem
                    else "."
                )
            )
        summary["stream_within_bound"] = peak <= args.bound_mib < data
    print()
    share_rows = [
        [
            _LABELS[mode],
            ", ".join(
                f"{k}={'yes' if v else 'NO'}" for k, v in r["shares_memory"].items()
            ),
        ]
        for mode, r in results.items()
        if mode != "baseline"
    ]
    print(
        table(
            ["run", "np.shares_memory(X[name], encode(X, schema_)[0][name])"],
            share_rows,
        )
    )
    print(
        "yes: the array fed to the batches is a view of the caller's array (no "
        "whole-data copy)."
    )
    return summary


def run(args: argparse.Namespace) -> dict:
    print("== memory: peak RSS of fit, in memory and streamed from memory maps ==")
    print(environment())
    print(f"load average at start: {load_average()}")
    workdir = args.workdir or tempfile.mkdtemp(prefix="skmtl-memory-")
    sets = {
        "memory": (args.samples, "float32"),
        "stream": (args.stream_samples, "float32"),
        "stream-f64": (args.f64_samples, "float64"),
    }
    sets = {k: v for k, v in sets.items() if v[0] > 0}
    try:
        t0 = time.perf_counter()
        for name, (n, dtype) in sets.items():
            write_dataset(
                os.path.join(workdir, name), n, args.n_steps, args.seed, dtype=dtype
            )
        print(
            f"wrote {', '.join(f'{k}: {n} samples {d}' for k, (n, d) in sets.items())}"
            f" ({args.n_steps} steps) in {time.perf_counter() - t0:.0f} s; "
            f"1 epoch, batch {args.batch_size}, each run in a fresh process\n"
        )
        plan = [("baseline", "memory")]
        plan += [("memory", "memory")] if "memory" in sets else []
        if "stream" in sets:
            plan += [("stream", "stream"), ("stream-reclaim", "stream")]
        plan += [("stream-f64", "stream-f64")] if "stream-f64" in sets else []
        if "memory" not in sets:
            plan[0] = ("baseline", next(iter(sets)))
        results = {
            mode: _measure_in_child(mode, os.path.join(workdir, data), args)
            for mode, data in plan
        }
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    summary = print_tables(results, args)
    print(f"load average at end: {load_average()}")
    return {"memory": results, "memory_summary": summary}


def main(argv=None) -> dict | None:
    args = parse_args(argv)
    if args.child:
        print(_RESULT_TAG + json.dumps(measure(args.child, args.data, args)))
        return None
    return run(args)


if __name__ == "__main__":
    main()
