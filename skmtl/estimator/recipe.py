"""The fit recipe: encode -> split -> build -> train -> commit.

Each step is a function of plain values (the estimator's parameters, its
previous fitted state) owned here or by the layer below that does the work,
so that :meth:`MultiTaskConvEstimator.fit` reads as the recipe and each step
is testable alone. Nothing here touches the estimator object: :func:`fit`
returns the new fitted state and training session, which the estimator
assigns in one statement, so a fit that raises changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import keras
import numpy as np
from sklearn.exceptions import DataConversionWarning

from ..data.forms import check_input_list
from ..data.holdout import RowPlan, plan_rows, row_keys
from ..data.inputs import InputSchema, encode, infer_schema
from ..data.sample_weights import apply_class_weight, apply_sample_weight
from ..data.targets import TargetEncoder
from ..inspect.metrics import check_score_weights
from ..nn.frozen import FEATURES_INPUT, split_frozen_trunk, trunk_features
from ..nn.heads import check_heads, model_input_names, with_task_outputs
from ..nn.network import (
    build_network,
    dtype_policy,
    network_parameters,
    warn_inapplicable,
)
from ..nn.rocket import adapt_rocket, rocket_columns, scale_rocket_features
from ..training.budget import auto_budget
from ..training.components import build_optimizer
from ..training.conformal import calibrate_rows
from ..training.fitted import FittedState, network_function, warn_if_collapsed
from ..training.session import (
    TrainingConfig,
    TrainingRun,
    TrainingSession,
    distribution_strategy,
    extend_history,
)
from ..training.shrinkage import refits_every_head, ridge_heads
from ..utils.routing import routed
from ..utils.warnings import warn_user
from .parameters import (
    DEFAULTS,
    architecture_key,
    check_architecture_unchanged,
    check_lengths,
    declared_kinds,
    feature_names,
    python_random_seeded,
)

__all__ = ["FitSettings", "fit", "build_model"]


@dataclass(frozen=True)
class FitSettings:
    """The estimator's parameters for one fit, checked and resolved.

    Attributes
    ----------
    params : mapping
        ``get_params(deep=False)``, routed names included.
    config : TrainingConfig
    callbacks : list
        This fit's copies of the user's callbacks.
    seed : int
        This fit's one seed.
    chunk : int
        Rows per forward pass outside training.
    """

    params: Mapping
    config: TrainingConfig
    callbacks: list
    seed: int
    chunk: int


@dataclass(frozen=True)
class _Data:
    """The fit's data, encoded (the *encode* step)."""

    schema: InputSchema
    encoder: TargetEncoder
    inputs: dict
    n_samples: int
    targets: dict
    weights: dict

    @property
    def tasks(self):
        return self.encoder.tasks_


@dataclass(frozen=True)
class _Network:
    """A network ready to train (the *build* step)."""

    model: keras.Model
    input_names: tuple
    features: np.ndarray | None  # the fixed trunk's features of every row
    traced: object  # the network's traced function, where already made
    history: dict


def fit(
    settings: FitSettings,
    X,
    y,
    sample_weight,
    *,
    epochs,
    previous: FittedState | None,
    session: TrainingSession | None,
    classes=None,
    holdout: bool = True,
) -> tuple[FittedState, TrainingSession]:
    """One fit (``previous`` given: a warm one), as named steps.

    Returns
    -------
    state : FittedState
    session : TrainingSession
        The session that trained, to go on with at the next warm fit.
    """
    params, config = settings.params, settings.config
    check_warm_start(params, previous)
    data = encode_data(params, X, y, sample_weight, previous, classes)
    plan = split_rows(settings, data, previous, stream=not holdout)
    n_train = data.n_samples if plan.train is None else len(plan.train)
    # A batch larger than the data is the data: the rows once each.
    config = replace(config, batch_size=max(1, min(config.batch_size, n_train)))
    auto = epochs == "auto"
    if auto:
        budget = auto_budget(n_train, config.batch_size)
        epochs = budget.epochs
        config = replace(config, passes_per_epoch=budget.passes_per_epoch)
    strategy = distribution_strategy(config.distribute, config.loss_weighting)
    if previous is None:
        network = build(params, data, strategy, settings.seed)
    else:
        network = reuse(previous, data.inputs)
    if session is None or not session.fits(config, network.model):
        session = TrainingSession(
            config,
            network.model,
            data.tasks,
            strategy,
            lambda: build_optimizer(config),
        )
    inputs = {name: data.inputs[name] for name in network.input_names}
    if (
        auto
        and holdout
        and not settings.callbacks
        and refits_every_head(network.model, data.tasks, data.weights, plan.refit)
    ):
        # Every output is set by the closed-form refit below: the "auto"
        # budget's gradient steps would change nothing predict returns.
        run = TrainingRun({}, 0, 0, session.task_weights(), network.features)
    else:
        run = train(session, settings, config, inputs, data, plan, network, epochs)
    state = commit(settings, data, inputs, plan, network, run, refit=holdout, X=X)
    return state, session


