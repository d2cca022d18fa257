"""``GridSearchCV(n_jobs=2)`` against ``n_jobs=1``, and TensorFlow threads per worker.

What it measures
----------------
One small grid search: a ``MultiTaskConvEstimator(epochs=E, random_state=0)``
over ``learning_rate`` in {1e-3, 3e-3} x ``dropout`` in {0.0, 0.2}, with
``KFold(2, shuffle=True, random_state=0)`` (8 fits, ``refit=False``), on
``make_sensor_tasks(--samples, n_steps=--n-steps)`` (the structured array;
scored by ``est.score``, the mean of ``material`` accuracy and ``density``
R²). It runs once per setting, each in a fresh Python process so that no
setting inherits another's threads or environment:

* ``n_jobs=1``: fits one after another in the process, TensorFlow's default
  thread pools (one intra-op thread per core);
* ``n_jobs=2``: joblib's ``loky`` worker processes with their defaults
  (joblib caps OpenMP / BLAS threads at ``cores // n_jobs`` in the workers;
  TensorFlow does not read those variables);
* ``n_jobs=2, inner_max_num_threads=1``:
  ``joblib.parallel_config(backend="loky", inner_max_num_threads=1)``;
* ``n_jobs=2, TF_NUM_*_THREADS=1``: ``TF_NUM_INTRAOP_THREADS=1`` and
  ``TF_NUM_INTEROP_THREADS=1`` in the environment the workers inherit.

The clock runs over ``GridSearchCV.fit`` alone, worker start-up (each loky
worker imports TensorFlow when it unpickles its first estimator) included, as
a user pays it. CPU time is the process's own plus its workers', which a
thread polls (``psutil``) every 0.25 s and once more when the search returns.
The same thread counts the worker processes: loky restarts a worker
whose resident memory has grown by more than 300 MB since the end of its
first task ("memory leak" protection), and a restarted worker imports
TensorFlow again. After the search each setting reports the threads a worker
holds and the thread variables it sees, and whether
``cv_results_["mean_test_score"]`` is identical to the first setting's
(largest absolute difference otherwise). ``--rounds 2`` runs the settings
twice in A B B A order and reports the median wall time.

Run it
------
::

    python benchmarks/parallel_search.py
    python benchmarks/parallel_search.py --samples 300 --n-steps 500 --epochs 2

About 2 to 3 minutes on 2 CPU cores with the defaults (1,200 samples of 3,750
steps, 3 epochs per fit, 4 settings, 1 round). Numbers are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from _common import Periodic, environment, load_average, run_child, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_RESULT_TAG = "PARALLEL_SEARCH_RESULT "
SETTINGS = {
    "n_jobs=1": {"n_jobs": 1, "env": {}, "config": {}},
    "n_jobs=2": {"n_jobs": 2, "env": {}, "config": {}},
    "n_jobs=2, inner_max_num_threads=1": {
        "n_jobs": 2,
        "env": {},
        "config": {"inner_max_num_threads": 1},
    },
    "n_jobs=2, TF_NUM_*_THREADS=1": {
        "n_jobs": 2,
        "env": {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"},
        "config": {},
    },
}
GRID = {"learning_rate": [1e-3, 3e-3], "dropout": [0.0, 0.2]}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--samples", type=int, default=1200)
    parser.add_argument("--n-steps", type=int, default=3750, help="signal length")
    parser.add_argument("--epochs", type=int, default=3, help="per fit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--settings",
        nargs="+",
        choices=list(SETTINGS),
        default=list(SETTINGS),
        help="which settings to run (the first is the reference for scores)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="runs per setting, in A B B A order (the median wall time is shown)",
    )
    parser.add_argument("--child", choices=list(SETTINGS), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _worker_info() -> dict:
    """Threads of this process and the thread variables it sees."""
    import psutil

    time.sleep(0.5)  # keep this worker busy so that the next task goes to another
    return {
        "pid": os.getpid(),
        "threads": psutil.Process().num_threads(),
        "omp": os.environ.get("OMP_NUM_THREADS"),
        "tf_intra": os.environ.get("TF_NUM_INTRAOP_THREADS"),
    }


class _WorkerWatch(Periodic):
    """Polls this process's children: their PIDs and latest CPU seconds."""

    def __init__(self, interval: float = 0.25):
        import psutil

        super().__init__(interval)
        self.me = psutil.Process()
        self.cpu: dict[int, float] = {}

    def poll(self) -> None:
        import psutil

        for child in self.me.children(recursive=True):
            try:
                # loky's workers, not its resource tracker.
                if "LokyProcess" in " ".join(child.cmdline()):
                    self.cpu[child.pid] = sum(child.cpu_times()[:2])
            except psutil.Error:
                pass

    tick = on_exit = poll


