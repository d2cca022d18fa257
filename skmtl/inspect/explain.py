"""Which steps of each signal, and which covariates, drove a prediction.

Relevance maps for one task's output, as pure functions of a fitted state (its
``schema``, ``model``, ``input_names``, ``tasks`` and ``forward``) and the
encoded inputs. Four methods:

``"occlusion"`` (the default)
    Each window of ``window`` steps (stride ``window // 2``) of one signal is
    replaced by the signal's mean (what the network's normalisation maps to 0)
    and the relevance of a step is the mean absolute change of the output over
    the windows that cover it; a covariate is replaced by its mean. Only
    forward passes: it works for any network, including the ``"rocket"``
    trunk (whose features are step functions with zero gradient) and custom
    models. Cost: ``2 * n_steps / window`` forward passes per signal.
``"integrated_gradients"`` (Sundararajan et al. 2017)
    ``|(x - mean) * average gradient|`` along the straight path from the mean
    to ``x`` (``n_path`` points). Differentiable networks only.
``"smoothgrad"`` (Smilkov et al. 2017)
    ``|gradient|`` averaged over ``n_path`` copies with Gaussian noise of 0.15
    standard deviations of the field.
``"gradient"``
    ``|gradient|`` (saliency): the baseline the others improve on.

The output explained is the probability of one class (the predicted one, or
a given one) for a classification task, the standardised value for a
regression task (summed over the outputs of a block task). Relevance is
non-negative and in those units: a step of relevance 0.2 moved the class
probability by 0.2 when occluded. Multi-channel signals get one value per step
(channels summed). A variable-length signal is padded to the longest of the
rows explained; its padded steps get relevance 0.

Measured on a planted window (``benchmarks/explain_uncertainty.py``): see
``docs/explain.md``.

Grad-CAM is not offered: the ``"conv"`` trunk pools every stage, so
its last conv stage has ``n_steps / 256`` positions (one for 256 steps), too
coarse to place a 50-step window.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..data.inputs import encode
from ..data.targets import CLASSIFICATION
from ..utils.validation import check_count

__all__ = [
    "METHODS",
    "check_explain_arguments",
    "explain",
    "explain_inputs",
    "has_step_functions",
    "occlusion_windows",
]

METHODS = ("occlusion", "integrated_gradients", "smoothgrad", "gradient")
#: Bytes of input copies one forward pass may hold (occlusion and paths).
BATCH_BYTES = 32 * 2**20


def has_step_functions(model) -> bool:
    """Whether ``model`` holds a layer whose gradient is zero almost
    everywhere (MiniRocket's proportion of positive values).

    Examples
    --------
    >>> import keras
    >>> x = keras.Input((8, 1))
    >>> has_step_functions(keras.Model(x, keras.layers.Dense(1)(x)))
    False
    """
    from ..nn.rocket import MiniRocketFeatures

    layers = getattr(model, "_flatten_layers", None)
    found = layers(include_self=False, recursive=True) if layers else model.layers
    return any(isinstance(layer, MiniRocketFeatures) for layer in found)


def check_explain_arguments(method: str, window: int | None) -> int | None:
    """Refuse a bad ``method`` or ``window`` before anything is computed.

    A window of 0 or less has no step to occlude (``window=-4`` gave NaN
    relevance), and ``True`` is not a width.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    window : int or None
        Occlusion window in steps, at least 1; None for the default.

    Returns
    -------
    int or None
        ``window`` as a Python int (or None).

    Examples
    --------
    >>> check_explain_arguments("occlusion", 8)
    8
    >>> check_explain_arguments("occlusion", -4)
    Traceback (most recent call last):
    ...
    ValueError: window must be a positive integer (or None for the default); got -4.
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method={method!r}; expected one of {list(METHODS)}.")
    return check_count("window", window, optional=True)


def occlusion_windows(n_steps: int, window: int | None = None) -> np.ndarray:
    """``(n_windows, n_steps)`` boolean masks of the occluded windows: width
    ``window`` (default ``max(1, n_steps // 16)``), stride half of it, the
    last one ending at the last step.

    Examples
    --------
    >>> occlusion_windows(8, 4).astype(int).tolist()
    [[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]]
    """
    width = min(n_steps, window or max(1, n_steps // 16))
    stride = max(1, width // 2)
    starts = list(range(0, n_steps - width + 1, stride))
    if starts[-1] + width < n_steps:
        starts.append(n_steps - width)
    steps = np.arange(n_steps)
    starts = np.asarray(starts)[:, None]
    return (steps >= starts) & (steps < starts + width)


def _baseline(spec) -> np.ndarray:
    """Per-channel value the network's normalisation maps to 0."""
    mean = spec.network_mean
    return np.asarray(mean if mean else [0.0] * spec.n_channels, dtype=np.float32)


def _rows_per_pass(inputs: Mapping[str, np.ndarray], copies: int) -> int:
    """Samples whose ``copies`` copies of every input fit in BATCH_BYTES."""
    per_sample = sum(a[:1].nbytes for a in inputs.values()) * max(1, copies)
    return max(1, BATCH_BYTES // max(1, per_sample))


def _class_scores(task, out, index, xp):
    """Probability of class ``index[i]`` in row ``i`` (``xp``: numpy or tf)."""
    if task.n_classes == 2:  # one sigmoid unit: P(class 1)
        p1 = out[:, 0]
        return xp.where(index == 1, p1, 1.0 - p1)
    if xp is np:
        return np.take_along_axis(out, index[:, None], axis=1)[:, 0]
    return xp.gather(out, index, batch_dims=1)


def _scores(task, outputs, index, xp=np):
    """``(n, k)`` outputs explained: a class probability or regression values."""
    out = outputs[task.name]
    if task.kind == "classification":
        return _class_scores(task, out, index, xp)[:, None]
    return out


def explain_inputs(
    state,
    inputs: Mapping[str, np.ndarray],
    task_name: str,
    target_index: np.ndarray | None = None,
    *,
    method: str = "occlusion",
    window: int | None = None,
    n_path: int = 32,
    chunk: int = 256,
    random_state: int | None = 0,
) -> dict[str, np.ndarray]:
    """Relevance of every field of encoded ``inputs`` for one task's output.

    Parameters
    ----------
    state : FittedState
        Or any object with ``schema``, ``model``, ``input_names``, ``tasks``
        and ``forward(inputs, n_samples, chunk)``.
    inputs : dict of str to ndarray
        Encoded fields (:func:`skmtl.data.inputs.encode`).
    task_name : str
        The task explained.
    target_index : ndarray of int or None
        Per-sample class index for a classification task (None: the
        predicted class); ignored for regression.
    method : {"occlusion", "integrated_gradients", "smoothgrad", "gradient"}
        See the module docstring.
    window : int or None
        Occlusion window in steps (default ``n_steps // 16``).
    n_path : int
        Path points (integrated gradients) or noisy copies (SmoothGrad).
    chunk : int
        Rows per forward pass of the network.
    random_state : int or None
        Seeds SmoothGrad's noise.

    Returns
    -------
    dict
        ``{signal: (n_samples, n_steps), covariate: (n_samples,)}``, float64,
        non-negative.

    Examples
    --------
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> from skmtl.data.inputs import encode
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> state = MultiTaskConvEstimator(filters=(84,), epochs=1,
    ...                                random_state=0).fit(X, y).fitted_state_
    >>> inputs, _ = encode(X, state.schema)
    >>> rel = explain_inputs(state, inputs, "density")
    >>> rel["ampl"].shape, rel["temp"].shape, bool((rel["ampl"] >= 0).all())
    ((40, 32), (40,), True)
    """
    window = check_explain_arguments(method, window)
    n_path = check_count("n_path", n_path)
    chunk = check_count("chunk", chunk)
    task = next((t for t in state.tasks if t.name == task_name), None)
    if task is None:
        raise ValueError(
            f"task={task_name!r} is not a task of the estimator; tasks are "
            f"{[t.name for t in state.tasks]}."
        )
    inputs = {name: _dense(inputs[name]) for name in state.input_names}
    n_samples = len(next(iter(inputs.values())))
    outputs = None
    if task.kind == "classification" and target_index is None:
        outputs = state.forward(inputs, n_samples, chunk)
        target_index = _predicted_index(task, outputs[task.name])
    index = (
        np.zeros(n_samples, np.int32)
        if target_index is None
        else np.asarray(target_index, np.int32).reshape(n_samples)
    )
    if method == "occlusion":
        return _occlusion(state, inputs, task, index, window, chunk, outputs)
    if has_step_functions(state.model):
        raise ValueError(
            f"method={method!r} needs gradients, but this network's MiniRocket "
            "features are step functions (zero gradient); use "
            "method='occlusion'."
        )
    return _gradient_method(
        state, inputs, task, index, method, n_path, random_state, chunk
    )


def _dense(values) -> np.ndarray:
    """A field as the network gets it: a variable-length signal
    (:class:`~skmtl.data.ragged.RaggedSignal`) padded to its longest recording,
    with its mask channel last (1 on true steps)."""
    if hasattr(values, "padded"):
        return values.padded()
    return np.asarray(values, np.float32)


def _predicted_index(task, out: np.ndarray) -> np.ndarray:
    if task.n_classes == 2:
        return (out[:, 0] > 0.5).astype(np.int32)
    return out.argmax(axis=1).astype(np.int32)


def _occlusion(state, inputs, task, index, window, chunk, outputs=None):
    schema, n_samples = state.schema, len(index)

    def score(batch, idx):
        outputs = state.forward(batch, len(idx), chunk)
        return _scores(task, outputs, idx)

    base = score(inputs, index) if outputs is None else _scores(task, outputs, index)
    relevance = {}
    covariates = [n for n in inputs if schema[n].kind != "signal"]
    for name in inputs:
        spec = schema[name]
        if spec.kind != "signal":
            continue
        n_steps, n_values = inputs[name].shape[1], spec.n_channels
        masks = occlusion_windows(n_steps, window)
        n_win = len(masks)
        coverage = masks.sum(axis=0)
        out = np.empty((n_samples, n_steps))
        step = _rows_per_pass(inputs, n_win)
        for start in range(0, n_samples, step):
            rows = slice(start, min(start + step, n_samples))
            b = rows.stop - rows.start
            # Every window of every sample in the rows, as one batch.
            copies = np.repeat(inputs[name][rows][:, None], n_win, axis=1)
            # The values only: a variable-length signal's mask channel stays,
            # so its padding stays padding (and gets no relevance).
            copies[..., :n_values] = np.where(
                masks[None, :, :, None], _baseline(spec), copies[..., :n_values]
            )
            batch = {k: np.repeat(v[rows], n_win, axis=0) for k, v in inputs.items()}
            batch[name] = copies.reshape(b * n_win, *inputs[name].shape[1:])
            changed = score(batch, np.repeat(index[rows], n_win))
            delta = np.abs(changed.reshape(b, n_win, -1) - base[rows, None]).sum(-1)
            out[rows] = delta @ masks / coverage
            if inputs[name].shape[-1] > n_values:  # padding is not relevant
                out[rows] *= inputs[name][rows][:, :, -1]
        relevance[name] = out
    if covariates:
        n_cov = len(covariates)
        out = np.empty((n_samples, n_cov))
        step = _rows_per_pass(inputs, n_cov)
        for start in range(0, n_samples, step):
            rows = slice(start, min(start + step, n_samples))
            b = rows.stop - rows.start
            batch = {k: np.repeat(v[rows], n_cov, axis=0) for k, v in inputs.items()}
            for j, name in enumerate(covariates):
                batch[name] = batch[name].copy()
                batch[name][j::n_cov] = _baseline(schema[name])
            changed = score(batch, np.repeat(index[rows], n_cov))
            out[rows] = np.abs(changed.reshape(b, n_cov, -1) - base[rows, None]).sum(-1)
        for j, name in enumerate(covariates):
            relevance[name] = out[:, j]
    return {name: relevance[name] for name in inputs}


def _gradient_method(state, inputs, task, index, method, n_path, random_state, chunk):
    import tensorflow as tf

    schema, model = state.schema, state.model
    n_samples = len(index)
    copies = 1 if method == "gradient" else n_path
    baselines = {n: _baseline(schema[n]) for n in inputs}
    scale = {n: _field_std(schema[n]) for n in inputs}
    rng = np.random.default_rng(random_state)

    # Eager, ``chunk`` network rows per tape: a traced function per call
    # would retrace at every explain, and activations of a larger batch (the
    # copies of many samples at once) exhausted memory with the ResNet trunk.
    def gradients(batch, idx):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            outputs = model(batch, training=False)
            score = _scores(task, outputs, idx, xp=tf)
            total = tf.reduce_sum(tf.cast(score, tf.float32))
        return tape.gradient(total, batch)

    parts: dict[str, list] = {n: [] for n in inputs}
    step = max(1, min(_rows_per_pass(inputs, copies), chunk // copies))
    for start in range(0, n_samples, step):
        rows = slice(start, min(start + step, n_samples))
        b = rows.stop - rows.start
        x = {n: v[rows] for n, v in inputs.items()}
        batch = _path_batch(method, x, baselines, scale, copies, rng)
        idx = tf.constant(np.repeat(index[rows], copies))
        grads = gradients({n: tf.constant(v) for n, v in batch.items()}, idx)
        for name, grad in grads.items():
            grad = grad.numpy().reshape(b, copies, *x[name].shape[1:]).mean(axis=1)
            n_values = schema[name].n_channels  # not a mask channel
            grad = grad[..., :n_values]
            if method == "integrated_gradients":
                grad = grad * (x[name][..., :n_values] - baselines[name])
            grad = np.abs(grad)
            if x[name].shape[-1] > n_values:  # padding is not relevant
                grad = grad * x[name][..., -1:]
            parts[name].append(
                grad.sum(-1) if schema[name].kind == "signal" else grad[:, 0]
            )
    return {n: np.concatenate(parts[n]).astype(np.float64) for n in inputs}


def _field_std(spec) -> np.ndarray:
    std = spec.network_std  # in the units the network gets
    return np.asarray(std if std else [1.0] * spec.n_channels, dtype=np.float32)


def _path_batch(
    method: str,
    x: Mapping[str, np.ndarray],
    baselines: Mapping[str, np.ndarray],
    scale: Mapping[str, np.ndarray],
    copies: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """``copies`` inputs per sample, sample-major: the path points of
    integrated gradients, noisy copies for SmoothGrad, ``x`` itself else."""
    out = {}
    for name, v in x.items():
        rep = np.repeat(v, copies, axis=0)
        values = rep[..., : len(baselines[name])]  # a mask channel stays as is
        if method == "integrated_gradients":
            alphas = (np.arange(copies) + 0.5) / copies  # midpoint rule
            alphas = np.tile(alphas, len(v)).reshape(-1, *[1] * (v.ndim - 1))
            values[...] = baselines[name] + alphas * (values - baselines[name])
        elif method == "smoothgrad":
            values += 0.15 * scale[name] * rng.standard_normal(values.shape)
        out[name] = rep.astype(np.float32)
    return out


def explain(
    state,
    X,
    task: str | None,
    target=None,
    *,
    method: str = "occlusion",
    window: int | None = None,
    chunk: int = 256,
) -> dict[str, np.ndarray]:
    """:meth:`MultiTaskConvEstimator.explain` on a fitted state: the task and
    class named by the user resolved, then :func:`explain_inputs`.

    Parameters
    ----------
    state : FittedState
    X : any accepted form of X
    task : str or None
        The task explained; None is the first.
    target : label or None
        For a classification task, the class explained (None: each sample's
        predicted class).
    method, window, chunk
        As in :func:`explain_inputs`.

    Returns
    -------
    dict
        ``{field: relevance}``.

    Raises
    ------
    ValueError
        If ``task`` is not a task, ``target`` not one of its classes, or
        ``method`` or ``window`` is not valid.

    Examples
    --------
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(84,), random_state=0).fit(X, y)
    >>> explain(est.fitted_state_, X[:2], "density")["ampl"].shape
    (2, 64)
    """
    window = check_explain_arguments(method, window)
    names = [t.name for t in state.tasks]
    name = names[0] if task is None else task
    if name not in names:
        raise ValueError(f"task={task!r} is not a task; tasks are {names}.")
    spec = state.tasks[names.index(name)]
    inputs, n_samples = encode(X, state.schema)
    index = None
    if target is not None and spec.kind == CLASSIFICATION:
        known = spec.classes.tolist()
        if target not in known:
            raise ValueError(
                f"target={target!r} is not a class of task {name!r}; its "
                f"classes are {known}."
            )
        index = np.full(n_samples, known.index(target), dtype=np.int32)
    return explain_inputs(
        state, inputs, name, index, method=method, window=window, chunk=chunk
    )
