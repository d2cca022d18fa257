"""Training throughput of skmtl against the identical network in raw Keras.

What it measures
----------------
On ``make_sensor_tasks`` data (signals ``ampl`` and ``phase`` of 3,750 steps;
covariates ``temp``, ``moist``, ``weight``; tasks ``material`` and ``density``):

* **skmtl**: ``MultiTaskConvEstimator(trunk="conv", dense_units=64,
  dropout=0.1, epochs=E, batch_size=B, shuffle=True, random_state=seed).fit(X,
  y)`` on the structured array: the trainable conv network (the default
  ``trunk="rocket"`` trains only its heads on features computed once, which
  ``benchmarks/step_cost.py`` measures).
* **keras**: the same network built with
  ``skmtl.nn.network.build_network(schema, tasks, ...)``, compiled with the
  estimator's own ``keras_compile_kwargs(est, tasks)`` (same losses, loss weights,
  metrics, optimizer), trained with ``keras.Model.fit`` on NumPy dicts
  (contiguous float32 inputs; targets and per-task sample weights from
  ``TargetEncoder.transform(y)``) with the same batch size, epochs and
  ``shuffle=True``.

A callback records the wall and CPU time of every epoch. The first epoch
carries the one-off cost of tracing the training step, so throughput
(samples/s) comes from the later epochs; the first epoch and the set-up outside
the epochs (schema, encoding, building and compiling the model, Keras' data
adapter) are reported on their own.

Two sections:

1. **Separate runs.** Each side runs ``--rounds`` times (default 2) in the
   order skmtl, keras, keras, skmtl, ..., each run a fresh Python process, so
   its peak RSS is its own and no run warms caches for another
   (``--in-process`` runs them all in this one).
2. **Interleaved epochs.** In one process, after one epoch each, the two sides
   take turns one epoch at a time (``est.partial_fit`` against
   ``Model.fit(initial_epoch=...)``), ``--interleaved-rounds`` times. Adjacent
   epochs share the machine's load, so on a machine shared with other jobs
   this ratio is the steadier one. ``--interleaved-rounds 0`` skips it.

Run it
------
::

    python benchmarks/fit_throughput.py
    python benchmarks/fit_throughput.py --samples 500 --epochs 2 --rounds 1

About 2 minutes on 2 CPU cores with the defaults (2,000 samples, 4 epochs,
batch 32, 2 rounds, 3 interleaved rounds). Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from _common import (
    environment,
    epoch_timer,
    keras_compile_kwargs,
    load_average,
    peak_rss_mib,
    run_child,
    table,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SIDES = ("skmtl", "keras")
# The trainable network both sides train (build_network's and the estimator's
# parameters of the same name).
NETWORK = {"trunk": "conv", "dense_units": 64, "dropout": 0.1}
_CHILD_MODES = (*SIDES, "interleaved")
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
        "--rounds", type=int, default=2, help="separate runs per side, A B B A order"
    )
    parser.add_argument(
        "--interleaved-rounds",
        type=int,
        default=3,
        help="interleaved epochs per side after the first (0: skip)",
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
        help="run everything in this process (peak RSS is then cumulative)",
    )
    parser.add_argument("--child", choices=_CHILD_MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch is set-up)")
    if args.rounds < 1 or args.interleaved_rounds < 0:
        parser.error("--rounds must be >= 1 and --interleaved-rounds >= 0")
    return args


def _estimator(args, epochs: int, timer):
    from skmtl import MultiTaskConvEstimator

    return MultiTaskConvEstimator(
        **NETWORK,
        epochs=epochs,
        batch_size=args.batch_size,
        shuffle=True,
        random_state=args.seed,
        callbacks=[timer],
    )


def _keras_setup(X, y, args):
    """The raw-Keras side's model and NumPy dicts, built as the estimator would."""
    import numpy as np

    from skmtl import MultiTaskConvEstimator
    from skmtl.data.inputs import encode, infer_schema
    from skmtl.data.targets import TargetEncoder
    from skmtl.nn.network import build_network, network_parameters

    schema = infer_schema(X)
    encoded, _ = encode(X, schema)
    # What a Keras user holds: one contiguous float32 array per input.
    inputs = {name: np.ascontiguousarray(a) for name, a in encoded.items()}
    target_encoder = TargetEncoder().fit(y)
    tasks = list(target_encoder.tasks_)
    targets, weights = target_encoder.transform(y)
    est = MultiTaskConvEstimator(
        **NETWORK, batch_size=args.batch_size, random_state=args.seed
    )
    # Every value from the estimator: NETWORK's, and its defaults for the rest.
    model = build_network(
        schema, tasks, **network_parameters(est.get_params()), random_state=args.seed
    )
    model.compile(**keras_compile_kwargs(est, tasks))
    return model, inputs, targets, weights