def measure(name: str, args: argparse.Namespace) -> dict:
    """Run the search under one setting, in this (fresh) process."""
    setting = SETTINGS[name]
    os.environ.update(setting["env"])
    import resource

    import joblib
    import psutil
    from joblib.externals.loky import get_reusable_executor
    from sklearn.model_selection import GridSearchCV, KFold

    from skmtl import MultiTaskConvEstimator
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(args.samples, n_steps=args.n_steps, random_state=args.seed)
    n_jobs = setting["n_jobs"]
    est = MultiTaskConvEstimator(epochs=args.epochs, random_state=args.seed)
    search = GridSearchCV(
        est,
        GRID,
        cv=KFold(2, shuffle=True, random_state=args.seed),
        n_jobs=n_jobs,
        refit=False,
    )
    me = psutil.Process()
    own0 = sum(me.cpu_times()[:2])
    with joblib.parallel_config(backend="loky", **setting["config"]):
        with _WorkerWatch() as watch:
            t0 = time.perf_counter()
            search.fit(X, y)
            wall_s = time.perf_counter() - t0
        own_cpu = sum(me.cpu_times()[:2]) - own0
        if n_jobs > 1:
            workers = joblib.Parallel(n_jobs=n_jobs)(
                joblib.delayed(_worker_info)() for _ in range(2 * n_jobs)
            )
        else:
            workers = [_worker_info()]
    live = {w["pid"] for w in workers}
    # Workers' CPU as polled up to the end of the search (a worker that exited
    # during it, at most 0.25 s before its end). For comparison, the lifetime
    # total of every worker once the executor is shut down and they are
    # reaped (RUSAGE_CHILDREN): that adds their exit and the _worker_info task.
    worker_cpu = sum(watch.cpu.values())
    if n_jobs > 1:
        get_reusable_executor().shutdown(wait=True)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    by_pid = {w["pid"]: w for w in workers}
    return {
        "setting": name,
        "n_jobs": n_jobs,
        "wall_s": wall_s,
        "cpu_s": own_cpu + worker_cpu,
        "cpu_lifetime_s": own_cpu + usage.ru_utime + usage.ru_stime,
        "worker_processes": len(set(watch.cpu) | (live if n_jobs > 1 else set())),
        "workers": list(by_pid.values()),
        "mean_test_score": [float(s) for s in search.cv_results_["mean_test_score"]],
        "mean_fit_time": [float(s) for s in search.cv_results_["mean_fit_time"]],
        "params": [str(p) for p in search.cv_results_["params"]],
    }


def _measure_in_child(name: str, args: argparse.Namespace) -> dict:
    argv = [sys.executable, os.path.abspath(__file__), "--child", name]
    for option in ("samples", "n_steps", "epochs", "seed"):
        argv += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    return run_child(argv, _RESULT_TAG, f"the {name!r} search")


def _summary(runs: list[dict]) -> dict:
    """One setting's runs: the first run's details, median wall and CPU time."""
    return {
        **runs[0],
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "all_wall_s": [r["wall_s"] for r in runs],
        "worker_processes": max(r["worker_processes"] for r in runs),
        "mean_fit_s": statistics.median(
            statistics.mean(r["mean_fit_time"]) for r in runs
        ),
        "identical_runs": all(
            r["mean_test_score"] == runs[0]["mean_test_score"] for r in runs
        ),
    }