# ------------------------------------------------------------------ encode
def encode_data(params, X, y, sample_weight, previous, classes) -> _Data:
    """X and y as the network takes them: a new schema and target encoder
    on a first fit, the fitted ones on a warm fit."""
    # Keras' [X1, X2] habit, refused before reading X as one array would
    # warn about its layout.
    check_input_list(X, n_samples=TargetEncoder().n_samples_of(y))
    if previous is not None:
        schema, encoder = previous.schema, previous.target_encoder
        inputs, n_samples = encode(X, schema)
    else:
        schema = infer_schema(X)
        # infer_schema has just scanned X for NaN and infinity.
        inputs, n_samples = encode(X, schema, check_finite=False)
        encoder = TargetEncoder(params["tasks"]).fit(y, classes=classes)
        _warn_column_vector(params["tasks"], y)
    targets, weights = encoder.transform(y)
    check_lengths(n_samples, encoder.n_samples_of(y))
    weights = apply_sample_weight(weights, sample_weight, n_samples)
    weights = apply_class_weight(
        weights, targets, encoder.tasks_, params["class_weight"]
    )
    check_score_weights(params["score_weights"], [t.name for t in encoder.tasks_])
    return _Data(schema, encoder, inputs, n_samples, targets, weights)


def _warn_column_vector(tasks, y) -> None:
    """scikit-learn's warning for a ``(n, 1)`` y where one task was declared."""
    kinds = declared_kinds(tasks)
    if kinds is not None and len(kinds) == 1 and np.asarray(y).shape[1:] == (1,):
        warn_user(
            "A column-vector y was passed when a 1d array was expected. Please "
            "change the shape of y to (n_samples, ), for example using ravel(). "
            "(With one declared task, predictions keep the 2-D shape of y.)",
            DataConversionWarning,
        )


# ------------------------------------------------------------------- split
def split_rows(
    settings: FitSettings, data: _Data, previous: FittedState | None, *, stream: bool
) -> RowPlan:
    """Which rows train, validate and calibrate (:mod:`skmtl.data.holdout`):
    one plan for every later step. Rows held out by earlier fits of the
    network stay held out: the plan is keyed by their salt and bounded by
    their ``clean_below``."""
    config, seed = settings.config, settings.seed
    if previous is None:
        salt, clean_below = seed, None
    else:
        earlier = previous.calibration
        salt = seed if earlier is None or earlier.salt is None else earlier.salt
        clean_below = 0.0 if earlier is None else earlier.clean_below
    return plan_rows(
        settings.params["calibration_fraction"],
        row_keys(data.inputs, salt),
        data.targets,
        data.tasks,
        data.weights,
        salt=salt,
        seed=seed,
        validation_fraction=config.validation_fraction
        if config.early_stopping
        else 0.0,
        keras_split=float(config.fit_params.get("validation_split", 0.0)),
        clean_below=clean_below,
        stream=stream,
    )


# ------------------------------------------------------------------- build
def build(params, data: _Data, strategy, seed: int) -> _Network:
    """A new network: built, its fixed weights set from the data (MiniRocket's
    biases and scales), and a custom builder's heads checked."""
    schema, tasks = data.schema, data.tasks
    with strategy.scope(), dtype_policy(params["mixed_precision"]):
        with python_random_seeded(seed):
            model = build_model(params, schema, tasks, seed)
        model = with_task_outputs(model, tasks)
    input_names = model_input_names(model, schema)
    feed = {name: data.inputs[name] for name in input_names}
    # Where the fixed trunk's output holds the layers' features as they are,
    # the trunk's features of every row are computed once, with identity
    # scales, and give the scales too.
    split = split_frozen_trunk(model)
    blocks = None if split is None else rocket_columns(split[0], model)
    features = traced = None
    if blocks and all(layer.compute_dtype == "float32" for layer, _ in blocks):
        adapt_rocket(model, feed, scales=False)
        # One trace serves the features here and predict later.
        traced = network_function(model, schema, input_names)
        features = trunk_features(split[0], feed, traced)[FEATURES_INPUT]
        scale_rocket_features(blocks, features)
    else:
        adapt_rocket(model, feed)
    if params["model"] is not None:  # the default network is right by construction
        probe = {name: data.inputs[name][:8] for name in input_names}
        check_heads(model, tasks, probe)
    return _Network(model, tuple(input_names), features, traced, {})