def _keras_fit(model, data, args, timer, *, epochs: int, initial_epoch: int = 0):
    inputs, targets, weights = data
    return model.fit(
        inputs,
        targets,
        sample_weight=weights,
        batch_size=args.batch_size,
        epochs=epochs,
        initial_epoch=initial_epoch,
        shuffle=True,
        callbacks=[timer],
        verbose=0,
    )


def _fit_skmtl(X, y, args) -> dict:
    timer = epoch_timer()
    est = _estimator(args, args.epochs, timer)
    t0 = time.perf_counter()
    est.fit(X, y)
    return {
        "prepare_s": 0.0,
        "fit_s": time.perf_counter() - t0,
        "epoch_s": timer.wall,
        "epoch_cpu_s": timer.cpu,
        "final_loss": est.history_["loss"][-1],
    }


def _fit_keras(X, y, args) -> dict:
    t0 = time.perf_counter()
    model, *data = _keras_setup(X, y, args)
    prepare_s = time.perf_counter() - t0
    timer = epoch_timer()
    t0 = time.perf_counter()
    history = _keras_fit(model, data, args, timer, epochs=args.epochs)
    return {
        "prepare_s": prepare_s,
        "fit_s": time.perf_counter() - t0,
        "epoch_s": timer.wall,
        "epoch_cpu_s": timer.cpu,
        "final_loss": float(history.history["loss"][-1]),
    }


def _fit_interleaved(X, y, args) -> dict:
    skmtl_timer, keras_timer = epoch_timer(), epoch_timer()
    est = _estimator(args, 1, skmtl_timer).fit(X, y)
    model, *data = _keras_setup(X, y, args)
    _keras_fit(model, data, args, keras_timer, epochs=1)
    epoch = 1
    for r in range(args.interleaved_rounds):
        for side in SIDES if r % 2 == 0 else SIDES[::-1]:
            if side == "skmtl":
                est.partial_fit(X, y)
            else:
                _keras_fit(
                    model,
                    data,
                    args,
                    keras_timer,
                    epochs=epoch + 1,
                    initial_epoch=epoch,
                )
                epoch += 1
    # The first epoch of each carried the tracing: leave it out.
    return {
        "skmtl_epoch_s": skmtl_timer.wall[1:],
        "skmtl_epoch_cpu_s": skmtl_timer.cpu[1:],
        "keras_epoch_s": keras_timer.wall[1:],
        "keras_epoch_cpu_s": keras_timer.cpu[1:],
    }


def measure(mode: str, args: argparse.Namespace) -> dict:
    """Generate the data, fit (one side, or both interleaved), return timings."""
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(args.samples, n_steps=args.n_steps, random_state=args.seed)
    rss_before = peak_rss_mib()
    fit = {"skmtl": _fit_skmtl, "keras": _fit_keras, "interleaved": _fit_interleaved}
    result = fit[mode](X, y, args)
    result.update(
        mode=mode,
        samples=args.samples,
        rss_before_mib=rss_before,
        peak_rss_mib=peak_rss_mib(),
    )
    return result


def _child_argv(mode: str, args: argparse.Namespace) -> list[str]:
    options = {
        "--samples": args.samples,
        "--epochs": args.epochs,
        "--batch-size": args.batch_size,
        "--n-steps": args.n_steps,
        "--seed": args.seed,
        "--interleaved-rounds": args.interleaved_rounds,
    }
    argv = [sys.executable, os.path.abspath(__file__), "--child", mode]
    for name, value in options.items():
        argv += [name, str(value)]
    return argv


def _measure_in_child(mode: str, args: argparse.Namespace) -> dict:
    return run_child(
        _child_argv(mode, args), _RESULT_TAG, f"the {mode} benchmark process"
    )


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


def _ratio_table(ratios) -> str:
    return table(
        ["ratio skmtl / keras", "value"],
        [[name, f"{a / b:.3f}" if b else "n/a"] for name, a, b in ratios],
    )


