"""What a compiled MiniRocket transform would give: evidence for issue 24.

Why this script exists
----------------------
Issue 24 asks for one-row ``predict`` under 2 ms and a fit at most as long as
aeon's MiniRocket, with no dependency beyond the design card's packages.
TensorFlow runs the MiniRocket layer's 4.7 million comparisons of one row as
separate ops (compare, cast, sum): 2.8-3.7 ms on 2 cores, however they are
laid out (docs/performance.md lists the layouts tried). Only a fused kernel
does them in one pass, and TensorFlow offers none without a compiler or a new
dependency. This script measures such a kernel, so that the decision (accept
numba, or restate the target) rests on numbers:

- the kernel is MiniRocket's own decomposition (Dempster et al., 2021): per
  dilation, each series' sum over the nine taps, then each kernel's three
  taps weighed 3 and that sum subtracted, over the series its channel
  combination holds; then each bias's proportion of positive values;
- it reads a fitted default estimator's MiniRocket layer (its biases,
  channel combinations and steps) and the series exactly as the layer does
  (``_series``, ``_pad``), so its features can be compared bit for bit;
- one row and cache-sized batches (``prange`` over rows), against the
  layer's traced function, interleaved in one process.

It is not used by skmtl, and numba is not a dependency of skmtl: it comes
with the ``bench`` extra (aeon). The features being bit-identical rests on
``exact=True``: every convolution sum is exact on the layer's grid, so the
order of the additions does not matter.

Run it
------
::

    python benchmarks/numba_transform.py
    python benchmarks/numba_transform.py --rows 18 --rounds 5

About a minute on 2 CPU cores. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

from _common import environment, load_average, median_ms, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_N_KERNELS = 84


def _kernel_plan(layer):
    """The layer's constants as the numba kernel reads them, per dilation:
    tap offsets, each kernel's three taps weighed 2 and its series, the
    output masks, the biases and reciprocal lengths in the features' order."""
    import numpy as np
    import tensorflow as tf

    n_series, steps = layer.n_series, layer._padded_steps
    n_dilations = len(layer.dilations)
    starts = np.array(
        [[layer._margin + (j - 4) * int(d) for j in range(9)] for d in layer.dilations],
        np.int64,
    )
    taps = np.zeros((n_dilations, _N_KERNELS, 3), np.int64)
    series = np.zeros((n_dilations, _N_KERNELS, n_series), np.int64)
    n_used = np.zeros((n_dilations, _N_KERNELS), np.int64)
    masks = np.zeros((n_dilations, _N_KERNELS, steps), np.float32)
    counts = np.array([int(n) for n in layer.features_per_dilation], np.int64)
    offsets = np.concatenate([[0], np.cumsum(_N_KERNELS * counts)]).astype(np.int64)
    biases = np.zeros(offsets[-1], np.float32)
    reciprocals = np.zeros(offsets[-1], np.float32)
    for i, (_, order, weights, mask, length) in enumerate(layer._plans):
        per_tap = weights.reshape(_N_KERNELS, 9, n_series)
        for k in range(_N_KERNELS):
            used = np.nonzero((per_tap[k] != 0).any(axis=0))[0]
            taps[i, k] = np.nonzero((per_tap[k] == 2).any(axis=1))[0]
            n_used[i, k] = len(used)
            series[i, k, : len(used)] = used
        if mask is not None:
            masks[i] = mask
        chosen = tf.gather(layer.biases[i], order, axis=0).numpy().reshape(-1)
        biases[offsets[i] : offsets[i + 1]] = chosen
        inverse = np.float32(1) / length[:, 0]  # the layer's product, not a division
        reciprocals[offsets[i] : offsets[i + 1]] = np.repeat(inverse, counts[i])
    return starts, taps, series, n_used, masks, counts, offsets, biases, reciprocals