def print_tables(results: list[dict]) -> dict:
    ref = results[0]
    rows = []
    for r in results:
        diff = max(
            abs(a - b)
            for a, b in zip(r["mean_test_score"], ref["mean_test_score"], strict=True)
        )
        threads = sorted({w["threads"] for w in r["workers"]})
        w = r["workers"][0]
        env = f"OMP={w['omp'] or '-'} TF={w['tf_intra'] or '-'}"
        rows.append(
            [
                r["setting"],
                r["worker_processes"] if r["n_jobs"] > 1 else "-",
                "/".join(str(t) for t in threads),
                env,
                " ".join(f"{t:.1f}" for t in r["all_wall_s"]),
                f"{r['wall_s']:.1f}",
                f"{ref['wall_s'] / r['wall_s']:.2f}x",
                f"{r['cpu_s']:.1f}",
                f"{r['cpu_s'] / r['wall_s']:.2f}",
                f"{r['mean_fit_s']:.1f}",
                "yes" if diff == 0 else f"no ({diff:.2g})",
            ]
        )
    print(
        table(
            [
                "setting",
                "worker processes",
                "threads",
                "thread env",
                "wall s, each run",
                "median wall s",
                "speed-up",
                "CPU s",
                "CPU/wall",
                "mean fit s",
                f"scores == {ref['setting']}",
            ],
            rows,
        )
    )
    print(
        "wall s: GridSearchCV.fit, worker start-up included. speed-up: median "
        "wall time of the first setting / this one. CPU s: this process and its "
        "workers (2 cores: CPU/wall at most 2). worker processes: loky workers "
        "seen during the search (more than n_jobs: some were restarted). "
        "threads: OS threads of a worker (n_jobs=1: of the process) after the "
        "search; thread env: OMP_NUM_THREADS and TF_NUM_INTRAOP_THREADS there. "
        "mean fit s: GridSearchCV's mean_fit_time averaged over the grid "
        "(longer when two fits share the cores)."
    )
    print()
    score_rows = [
        [p, *(f"{r['mean_test_score'][i]:.6f}" for r in results)]
        for i, p in enumerate(ref["params"])
    ]
    print(table(["params", *(r["setting"] for r in results)], score_rows))
    same = all(r["identical_runs"] for r in results)
    print(
        "cv_results_['mean_test_score'] of each setting (first run); repeated "
        f"runs of a setting {'gave identical scores' if same else 'DIFFERED'}."
    )
    fastest = min(results, key=lambda r: r["wall_s"])
    print(f"\nfastest: {fastest['setting']} ({fastest['wall_s']:.1f} s median)")
    return {"fastest": fastest["setting"]}


def run(args: argparse.Namespace) -> dict:
    print("== parallel search: GridSearchCV n_jobs and TensorFlow threads ==")
    print(environment())
    print(
        f"grid {GRID} x KFold(2): 8 fits of {args.samples // 2} samples x "
        f"{args.n_steps} steps x {args.epochs} epochs, refit=False; each run in a "
        f"fresh process, {args.rounds} round(s); load average at start: "
        f"{load_average()}\n"
    )
    runs: dict[str, list] = {name: [] for name in args.settings}
    for r in range(args.rounds):
        order = args.settings if r % 2 == 0 else args.settings[::-1]
        for name in order:
            runs[name].append(_measure_in_child(name, args))
    results = [_summary(runs[name]) for name in args.settings]
    summary = print_tables(results)
    print(f"load average at end: {load_average()}")
    return {"parallel_search": results, "parallel_search_summary": summary}


def main(argv=None) -> dict | None:
    args = parse_args(argv)
    if args.child:
        print(_RESULT_TAG + json.dumps(measure(args.child, args)))
        return None
    return run(args)


if __name__ == "__main__":
    main()