def print_runs(summary: dict[str, dict], args: argparse.Namespace) -> None:
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
    print()
    print(
        _ratio_table(
            [
                [
                    "throughput (median later epoch)",
                    sk["samples_per_s"],
                    ke["samples_per_s"],
                ],
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
                [
                    "epoch 1 time (lower is better)",
                    sk["first_epoch_s"],
                    ke["first_epoch_s"],
                ],
                ["set-up time (lower is better)", sk["setup_s"], ke["setup_s"]],
                ["total time (lower is better)", sk["total_s"], ke["total_s"]],
                ["peak RSS (lower is better)", sk["peak_rss_mib"], ke["peak_rss_mib"]],
            ]
        )
    )
    print("throughput ratio >= 1: skmtl trains at least as fast as raw Keras.")


def print_interleaved(result: dict) -> dict:
    samples = result["samples"]
    rows, stats = [], {}
    for side in SIDES:
        wall, cpu = result[f"{side}_epoch_s"], result[f"{side}_epoch_cpu_s"]
        stats[side] = {
            "median_s": statistics.median(wall),
            "min_s": min(wall),
            "cpu_s": statistics.median(cpu),
        }
        rows.append(
            [
                side,
                len(wall),
                " ".join(f"{t:.2f}" for t in wall),
                f"{stats[side]['median_s']:.2f}",
                f"{samples / stats[side]['median_s']:.0f}",
                f"{stats[side]['cpu_s']:.2f}",
            ]
        )
    print(
        table(
            [
                "side",
                "epochs",
                "s per epoch, in order",
                "median s/epoch",
                "samples/s",
                "median CPU s/epoch",
            ],
            rows,
        )
    )
    # Epoch i of skmtl and epoch i of keras ran next to each other.
    paired = [
        k / s
        for s, k in zip(result["skmtl_epoch_s"], result["keras_epoch_s"], strict=True)
    ]
    sk, ke = stats["skmtl"], stats["keras"]
    print()
    print(
        _ratio_table(
            [
                ["throughput (median epoch)", ke["median_s"], sk["median_s"]],
                ["throughput (fastest epoch)", ke["min_s"], sk["min_s"]],
                ["throughput (median of adjacent pairs)", statistics.median(paired), 1],
                ["CPU time per epoch (lower is better)", sk["cpu_s"], ke["cpu_s"]],
            ]
        )
    )
    return {"paired_throughput_ratio": statistics.median(paired), **stats}


def run(args: argparse.Namespace) -> dict:
    print("== fit throughput: skmtl vs the same network in raw Keras ==")
    print(environment())
    first = SIDES if args.order == "skmtl-first" else SIDES[::-1]
    # A B B A ...: a steady drift in the machine's speed hits both sides alike.
    order = [side for r in range(args.rounds) for side in first[:: 1 - 2 * (r % 2)]]
    where = "in this process" if args.in_process else "a fresh process each"
    print(
        f"{args.samples} samples x {args.n_steps} steps, batch {args.batch_size}, "
        f"shuffle; load average at start: {load_average()}\n"
    )

    def measured(mode):
        return measure(mode, args) if args.in_process else _measure_in_child(mode, args)

    print(
        f"-- 1. separate runs: {args.epochs} epochs each; order "
        f"{' '.join(order)} ({where})"
    )
    runs: dict[str, list] = {side: [] for side in SIDES}
    for side in order:
        runs[side].append(measured(side))
    summary = {side: _summary(r) for side, r in runs.items()}
    print_runs(summary, args)
    results = {"fit_runs": runs, "fit_summary": summary}

    if args.interleaved_rounds:
        print(
            f"\n-- 2. interleaved epochs, one process: 1 epoch each, then "
            f"{args.interleaved_rounds} epoch(s) each taking turns (skmtl keras "
            "keras skmtl ...); the first epochs are left out"
        )
        interleaved = measured("interleaved")
        results["fit_interleaved"] = interleaved
        results["fit_interleaved_summary"] = print_interleaved(interleaved)
    print(f"load average at end: {load_average()}")
    return results


def main(argv=None) -> dict | None:
    args = parse_args(argv)
    if args.child:
        print(_RESULT_TAG + json.dumps(measure(args.child, args)))
        return None
    return run(args)


if __name__ == "__main__":
    main()