def build_model(params: Mapping, schema, tasks, seed: int) -> keras.Model:
    """The network the parameters describe: the default one, or the custom
    builder's (called with the routed ``model__*``)."""
    builder = params["model"]
    model_params = routed(params, "model")
    if builder is None:
        warn_inapplicable(params["trunk"], params, DEFAULTS)
        if model_params:
            raise ValueError(
                f"model__ parameters {sorted(model_params)} are only for a "
                "custom model builder; the default network takes flat "
                "parameters (filters, kernel_size, ...)."
            )
        return build_network(
            schema, tasks, **network_parameters(params), random_state=seed
        )
    model = builder(schema, tasks, **model_params)
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"The model builder returned {type(model).__name__}; it must "
            "return a keras.Model."
        )
    return model


def reuse(previous: FittedState, inputs) -> _Network:
    """The fitted network of a warm fit, and its fixed trunk's features read
    through its traced function (not a second trace of the trunk)."""
    model, input_names = previous.model, previous.input_names
    traced = previous.predict_function()
    split = split_frozen_trunk(model)
    features = None
    if split is not None:
        feed = {name: inputs[name] for name in input_names}
        features = trunk_features(split[0], feed, traced)[FEATURES_INPUT]
    return _Network(model, tuple(input_names), features, traced, previous.history)


# ------------------------------------------------------------------- train
def train(session, settings, config, inputs, data, plan, network, epochs):
    """One call of the session; a warm fit that raises gets its weights back,
    and the session, whose optimizer may be half-updated, is not reused."""
    initial_epoch = len(network.history.get("loss", []))
    if plan.train is not None and not len(plan.train):
        # A partial_fit batch whose every row is held out for calibration.
        return TrainingRun({}, 0, 0, session.task_weights())
    snapshot = session.model.get_weights() if initial_epoch else None
    try:
        return session.fit(
            inputs,
            data.targets,
            data.weights,
            config=config,
            epochs=epochs,
            initial_epoch=initial_epoch,
            seed=settings.seed,
            callbacks=settings.callbacks,
            rows=plan.train,
            validation=plan.validation,
            features=network.features,
        )
    except BaseException:
        if snapshot is not None:
            session.model.set_weights(snapshot)
        session.close()
        raise


# ------------------------------------------------------------------ commit
def commit(settings, data, inputs, plan, network, run, *, refit: bool, X):
    """The fitted state: heads refitted in closed form, the network traced
    for predict, calibration read from the held-out rows."""
    model, tasks = network.model, data.tasks
    if refit:
        # Heads linear on fixed features: refitted in closed form on every
        # row but the calibration ones, each choosing its own shrinkage
        # (skmtl.training.shrinkage). Also after a warm start, which would
        # otherwise leave them where the gradient steps took them; not per
        # partial_fit batch, which would forget the batches before.
        ridge_heads(
            model, tasks, inputs, data.targets, data.weights, plan.refit, run.features
        )
    state = FittedState(
        schema=data.schema,
        target_encoder=data.encoder,
        model=model,
        input_names=network.input_names,
        history=extend_history(network.history, run.logs),
        task_weights=run.task_weights,
        n_epochs=run.n_epochs,
        best_epoch=run.best_epoch,
        feature_names=feature_names(X, data.schema),
        build_key=architecture_key(settings.params),
    )
    # Traced now, for the network just trained, so that predict does not
    # change the estimator's state (scikit-learn's check_dict_unchanged).
    state.predict_function(network.traced)
    if plan.calibration is not None:
        calibration = calibrate_rows(
            state,
            inputs,
            data.targets,
            data.weights,
            plan,
            settings.chunk,
            run.features,
        )
        state = state.evolve(calibration=calibration)
    warn_if_collapsed(
        state, inputs, data.targets, data.weights, settings.chunk, run.features
    )
    return state


def check_warm_start(params: Mapping, previous: FittedState | None) -> None:
    """Refuse a warm fit whose architecture parameters changed."""
    if previous is not None:
        check_architecture_unchanged(architecture_key(params), previous.build_key)
