"""FLOPs of the conv network, achieved GFLOP/s in ``fit``, and cheaper defaults.

What it measures
----------------
Every network here has ``trunk="conv"`` and the estimator's other defaults:
the FLOPs are counted from ``Conv1D`` and ``Dense`` layers, and the default
rocket trunk's fixed transform is neither.

1. **FLOPs per sample** of that network on ``make_sensor_tasks`` inputs
   (signals ``ampl`` and ``phase`` of ``--n-steps`` steps, stacked on one
   branch; three covariates; heads ``material`` and ``density``), counted from
   the layers: ``Conv1D`` = 2 L_out k C_in C_out, ``Dense`` = 2 in out per
   forward pass; a training step costs about 3x the forward pass (forward,
   gradient with respect to the activations, gradient with respect to the
   weights). TensorFlow's graph profiler
   (``tf.compat.v1.profiler``, ``float_operation``) counts the forward graph
   as a cross-check; its total adds batch normalisation, pooling and the
   other element-wise operations.
2. **The CPU's peak**, two ways: a 2,048 x 2,048 float32 matmul in TensorFlow,
   timed at the start and end of this run (attainable peak), and the nominal
   figure from ``/proc/cpuinfo``: cores x clock x 32 float32 FLOPs per cycle per
   512-bit FMA unit (AVX-512; 16 with AVX2 only) x 1 or 2 FMA units (the count
   depends on the microarchitecture, so both are printed).
3. **A before/after table** of defaults that could raise throughput: batch size
   32 (default) / 64 / 128, ``compile__jit_compile=True`` (XLA), narrower
   ``filters``, and ``mixed_precision="mixed_bfloat16"`` when the installed
   skmtl has that parameter. Each configuration trains on the same
   ``--train`` samples for ``--epochs`` epochs (``random_state=0``, default
   learning rate) and is scored on ``--test`` held-out samples (accuracy of
   ``material``, R² of ``density``). To share the machine's load fairly, all
   configurations are fitted for one epoch first (tracing / XLA compilation),
   then take turns one epoch at a time (``partial_fit``, rotating order);
   samples/s is the median of those later epochs, GFLOP/s is that times the
   training FLOPs per sample.

Run it
------
::

    python benchmarks/flops.py
    python benchmarks/flops.py --train 500 --test 200 --epochs 2   # smoke

About 2.5 minutes on 2 CPU cores with the defaults (2,000 training samples,
1,000 test samples, 3,750 steps, 4 epochs, 6 or 7 configurations). Numbers are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _common import environment, epoch_timer, load_average, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The trunk of every network measured (see the module's docstring).
CONV = {"trunk": "conv"}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--train", type=int, default=2000, help="training samples")
    parser.add_argument("--test", type=int, default=1000, help="held-out samples")
    parser.add_argument("--n-steps", type=int, default=3750, help="signal length")
    parser.add_argument(
        "--epochs", type=int, default=4, help="per configuration, at least 2"
    )
    parser.add_argument(
        "--matmul-size", type=int, default=2048, help="n of the n x n peak matmul"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first is tracing)")
    return args


# ------------------------------------------------------------------ FLOPs
def layer_flops(model) -> list[tuple[str, str, int]]:
    """``(layer, shape, forward FLOPs per sample)`` of every Conv1D and Dense."""
    import keras

    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv1D):
            k, c_in, c_out = layer.kernel.shape
            length = layer.output.shape[1]
            rows.append(
                (
                    layer.name,
                    f"L={length} k={k} {c_in}->{c_out}",
                    2 * length * k * c_in * c_out,
                )
            )
        elif isinstance(layer, keras.layers.Dense):
            n_in, n_out = layer.kernel.shape
            rows.append((layer.name, f"{n_in}->{n_out}", 2 * n_in * n_out))
    return rows


def profiler_flops(model, schema) -> int | None:
    """Forward FLOPs per sample from TensorFlow's graph profiler (None if it fails)."""
    try:
        import tensorflow as tf
        from tensorflow.python.framework.convert_to_constants import (
            convert_variables_to_constants_v2,
        )

        tf.get_logger().setLevel("ERROR")
        spec = {s.name: tf.TensorSpec((1, *s.shape), tf.float32) for s in schema.fields}
        forward = tf.function(lambda x: model(x, training=False))
        frozen = convert_variables_to_constants_v2(forward.get_concrete_function(spec))
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        profile = tf.compat.v1.profiler.profile(graph=frozen.graph, options=options)
        return int(profile.total_float_ops)
    except Exception:  # a cross-check only: never fail the benchmark on it
        return None


