"""Regression heads on a fixed trunk, refitted in closed form: ridge regression
whose strength, and a shrinkage towards the mean, each head chooses by
leave-one-out.

With the default ``"rocket"`` trunk and ``dense_units=0`` a regression head is a
linear ``Dense`` layer on fixed features, trained by gradient steps on its mean
squared error: least squares on ~10,000 features, stopped by a fixed budget of
steps. On a target with little signal that fits noise (CardanoSentiment: RMSE
0.321 against 0.300 for the training mean). The same head has a closed-form
ridge solution, and its leave-one-out residuals have a closed form too (the
hat matrix' diagonal, as in scikit-learn's ``RidgeCV``), so the training data
alone choose, per head and output:

1. the ridge penalty of smallest leave-one-out error, over a wide grid up to an
   infinite one (the weighted training mean); a finite penalty is kept only
   if its leave-one-out gain over the mean is at least one standard error of
   the paired per-row gains, since the least of 42 leave-one-out errors is
   optimistic (on CardanoSentiment, a target without signal, some penalty
   beat the mean by chance on 3 seeds of 6);
2. then a factor in [0, 1] that shrinks the ridge's predictions towards the
   mean: the slope of the targets on their leave-one-out predictions (Copas'
   1983 shrinkage; the "calibration slope" of van Houwelingen & le Cessie
   1990). Predictions that vary more than what they explain get a factor
   below 1. The penalty of smallest leave-one-out error alone was not enough
   on CardanoSentiment (RMSE 0.3026 over three seeds; 0.3004 with the factor).

:func:`ridge_heads` does this after training, for every regression head that
is linear on the fixed trunk's features, with the task's sample weights
(missing labels have weight 0 and are left out). In the default chained
network a lone classification task's block is refitted too, as MiniRocket's
``RidgeClassifierCV`` head (see :func:`_ridge_chained`). Heads behind a trained
layer (``dense_units > 0``, a trainable trunk) are left as trained. The
result is plain ``Dense`` weights: saving, loading and exporting see nothing
new.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import keras
import numpy as np

from ..data.targets import CLASSIFICATION, REGRESSION, TaskSpec
from ..nn.chain import SHARED_DENSE, TASK_OUTPUTS
from ..nn.frozen import behind_dropout, split_frozen_trunk, trunk_features

__all__ = [
    "ENABLED",
    "MAX_SAMPLES",
    "MIN_GAIN_SE",
    "RELATIVE_ALPHAS",
    "RidgeFit",
    "ridge_heads",
    "refits_every_head",
    "ridge_loo",
]

#: Whether :func:`ridge_heads` refits the eligible heads at fit (a switch for
#: benchmarks; the estimator calls it on every fresh fit).
ENABLED = True
#: Most labelled rows a head is refitted on: the leave-one-out needs the
#: eigendecomposition of an ``n x n`` Gram matrix (a few seconds at 3,000 rows
#: on two cores). Above it the heads keep their gradient-trained weights (large
#: data carry enough signal for the fixed budget not to fit noise).
MAX_SAMPLES = 3000
#: Penalties tried, relative to the mean eigenvalue of the centred Gram matrix
#: (so that they do not depend on the features' scale); an infinite penalty
#: (the mean) is always a candidate.
RELATIVE_ALPHAS = np.logspace(-6, 4, 41)
#: A ridge replaces the mean only when its leave-one-out gain over the mean
#: is at least this many standard errors of the paired per-row gains.
MIN_GAIN_SE = 1.0


class RidgeFit(NamedTuple):
    """What :func:`ridge_loo` chose and fitted, one column per target.

    Parameters
    ----------
    coef : ndarray of shape (n_features, n_targets)
    intercept : ndarray of shape (n_targets,)
    alpha : ndarray of shape (n_targets,)
        The relative penalty (``inf``: the head predicts the mean).
    factor : ndarray of shape (n_targets,)
        The shrinkage towards the mean applied on top (1: none).
    loo : ndarray of shape (n_samples, n_targets) or None
        Each training row's leave-one-out prediction by the chosen penalty
        (before the shrinkage).

    Examples
    --------
    >>> import numpy as np
    >>> RidgeFit(np.zeros((3, 1)), np.zeros(1), np.array([np.inf]), np.ones(1)).alpha
    array([inf])
    """

    coef: np.ndarray
    intercept: np.ndarray
    alpha: np.ndarray
    factor: np.ndarray
    loo: np.ndarray | None = None


def ridge_loo(
    features: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray | None = None,
    alphas: np.ndarray = RELATIVE_ALPHAS,
    calibrate: bool = True,
    min_gain_se: float = MIN_GAIN_SE,
    shared_alpha: bool = False,
) -> RidgeFit:
    """Weighted ridge regression with an intercept, each target's penalty and
    shrinkage towards the mean chosen by exact leave-one-out.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
    targets : ndarray of shape (n_samples,) or (n_samples, n_targets)
    weights : ndarray of shape (n_samples,), default=None
        Positive sample weights (None: all 1).
    alphas : ndarray, default=RELATIVE_ALPHAS
        Penalties relative to the mean eigenvalue of the weighted, centred
        Gram matrix; an infinite penalty (predict the weighted mean) is
        always tried too.
    calibrate : bool, default=True
        Shrink the chosen ridge's predictions towards the mean by the
        weighted slope of the targets on their leave-one-out predictions,
        clipped to [0, 1].
    min_gain_se : float, default=MIN_GAIN_SE
        Keep the mean unless the best penalty's leave-one-out squared errors
        are lower than the mean's by at least this many standard errors of
        the paired per-row differences (0: the least error wins).
    shared_alpha : bool, default=False
        One penalty for all targets, of least leave-one-out error summed over
        them (the targets are one task's classes, as in ``RidgeClassifierCV``).

    Returns
    -------
    RidgeFit
        Coefficients and intercept (the factor applied), the penalty and the
        factor of each target.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 200))
    >>> signal = X[:, 0] + rng.normal(scale=0.1, size=60)
    >>> noise = rng.normal(size=60)
    >>> fit = ridge_loo(X, np.c_[signal, noise])
    >>> bool(fit.alpha[0] < 1 <= fit.alpha[1])  # the noise is shrunk far harder
    True
    """
    alphas = np.sort(np.asarray(alphas, dtype=np.float64))[::-1]
    # A copy, centred and scaled in place: a float64 copy of 1,000 x 10,000
    # features is 80 MB, and each temporary another.
    Xc = np.array(features, dtype=np.float64)
    Y = np.asarray(targets, dtype=np.float64)
    Y = Y.reshape(len(Y), -1)
    w = np.ones(len(Xc)) if weights is None else np.asarray(weights, np.float64)
    total = w.sum()
    x_mean = w @ Xc / total
    y_mean = w @ Y / total
    root = np.sqrt(w)[:, None]
    # Weighted least squares is ordinary least squares on rows scaled by
    # sqrt(w); centring on the weighted means makes the intercept's column
    # (sqrt(w)) orthogonal to the features, so it adds sqrt(w) sqrt(w)' / sum(w)
    # to the hat matrix and the penalty acts on the features alone.
    Xc -= x_mean
    Xc *= root
    Yc = (Y - y_mean) * root
    n_targets = Y.shape[1]
    eigenvalues, U = np.linalg.eigh(Xc @ Xc.T)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    scale = eigenvalues.sum() / len(Xc)
    coef = np.zeros((Xc.shape[1], n_targets))
    alpha = np.full(n_targets, np.inf)
    factor = np.ones(n_targets)
    if scale <= 0:  # constant features: the mean is all there is
        return RidgeFit(coef, y_mean, alpha, factor, np.broadcast_to(y_mean, Y.shape))
    projected = U.T @ Yc
    candidates = np.concatenate([[np.inf], alphas])
    residuals = [
        _loo_residuals(eigenvalues, U, projected, Yc, w, a * scale) for a in candidates
    ]
    judged = residuals
    if shared_alpha:
        # Each row's error summed over the targets: one target to choose for.
        judged = [np.sqrt((r**2).sum(axis=1, keepdims=True)) for r in residuals]
    errors = np.array([(r**2).sum(axis=0) for r in judged])
    choice = np.argmin(errors, axis=0)  # ties: the first, the strongest penalty
    if shared_alpha:
        choice = np.repeat(choice, n_targets)
    loo = np.empty_like(Y)
    for j, i in enumerate(choice):
        k = 0 if shared_alpha else j
        if i == 0 or not _beats_the_mean(judged[0][:, k], judged[i][:, k], min_gain_se):
            i = 0
        # Leave-one-out predictions in the targets' units.
        loo[:, j] = Y[:, j] - np.divide(
            residuals[i][:, j], root[:, 0], out=np.zeros(len(Y)), where=root[:, 0] > 0
        )
        if i == 0:
            continue
        alpha[j] = candidates[i]
        dual = U @ (projected[:, j] / (eigenvalues + alpha[j] * scale))
        coef[:, j] = Xc.T @ dual
        if calibrate:
            # Leave-one-out predictions (centred, scaled rows) and the slope
            # of the targets on them.
            held_out = Yc[:, j] - residuals[i][:, j]
            spread = held_out @ held_out
            if spread > 0:
                factor[j] = np.clip(held_out @ Yc[:, j] / spread, 0.0, 1.0)
    coef *= factor
    return RidgeFit(coef, y_mean - x_mean @ coef, alpha, factor, loo)


def _beats_the_mean(mean_residuals, residuals, n_se: float) -> bool:
    """Whether leave-one-out ``residuals`` beat the mean's by ``n_se``
    standard errors of the paired gains in squared error (a paired test: the
    rows hard for the mean are hard for the ridge too)."""
    gain = mean_residuals**2 - residuals**2
    if len(gain) < 2:
        return bool(gain.sum() > 0)
    return bool(gain.mean() > n_se * gain.std(ddof=1) / np.sqrt(len(gain)))


def _loo_residuals(eigenvalues, U, projected, Yc, w, penalty) -> np.ndarray:
    """Leave-one-out residuals of the scaled rows, ``(n_samples, n_targets)``:
    ``r_i / (1 - H_ii)``; their squares are the weighted squared errors. An
    infinite penalty is the weighted mean."""
    leverage = w / w.sum()  # the intercept's share of each row's leverage
    if np.isinf(penalty):
        return Yc / (1 - leverage)[:, None]
    shrink = eigenvalues / (eigenvalues + penalty)
    leverage = np.minimum(U**2 @ shrink + leverage, 1 - 1e-12)
    return (Yc - U @ (shrink[:, None] * projected)) / (1 - leverage)[:, None]


def _linear_head(model: keras.Model, task: TaskSpec, boundary) -> keras.layers.Dense:
    """The task's output layer if, at inference, it is linear on ``boundary``
    (only dropout in between), else None."""
    output = model.output[task.name]
    layer = output._keras_history.operation
    if not (
        isinstance(layer, keras.layers.Dense)
        and layer.use_bias
        and keras.activations.get(layer.activation) is keras.activations.linear
    ):
        return None
    if behind_dropout(layer._inbound_nodes[0].input_tensors[0]) is not boundary:
        return None
    return layer


def ridge_heads(
    model: keras.Model,
    tasks: Sequence[TaskSpec],
    inputs: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    weights: Mapping[str, np.ndarray],
    rows: np.ndarray | None = None,
    features: np.ndarray | None = None,
) -> dict[str, RidgeFit]:
    """Refit each regression head that is linear on a fixed trunk by ridge
    regression, its penalty and shrinkage chosen per output by leave-one-out.

    The trunk's features are computed for the rows some such head has a label
    for; each head is fitted on its own labelled rows (weight > 0) with its
    weights (sample weights, missing labels). Nothing is done when the trunk
    is trained (see :func:`skmtl.nn.frozen.split_frozen_trunk`), for heads behind
    a trained layer, above :data:`MAX_SAMPLES` labelled rows or when
    :data:`ENABLED` is False.

    Parameters
    ----------
    model : keras.Model
        The trained network (dict outputs keyed by task); its heads' weights
        are set in place.
    tasks : sequence of TaskSpec
    inputs : dict of str to ndarray
        The network's inputs by name, all rows.
    targets, weights : dict of str to ndarray
        Per task, as :meth:`skmtl.data.targets.TargetEncoder.transform` returns
        them (regression targets standardised), with sample weights applied.
    rows : ndarray of int, default=None
        The rows the fit may learn from (None: all).
    features : ndarray of shape (n_samples, k), default=None
        The trunk's features of every row, if the caller has them (training
        computed them: :attr:`skmtl.training.session.TrainingRun.features`); None
        computes those of the rows needed.

    Returns
    -------
    dict of str to RidgeFit
        The fits of the heads refitted (see :func:`ridge_loo`).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.data.inputs import encode, infer_schema
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.nn.network import build_network, network_parameters
    >>> from skmtl.nn.rocket import adapt_rocket
    >>> from skmtl.data.targets import TargetEncoder
    >>> rng = np.random.default_rng(0)
    >>> X = {"ampl": rng.normal(size=(40, 32))}
    >>> y = rng.normal(size=40)  # no signal
    >>> schema, encoder = infer_schema(X), TargetEncoder().fit(y)
    >>> inputs = encode(X, schema)[0]
    >>> params = MultiTaskConvEstimator(filters=(168,), dense_units=0).get_params()
    >>> model = build_network(schema, encoder.tasks_, **network_parameters(params),
    ...                       random_state=0)
    >>> _ = adapt_rocket(model, inputs)
    >>> targets, weights = encoder.transform(y)
    >>> fits = ridge_heads(model, encoder.tasks_, inputs, targets, weights)
    >>> fits["y"].alpha, fits["y"].factor  # the head predicts the mean
    (array([inf]), array([1.]))
    """
    if not ENABLED:
        return {}
    split = split_frozen_trunk(model)
    if split is None:
        return {}
    trunk, _ = split
    chain = _chain_layers(model, trunk.output)
    if chain is not None:
        return _ridge_chained(
            model, chain, tasks, trunk, inputs, targets, weights, rows, features
        )
    heads = {
        task.name: layer
        for task in tasks
        if task.kind == REGRESSION
        and (layer := _linear_head(model, task, trunk.output)) is not None
    }
    if not heads:
        return {}
    labelled_rows = _labelled_features(
        trunk, inputs, targets, weights, list(heads), rows, features
    )
    if labelled_rows is None:
        return {}
    labelled, position, features = labelled_rows
    fits = {}
    for name, layer in heads.items():
        own = np.array([position[row] for row in labelled[name]], dtype=np.int64)
        if len(own) < 3:
            continue
        y = np.asarray(targets[name])[labelled[name]]
        fit = ridge_loo(features[own], y, np.asarray(weights[name])[labelled[name]])
        kernel, bias = layer.get_weights()
        layer.set_weights(
            [
                fit.coef.reshape(kernel.shape).astype(kernel.dtype),
                fit.intercept.astype(bias.dtype),
            ]
        )
        fits[name] = fit
    return fits


def refits_every_head(
    model: keras.Model,
    tasks: Sequence[TaskSpec],
    weights: Mapping[str, np.ndarray],
    rows: np.ndarray | None = None,
) -> bool:
    """Whether :func:`ridge_heads` sets everything the network outputs in
    closed form, whatever its heads were trained to.

    True for a network of one task, its trunk fixed, its output linear on the
    trunk's features (directly, or through the chain of :mod:`skmtl.nn.chain`,
    where the task's block is refitted and its head reset), with 3 to
    :data:`MAX_SAMPLES` labelled rows: gradient steps on the heads then change
    nothing ``predict`` returns, and a fit can skip them.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.data.inputs import infer_schema
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.nn.network import build_network, network_parameters
    >>> from skmtl.data.targets import TargetEncoder
    >>> X, y = {"ampl": np.zeros((40, 32))}, np.arange(40.0)
    >>> encoder = TargetEncoder().fit(y)
    >>> params = MultiTaskConvEstimator(filters=(168,), dense_units=0).get_params()
    >>> model = build_network(infer_schema(X), encoder.tasks_,
    ...                       **network_parameters(params), random_state=0)
    >>> refits_every_head(model, encoder.tasks_, encoder.transform(y)[1])
    True
    """
    if not ENABLED or len(tasks) != 1:
        return False
    split = split_frozen_trunk(model)
    if split is None:
        return False
    boundary = split[0].output
    (task,) = tasks
    linear = task.kind == REGRESSION and _linear_head(model, task, boundary)
    if _chain_layers(model, boundary) is None and not linear:
        return False
    labelled = np.asarray(weights[task.name]) > 0
    n_labelled = int(labelled.sum() if rows is None else labelled[rows].sum())
    return 3 <= n_labelled <= MAX_SAMPLES


def _chain_layers(model: keras.Model, boundary):
    """``(shared_dense, task_outputs)`` of a chained network (skmtl.nn.chain)
    whose shared layer reads ``boundary`` directly, else None."""
    try:
        shared = model.get_layer(SHARED_DENSE)
        outputs = model.get_layer(TASK_OUTPUTS)
    except ValueError:
        return None
    if behind_dropout(shared.input) is not boundary:
        return None
    return shared, outputs


def _labelled_features(trunk, inputs, targets, weights, names, rows, features):
    """Each head's labelled rows (weight > 0 among ``rows``), every such row's
    position among them all, and those rows' features; None when there are
    fewer than 3 or more than :data:`MAX_SAMPLES`."""
    rows = np.arange(len(next(iter(targets.values())))) if rows is None else rows
    labelled = {name: rows[np.asarray(weights[name])[rows] > 0] for name in names}
    needed = np.unique(np.concatenate(list(labelled.values())))
    if len(needed) > MAX_SAMPLES or len(needed) < 3:
        return None
    if features is None:
        computed = trunk_features(trunk, {k: v[needed] for k, v in inputs.items()})
        features = next(iter(computed.values()))
    else:
        features = np.asarray(features)[needed]
    return labelled, {row: i for i, row in enumerate(needed)}, features


def _ridge_chained(
    model, chain, tasks, trunk, inputs, targets, weights, rows, features
) -> dict[str, RidgeFit]:
    """Refit each task's block of the shared layer in closed form.

    A chained head computes ``z_t A + (everything else) + b``, where ``z_t``
    is the task's own block of the shared layer (linear on the features) and
    "everything else" is what the head reads of the other tasks' blocks and
    outputs, trained jointly under the loss weights. Holding that part fixed,
    the block is refitted by :func:`ridge_loo` (with the task's sample
    weights; missing labels left out), and the head's own weights reset to
    the identity:

    - a regression block on the target minus that part, so the task's
      prediction is the ridge's;
    - a classification block, when it is the network's one task, as
      ``RidgeClassifierCV`` does (MiniRocket's own head): one-vs-rest targets
      of +-1, one penalty for all classes, then turned into logits by the
      scale that minimises the cross-entropy of the rows' leave-one-out
      scores (:func:`_logit_scale`). Gradient steps on 10,000 fixed features
      stop far from this optimum (PLAID: 0.894 against 0.944, same features).
    """
    shared, task_outputs = chain
    order = [t.name for t in tasks]
    # A classification block is refitted only when it is the network's one
    # task: beside a partner, the refit detached it from what the partner's
    # head learned with it (Covid3Month's tertiles beside the rate: 0.404
    # against 0.437 trained; three seeds).
    eligible = [t for t in tasks if t.kind == REGRESSION or len(tasks) == 1]
    labelled_rows = _labelled_features(
        trunk, inputs, targets, weights, [t.name for t in eligible], rows, features
    )
    if labelled_rows is None:
        return {}
    labelled, position, features = labelled_rows
    kernel, bias = (np.array(w) for w in shared.get_weights())
    logits = features @ kernel + bias
    outputs = np.asarray(task_outputs(logits))
    width = kernel.shape[1]
    starts = np.cumsum([0, *task_outputs.units])
    fits = {}
    for task in eligible:
        index = order.index(task.name)
        block = slice(starts[index], starts[index + 1])
        own = np.array([position[r] for r in labelled[task.name]], dtype=np.int64)
        if len(own) < 3:
            continue
        head = model.output[task.name]._keras_history.operation
        head_kernel, head_bias = (np.array(w) for w in head.get_weights())
        mine = np.zeros(2 * width, bool)
        mine[block] = True
        mine[width + block.start : width + block.stop] = True
        y = np.asarray(targets[task.name])[labelled[task.name]].reshape(len(own), -1)
        w = np.asarray(weights[task.name])[labelled[task.name]]
        if task.kind == CLASSIFICATION:
            # The network's one task: its head reads nothing else. The
            # ridge's intercept carries the classes' balance: the head's own
            # offsets would count it twice.
            head_bias[:] = 0.0
            fit = _ridge_classifier(features[own], y[:, 0].astype(np.int64), w, task)
        else:
            both = np.concatenate([logits[own], outputs[own]], axis=1)
            rest = both[:, ~mine] @ head_kernel[~mine] + head_bias
            fit = ridge_loo(features[own], y - rest, w)
        kernel[:, block] = fit.coef
        bias[block] = fit.intercept
        head_kernel[mine] = 0.0
        head_kernel[block] = np.eye(block.stop - block.start)
        head.set_weights([head_kernel, head_bias])
        fits[task.name] = fit
    shared.set_weights([kernel, bias])
    return fits


#: Largest scale of the ridge scores into logits (scores of +-1 apart by 2:
#: probabilities within e**-100 of 0 and 1), where leave-one-out scores
#: separate the classes and the cross-entropy falls without end.
MAX_LOGIT_SCALE = 50.0


def _ridge_classifier(features, codes, weights, task: TaskSpec) -> RidgeFit:
    """One classification block: a ridge on +-1 one-vs-rest targets, its
    scores scaled into logits (see :func:`_ridge_chained`)."""
    classes = np.arange(task.n_classes)
    if task.is_binary:
        signs = np.where(codes == 1, 1.0, -1.0)[:, None]
    else:
        signs = np.where(codes[:, None] == classes[None], 1.0, -1.0)
    fit = ridge_loo(features, signs, weights, calibrate=False, shared_alpha=True)
    scale = _logit_scale(fit.loo, codes, weights, task.is_binary)
    return fit._replace(coef=fit.coef * scale, intercept=fit.intercept * scale)


def _logit_scale(scores, codes, weights, binary: bool) -> float:
    """The ``a`` of least weighted cross-entropy of ``a * scores``
    (sigmoid for one column, softmax otherwise), ``0 <= a <=``
    :data:`MAX_LOGIT_SCALE`, against Platt's smoothed targets.

    One scale, not per-class offsets too: the ridge's decisions are kept as
    they are (offsets fitted on a few rows per class moved them: 0.84 to 0.82
    on PickupGestureWiimoteZ, 5 rows a class). The targets are Platt's (1999):
    a row of a class with ``n`` rows puts ``1 / (n + 2)`` of its probability
    on the other classes, so that scores that separate the training rows do
    not make the scale, and the probabilities, run to their limit.
    """
    from scipy.optimize import minimize_scalar

    w = np.asarray(weights, np.float64) / np.sum(weights)
    scores = np.asarray(scores, np.float64)
    rows = np.arange(len(scores))
    n_classes = 2 if binary else scores.shape[1]
    counts = np.bincount(codes, minlength=n_classes)
    spread = 1.0 / (counts[codes] + 2.0)
    if binary:
        target = np.where(codes == 1, 1.0 - spread, spread)
    else:
        target = np.repeat((spread / (n_classes - 1))[:, None], n_classes, axis=1)
        target[rows, codes] = 1.0 - spread

    def loss(scale):
        z = scale * scores
        if binary:
            value = np.logaddexp(0.0, z[:, 0]) - target * z[:, 0]
        else:
            top = z.max(axis=1)
            log_total = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
            value = log_total - (target * z).sum(axis=1)
        return w @ value

    result = minimize_scalar(loss, bounds=(0.0, MAX_LOGIT_SCALE), method="bounded")
    return float(result.x)