def _compile():
    """The numba kernels: one row, and a batch with ``prange`` over rows."""
    import numba
    import numpy as np

    @numba.njit(cache=False)
    def one_row(
        padded, starts, taps, series, n_used, masks, counts, offsets, biases, recips
    ):
        n_dilations, n_series = starts.shape[0], padded.shape[0]
        steps = masks.shape[2]
        out = np.empty(offsets[-1], np.float32)
        total = np.empty((n_series, steps), np.float32)
        conv = np.empty(steps, np.float32)
        for i in range(n_dilations):
            # Each series' sum over the nine taps: every kernel subtracts it.
            for c in range(n_series):
                total[c, :] = 0.0
                for j in range(9):
                    shifted = padded[c, starts[i, j] : starts[i, j] + steps]
                    for t in range(steps):
                        total[c, t] += shifted[t]
            for k in range(_N_KERNELS):
                # Slices, not padded[c, start + t]: numba checks an index it
                # cannot prove non-negative, and the loop then does not vectorise.
                conv[:] = masks[i, k]
                a = starts[i, taps[i, k, 0]]
                b = starts[i, taps[i, k, 1]]
                d = starts[i, taps[i, k, 2]]
                for q in range(n_used[i, k]):
                    c = series[i, k, q]
                    ra = padded[c, a : a + steps]
                    rb = padded[c, b : b + steps]
                    rd = padded[c, d : d + steps]
                    whole = total[c]
                    for t in range(steps):
                        conv[t] += np.float32(3.0) * (ra[t] + rb[t] + rd[t]) - whole[t]
                base = offsets[i] + k * counts[i]
                for m in range(counts[i]):
                    bias, above = biases[base + m], 0
                    for t in range(steps):
                        above += conv[t] > bias
                    out[base + m] = np.float32(above) * recips[base + m]
        return out

    @numba.njit(parallel=True, cache=False)
    def batch(padded, *plan):
        out = np.empty((padded.shape[0], plan[-3][-1]), np.float32)
        for r in numba.prange(padded.shape[0]):
            out[r] = one_row(padded[r], *plan)
        return out

    return one_row, batch


def _timed(call, reps: int) -> list[float]:
    """Seconds of ``reps`` calls after one untimed call."""
    call()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=200, help="rows to fit on")
    parser.add_argument("--rows", type=int, default=18, help="rows of a batch")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from skmtl import MultiTaskConvEstimator
    from skmtl.data.inputs import encode
    from skmtl.datasets import make_sensor_tasks
    from skmtl.nn.rocket import MiniRocketFeatures

    X, y = make_sensor_tasks(n_samples=args.train + args.rows, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MultiTaskConvEstimator(random_state=0).fit(
            X[: args.train], y.iloc[: args.train]
        )
    (layer,) = [la for la in est.model_.layers if isinstance(la, MiniRocketFeatures)]
    # The layer's input: the trunk up to it (normalisation, averaging down).
    trunk_input = keras.Model(est.model_.inputs, layer.input)
    state = est.fitted_state_
    encoded, _ = encode(X[args.train :], state.schema)
    series = np.asarray(trunk_input({k: encoded[k] for k in state.input_names}))

    spec = tf.TensorSpec((None, *series.shape[1:]), tf.float32)
    traced = tf.function(layer._raw_features, autograph=False).get_concrete_function(
        spec
    )
    # (rows, series, steps): the series as the layer convolves them.
    padded = np.ascontiguousarray(layer._pad(layer._series(tf.constant(series))))
    plan = _kernel_plan(layer)
    start = time.perf_counter()
    one_row, batch = _compile()
    one_row(padded[0], *plan)
    batch(padded, *plan)
    compile_s = time.perf_counter() - start

    expected = traced(series).numpy()
    same = np.array_equal(batch(padded, *plan), expected) and np.array_equal(
        one_row(padded[0], *plan), expected[0]
    )
    first = series[:1]
    timings = {"tf 1": [], "numba 1": [], "tf batch": [], "numba batch": []}
    for _ in range(args.rounds):  # interleaved: the machine's speed drifts
        timings["tf 1"] += _timed(lambda: traced(first), 100)
        timings["numba 1"] += _timed(lambda: one_row(padded[0], *plan), 100)
        timings["tf batch"] += _timed(lambda: traced(series), 10)
        timings["numba batch"] += _timed(lambda: batch(padded, *plan), 10)
    ms = {name: median_ms(samples) for name, samples in timings.items()}

    print(environment())
    print(
        f"MiniRocket layer of a default fit on {args.train} rows: "
        f"{layer.n_steps} steps x {layer.n_series} series, {layer.n_features} "
        f"features; numba kernels compiled in {compile_s:.1f} s"
    )
    lines = []
    for n_rows, key in ((1, "1"), (args.rows, "batch")):
        tf_ms, numba_ms = ms[f"tf {key}"], ms[f"numba {key}"]
        ratio = numba_ms / tf_ms
        lines.append([n_rows, f"{tf_ms:.2f}", f"{numba_ms:.2f}", f"{ratio:.2f}"])
    print(table(["rows", "TensorFlow (ms)", "numba (ms)", "ratio numba / TF"], lines))
    print(f"features bit-identical to the layer's traced function: {same}")
    print(f"load average {load_average()}")
    return {"ms": ms, "identical": same, "compile_s": compile_s}


if __name__ == "__main__":
    main()