def build_default(n_steps: int, seed: int, filters=None):
    from skmtl import MultiTaskConvEstimator
    from skmtl.data.inputs import infer_schema
    from skmtl.data.targets import TargetEncoder
    from skmtl.datasets import make_sensor_tasks
    from skmtl.nn.network import build_network, network_parameters

    X, y = make_sensor_tasks(64, n_steps=n_steps, random_state=seed)
    schema = infer_schema(X)
    tasks = TargetEncoder().fit(y).tasks_
    # The estimator's parameters, the one source of the network's defaults.
    params = MultiTaskConvEstimator(**CONV, filters=filters).get_params()
    model = build_network(
        schema, tasks, **network_parameters(params), random_state=seed
    )
    return model, schema


def training_flops(n_steps: int, seed: int, filters=None) -> int:
    model, _ = build_default(n_steps, seed, filters)
    return 3 * sum(f for *_, f in layer_flops(model))


# ------------------------------------------------------------------- peak
def matmul_gflops(n: int, repeats: int = 10) -> float:
    """Best GFLOP/s of an n x n float32 matmul in TensorFlow (all threads)."""
    import tensorflow as tf

    a = tf.random.stateless_normal((n, n), seed=(1, 2))
    b = tf.random.stateless_normal((n, n), seed=(3, 4))
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.linalg.matmul(x, y)))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def nominal_peak() -> dict:
    """Cores, clock and SIMD width from /proc/cpuinfo (Linux; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return {}
    flags, mhz, model = set(), [], ""
    for line in info.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "flags":
            flags = set(value.split())
        elif key == "cpu MHz":
            mhz.append(float(value))
        elif key == "model name":
            model = value.strip()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if "avx512f" in flags:
        per_unit, simd = 32, "AVX-512"
    elif "avx2" in flags and "fma" in flags:
        per_unit, simd = 16, "AVX2+FMA"
    else:
        per_unit, simd = 8, "SSE"
    ghz = max(mhz) / 1000 if mhz else float("nan")
    return {
        "model": model,
        "cores": cores,
        "ghz": ghz,
        "simd": simd,
        "bf16": "avx512_bf16" in flags,
        "gflops_1_unit": cores * ghz * per_unit,
        "gflops_2_units": cores * ghz * per_unit * 2,
    }


# ---------------------------------------------------------------- configs
def configurations() -> list[tuple[str, dict]]:
    from skmtl import MultiTaskConvEstimator

    configs = [
        ("default (batch 32)", {}),
        ("batch 64", {"batch_size": 64}),
        ("batch 128", {"batch_size": 128}),
        ("jit_compile, batch 32", {"compile__jit_compile": True}),
        ("jit_compile, batch 128", {"compile__jit_compile": True, "batch_size": 128}),
        ("filters (8, 16, 32, 32)", {"filters": (8, 16, 32, 32)}),
    ]
    if "mixed_precision" in MultiTaskConvEstimator().get_params():
        configs.append(
            ("mixed_bfloat16, batch 32", {"mixed_precision": "mixed_bfloat16"})
        )
    return configs


def compare_configs(args: argparse.Namespace) -> list[dict]:
    import numpy as np
    from sklearn.metrics import accuracy_score, r2_score

    from skmtl import MultiTaskConvEstimator
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(args.train, n_steps=args.n_steps, random_state=args.seed)
    X_test, y_test = make_sensor_tasks(
        args.test, n_steps=args.n_steps, random_state=args.seed + 1
    )
    configs = configurations()
    runs = []
    for name, params in configs:
        timer = epoch_timer()
        est = MultiTaskConvEstimator(
            epochs=1, random_state=args.seed, callbacks=[timer], **CONV, **params
        )
        t0 = time.perf_counter()
        est.fit(X, y)
        runs.append(
            {
                "name": name,
                "params": params,
                "est": est,
                "timer": timer,
                "first_fit_s": time.perf_counter() - t0,
            }
        )
    for r in range(args.epochs - 1):
        shift = r % len(runs)
        for run in runs[shift:] + runs[:shift]:
            run["est"].partial_fit(X, y)
    results = []
    for run in runs:
        est, timer = run["est"], run["timer"]
        pred = est.predict(X_test)
        wall = statistics.median(timer.wall[1:])
        flops = training_flops(args.n_steps, args.seed, est.filters)
        results.append(
            {
                "name": run["name"],
                "first_fit_s": run["first_fit_s"],
                "epoch_s": wall,
                "epoch_cpu_s": statistics.median(timer.cpu[1:]),
                "samples_per_s": args.train / wall,
                "train_flops": flops,
                "gflops": flops * args.train / wall / 1e9,
                "accuracy": float(accuracy_score(y_test["material"], pred["material"])),
                "r2": float(r2_score(y_test["density"], pred["density"])),
                "final_loss": est.history_["loss"][-1],
                "finite": bool(np.isfinite(est.history_["loss"][-1])),
            }
        )
        del run["est"]
    return results


# ------------------------------------------------------------------ report
def run(args: argparse.Namespace) -> dict:
    print("== flops: FLOPs per sample, achieved GFLOP/s and cheaper defaults ==")
    print(environment())
    print(f"load average at start: {load_average()}\n")
    peak_start = matmul_gflops(args.matmul_size)

    model, schema = build_default(args.n_steps, args.seed)
    per_layer = layer_flops(model)
    forward = sum(f for *_, f in per_layer)
    rows = [[name, shape, f"{f / 1e6:.3f}"] for name, shape, f in per_layer]
    rows.append(["total (forward)", "", f"{forward / 1e6:.3f}"])
    rows.append(["total (training step: 3 x forward)", "", f"{3 * forward / 1e6:.3f}"])
    profiled = profiler_flops(model, schema)
    if profiled:
        rows.append(
            ["TF profiler, forward graph (all ops)", "", f"{profiled / 1e6:.3f}"]
        )
    print(f"-- 1. conv network, {args.n_steps}-step signals: FLOPs per sample")
    print(table(["layer", "shape", "MFLOP per sample"], rows))
    print()

    results = compare_configs(args)
    peak_end = matmul_gflops(args.matmul_size)
    peak = max(peak_start, peak_end)
    nominal = nominal_peak()

    print("-- 2. peak of this CPU")
    peak_rows = [
        [
            f"TF matmul {args.matmul_size}^2 float32 (start / end of run)",
            f"{peak_start:.0f} / {peak_end:.0f}",
        ]
    ]
    if nominal:
        peak_rows.append(
            [
                f"nominal: {nominal['cores']} cores x {nominal['ghz']:.2f} GHz "
                f"(/proc/cpuinfo) x {nominal['simd']} FMA, 1 / 2 units",
                f"{nominal['gflops_1_unit']:.0f} / {nominal['gflops_2_units']:.0f}",
            ]
        )
    print(table(["peak", "GFLOP/s"], peak_rows))
    if nominal:
        print(
            f"CPU: {nominal['model']}; avx512_bf16: "
            f"{'yes' if nominal['bf16'] else 'no'}. The clock is the one "
            "/proc/cpuinfo reports (a VM may show the base clock): a matmul above "
            "the nominal figure means the cores run faster than that. The "
            "percentages below use the best matmul."
        )
    print()

    print(
        f"-- 3. configurations: {args.train} training samples x {args.epochs} "
        f"epochs, {args.test} held-out; epochs 2..{args.epochs} interleaved"
    )
    base = results[0]
    config_rows = [
        [
            r["name"],
            f"{r['train_flops'] / 1e6:.1f}",
            f"{r['first_fit_s']:.1f}",
            f"{r['epoch_s']:.2f}",
            f"{r['samples_per_s']:.0f}",
            f"{r['samples_per_s'] / base['samples_per_s']:.2f}x",
            f"{r['epoch_cpu_s']:.2f}",
            f"{base['epoch_cpu_s'] / r['epoch_cpu_s']:.2f}x",
            f"{r['gflops']:.1f}",
            f"{100 * r['gflops'] / peak:.0f}%",
            f"{r['accuracy']:.3f}",
            f"{r['r2']:.3f}",
        ]
        for r in results
    ]
    print(
        table(
            [
                "configuration",
                "MFLOP/sample (train)",
                "epoch 1 s",
                "s/epoch",
                "samples/s",
                "vs default",
                "CPU s/epoch",
                "vs default (CPU)",
                "GFLOP/s",
                "% of matmul peak",
                "accuracy",
                "density R²",
            ],
            config_rows,
        )
    )
    print(
        "epoch 1 s: the first fit (tracing; XLA compilation with jit_compile). "
        "s/epoch, CPU s/epoch: medians of the interleaved later epochs; vs "
        "default: samples/s ratio, and (CPU) the default's CPU time per epoch over "
        "this one's, steadier when other jobs share the machine. GFLOP/s: "
        "conv + dense training FLOPs only (batch norm, pooling and the other "
        "element-wise work are not counted). accuracy / R²: held-out, after "
        f"{args.epochs} epochs at the default learning rate."
    )
    print(f"load average at end: {load_average()}")
    return {
        "flops_per_layer": per_layer,
        "flops_forward": forward,
        "flops_profiler": profiled,
        "peak_matmul_gflops": peak,
        "peak_nominal": nominal,
        "flops_configs": results,
    }


def main(argv=None) -> dict:
    return run(parse_args(argv))


if __name__ == "__main__":
    main()
