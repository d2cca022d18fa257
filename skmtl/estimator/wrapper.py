"""The scikit-learn estimator; the one module that touches scikeras.

scikeras (0.13) is the base class: its ``get_params`` and ``set_params``
carry routed names (``optimizer__learning_rate``, ``callbacks__0__patience``,
``fit__validation_split``) through ``clone`` and searches; skmtl reads them
with :mod:`skmtl.utils.routing` (no private scikeras module). Everything it
does with data is replaced here: it cannot carry named
inputs, several tasks, per-task sample weights or masked labels, and its
seeding switches TensorFlow op determinism on for good (see PITFALLS). It also
predates scikit-learn's tag API, so tags are declared here.

The class holds the parameters (declared once, in
:mod:`skmtl.estimator.parameters`) and the scikit-learn surface. ``fit`` is
the recipe of :mod:`skmtl.estimator.recipe`; the objects it makes have three
lifetimes: the training session (:mod:`skmtl.training.session`: built when
training starts, never pickled), the fitted state (:mod:`skmtl.training.fitted`:
assigned in one statement at the end of ``fit``) and the file
(:mod:`skmtl.io.persistence`: parameters and fitted state).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import keras
import numpy as np
import tensorflow as tf
from scikeras.wrappers import BaseWrapper
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted

from ..data.forms import check_same_index
from ..data.sample_weights import check_sample_weight
from ..data.targets import CLASSIFICATION, REGRESSION
from ..inspect.metrics import check_unseen_labels, combined_score
from ..io import persistence
from ..training.components import build_callbacks
from ..training.conformal import (
    scale_probabilities,
)
from ..training.fitted import FittedState
from ..training.session import TrainingConfig
from ..utils.routing import routed
from . import recipe
from .inspection import InspectionMixin, has_classification_task
from .parameters import (
    CONSTRAINTS,
    DEFAULTS,
    ROUTING_PREFIXES,
    check_lengths,
    check_routed_names,
    declared_kinds,
    draw_seed,
    numpydoc_parameters,
    predict_chunk,
    refuse_keras_fit_arguments,
    warn_inactive,
)

__all__ = ["MultiTaskConvEstimator"]

# scikeras members that skmtl replaces: what to use instead.
_REPLACED = {
    "initialize": "fit or partial_fit",
    "initialized_": "check_is_fitted(est) or model_",
    "current_epoch": "len(est.history_['loss'])",
    "target_encoder": "target_encoder_ (fitted)",
    "feature_encoder": "schema_ (fitted)",
    "scorer": "score or skmtl.metrics.task_scorer",
}


def _state_field(name: str) -> property:
    """A fitted attribute that is a field of the fitted state.

    Assigning one replaces the whole state by a copy with that field changed,
    so the state stays one consistent object.
    """

    def get(self):
        value = getattr(self._fitted(), name)
        return list(value) if name == "input_names" else value

    def set_(self, value):
        if name == "input_names":
            value = tuple(value)
        self._state = self._fitted().evolve(**{name: value})

    return property(get, set_, doc=f"``fitted_state_.{name}``.")


def _replaced(name: str) -> property:
    """A property standing in for a scikeras member skmtl does not support."""

    def refuse(self):
        raise AttributeError(
            f"{type(self).__name__}.{name} is not available (a scikeras member "
            f"skmtl replaces); use {_REPLACED[name]}."
        )

    return property(refuse)


class MultiTaskConvEstimator(InspectionMixin, BaseWrapper):
    """One multi-task network, a shared trunk and a head per task, as an estimator.

    Each column of y is a task: classification (label in, label out) or regression
    (value in, value out). Each field of X is a signal (an array per sample) or a
    covariate (a number per sample); see
    :func:`skmtl.data.inputs.to_named_arrays` for the accepted forms of X.

    Parameters
    ----------
    <parameters>

    Attributes
    ----------
    model_ : keras.Model
        The fitted network.
    schema_ : InputSchema
        The fields of X seen at fit, with normalisation statistics.
    tasks_ : list of TaskSpec
        The tasks seen at fit.
    task_kinds_ : dict
        ``{task: "classification" | "regression"}``.
    classes_ : ndarray or dict
        For a 1-D y, the classes of its (classification) task; otherwise
        ``{task: classes}`` for each classification task.
    history_ : dict
        Per-epoch losses, metrics and task weights (``loss``, ``<task>_loss``,
        ``<task>_accuracy``, ``weight_<task>``, and ``val_...`` with validation),
        one value per epoch over every warm-started fit (NaN for an epoch that
        did not log the key).
    task_weights_ : dict
        ``{task: weight}`` in force at the end of training.
    n_epochs_ : int
        Epochs trained by the last call to ``fit``.
    best_epoch_ : int
        With ``early_stopping``, the (1-based) epoch whose weights were kept;
        otherwise the last epoch.
    n_features_in_ : int
        Number of fields (columns for a 2-D array X).
    feature_names_in_ : ndarray
        Column names, when X is a DataFrame.

    Examples
    --------
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(84,), epochs=1, random_state=0)
    >>> est = est.fit(X, y)
    >>> est.predict(X).columns.tolist()
    ['material', 'density']
    >>> est.predict_proba(X)["material"].shape
    (60, 5)
    """

    _routing_prefixes: ClassVar[set] = set(ROUTING_PREFIXES)
    _parameter_constraints: ClassVar[dict] = dict(CONSTRAINTS)

    def __init__(
        self,
        model: Callable[..., keras.Model] | None = DEFAULTS["model"],
        *,
        tasks: Mapping[str, str] | Sequence[str] | None = DEFAULTS["tasks"],
        loss_weights: Mapping[str, float] | None = DEFAULTS["loss_weights"],
        loss_weighting: str = DEFAULTS["loss_weighting"],
        dwa_temperature: float = DEFAULTS["dwa_temperature"],
        gradnorm_alpha: float = DEFAULTS["gradnorm_alpha"],
        trunk: str = DEFAULTS["trunk"],
        filters: Sequence[int] | None = DEFAULTS["filters"],
        kernel_size: int = DEFAULTS["kernel_size"],
        pool_size: int = DEFAULTS["pool_size"],
        dropout: float = DEFAULTS["dropout"],
        dense_units: int = DEFAULTS["dense_units"],
        optimizer: str | keras.optimizers.Optimizer | type = DEFAULTS["optimizer"],
        learning_rate: float = DEFAULTS["learning_rate"],
        batch_size: int = DEFAULTS["batch_size"],
        epochs: int | str = DEFAULTS["epochs"],
        shuffle: bool = DEFAULTS["shuffle"],
        callbacks: list | None = DEFAULTS["callbacks"],
        warm_start: bool = DEFAULTS["warm_start"],
        random_state: int | np.random.RandomState | None = DEFAULTS["random_state"],
        class_weight: str | Mapping | None = DEFAULTS["class_weight"],
        early_stopping: bool = DEFAULTS["early_stopping"],
        validation_fraction: float = DEFAULTS["validation_fraction"],
        n_iter_no_change: int = DEFAULTS["n_iter_no_change"],
        calibration_fraction: float | str | None = DEFAULTS["calibration_fraction"],
        score_weights: Mapping[str, float] | None = DEFAULTS["score_weights"],
        distribute: str | tf.distribute.Strategy | None = DEFAULTS["distribute"],
        mixed_precision: str | None = DEFAULTS["mixed_precision"],
        verbose: int = DEFAULTS["verbose"],
        **kwargs,
    ):
        self.model = model
        self.tasks = tasks
        self.loss_weights = loss_weights
        self.loss_weighting = loss_weighting
        self.dwa_temperature = dwa_temperature
        self.gradnorm_alpha = gradnorm_alpha
        self.trunk = trunk
        self.filters = filters
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.dropout = dropout
        self.dense_units = dense_units
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.calibration_fraction = calibration_fraction
        self.score_weights = score_weights
        self.distribute = distribute
        self.mixed_precision = mixed_precision
        self.verbose = verbose
        # Routed names are checked in fit (scikit-learn wants __init__ to store,
        # not validate).
        for name, value in kwargs.items():
            setattr(self, name, value)

    # scikeras prints every parameter on its own line; scikit-learn's repr shows
    # only those that differ from their defaults.
    __repr__ = BaseEstimator.__repr__

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        kinds = self._declared_kinds()
        tags.target_tags.multi_output = kinds is None or len(kinds) > 1
        tags.target_tags.single_output = kinds is None or len(kinds) == 1
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        # Only a single declared task makes this a classifier or a regressor: a
        # multi-task estimator must not be one, or ``cv=int`` would pick
        # StratifiedKFold, which rejects a 2-column y.
        if kinds == [CLASSIFICATION]:
            from sklearn.utils import ClassifierTags

            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        elif kinds == [REGRESSION]:
            from sklearn.utils import RegressorTags

            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        return tags

    def _declared_kinds(self) -> list | None:
        return declared_kinds(self.tasks)

    # ------------------------------------------------------- fitted state
    def __sklearn_is_fitted__(self) -> bool:
        return self.__dict__.get("_state") is not None

    def _fitted(self) -> FittedState:
        state = self.__dict__.get("_state")
        if state is None:
            # An AttributeError too, so hasattr(est, "model_") stays False.
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet: call fit "
                "first."
            )
        return state

    fitted_state_ = property(
        _fitted, doc="The :class:`~skmtl.training.fitted.FittedState`."
    )
    model_ = _state_field("model")
    schema_ = _state_field("schema")
    target_encoder_ = _state_field("target_encoder")
    input_names_ = _state_field("input_names")
    history_ = _state_field("history")
    task_weights_ = _state_field("task_weights")
    n_epochs_ = _state_field("n_epochs")
    best_epoch_ = _state_field("best_epoch")

    @property
    def tasks_(self):
        return self._fitted().tasks

    @tasks_.setter
    def tasks_(self, tasks):
        # A new encoder, so the fitted state stays one consistent object.
        encoder = copy.copy(self._fitted().target_encoder)
        encoder.tasks_ = list(tasks)
        self._state = self._fitted().evolve(target_encoder=encoder)

    task_kinds_ = property(lambda self: self._fitted().task_kinds)
    n_features_in_ = property(lambda self: self._fitted().schema.n_features_in)

    @property
    def classes_(self):
        classes = self._fitted().classes
        if classes is None:
            raise AttributeError("classes_: the estimator has no classification task.")
        return classes

    @property
    def feature_names_in_(self):
        names = self._fitted().feature_names
        if names is None:
            raise AttributeError(
                "feature_names_in_: X at fit was not a DataFrame with string "
                "column names."
            )
        return names

    # scikeras members that do not work here say what to use instead.
    initialized_ = _replaced("initialized_")
    current_epoch = _replaced("current_epoch")
    target_encoder = _replaced("target_encoder")
    feature_encoder = _replaced("feature_encoder")
    scorer = _replaced("scorer")

    def __getstate__(self):
        # A training session lives between warm-started fits of one object and
        # is rebuilt from the parameters when needed: never pickled.
        state = super().__getstate__()
        state.pop("_session", None)
        return state

    # ------------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None, **fit_params) -> MultiTaskConvEstimator:
        """Fit the network to X and y.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            Named signals and covariates (see
            :func:`skmtl.data.inputs.to_named_arrays`).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks), DataFrame
            One column per task; NaN or None marks a missing label.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in every task's loss. (A third positional
            argument is this weight, not a second target.)
        **fit_params
            Refused with a message that says where each Keras ``fit`` keyword
            goes here (``epochs`` is an estimator parameter, validation is
            ``early_stopping=True``, others are routed as ``fit__<name>``).

        Returns
        -------
        self : MultiTaskConvEstimator
            Fitted: ``model_``, ``history_``, ``classes_``, ``task_weights_``...

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(84,), epochs=2, random_state=0)
        >>> est.fit(X, y).n_epochs_
        2
        >>> [key for key in est.history_ if key.startswith("material")]
        ['material_accuracy', 'material_loss']
        """
        refuse_keras_fit_arguments(fit_params)
        return self._fit(X, y, sample_weight, epochs=self.epochs, warm=self.warm_start)

    def partial_fit(
        self, X, y, sample_weight=None, classes=None
    ) -> MultiTaskConvEstimator:
        """Train for one more epoch, building the network on the first call.

        The first call builds the network from its rows (the default trunk's
        feature scales need at least 4). Under a float
        ``calibration_fraction``, the rows of each batch held out for
        calibration are never trained on.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.
        classes : array-like or dict, default=None
            On the first call, every class a classification task will ever see
            (its batches may not all show every class): an array for a single
            classification task, or ``{task: classes}``. Ignored afterwards.

        Returns
        -------
        self : MultiTaskConvEstimator
            Trained for one more epoch.

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(84,), epochs=2, random_state=0)
        >>> for _ in range(3):
        ...     est = est.partial_fit(X, y)
        >>> len(est.history_["loss"])
        3
        """
        return self._fit(
            X, y, sample_weight, epochs=1, warm=True, classes=classes, holdout=False
        )

    def _fit(
        self,
        X,
        y,
        sample_weight,
        *,
        epochs,
        warm: bool,
        classes=None,
        holdout: bool = True,
    ):
        """Check the parameters, run the fit recipe, then commit in one step.

        Nothing on ``self`` changes before the last statement, so a fit that
        raises leaves the estimator as it was; a warm fit that fails inside
        training also gets its network's weights back.
        """
        if y is None:
            raise ValueError(
                "MultiTaskConvEstimator requires y to be passed, but the target y "
                "is None."
            )
        check_same_index(X, y, sample_weight)
        settings = self._settings()
        self._state, self._session = recipe.fit(
            settings,
            X,
            y,
            sample_weight,
            epochs=epochs,
            previous=self.__dict__.get("_state") if warm else None,
            session=self.__dict__.get("_session"),
            classes=classes,
            holdout=holdout,
        )
        return self

    def _settings(self) -> recipe.FitSettings:
        """The parameters of one fit, checked (routed names included) and
        resolved: every bad value fails here, before any data is read."""
        self._validate_params()
        params = self.get_params(deep=False)
        declared = set(BaseEstimator._get_param_names.__func__(type(self)))
        check_routed_names(params, declared)
        warn_inactive(params)
        return recipe.FitSettings(
            params=params,
            config=TrainingConfig.of(params),
            callbacks=build_callbacks(self.callbacks, routed(params, "callbacks")),
            seed=draw_seed(self.random_state),
            # A bad predict__batch_size fails here, before training.
            chunk=predict_chunk(routed(params, "predict")),
        )

    def _predict_chunk(self) -> int:
        return predict_chunk(routed(self.get_params(deep=False), "predict"))

    def initialize(self, X=None, y=None):
        """Not available: skmtl builds the network in :meth:`fit`."""
        raise NotImplementedError(
            "MultiTaskConvEstimator.initialize is a scikeras method skmtl does not "
            f"support; use {_REPLACED['initialize']}."
        )

    # --------------------------------------------------------------- predict
    def _outputs(self, X) -> dict[str, np.ndarray]:
        """Raw network outputs for X, in chunks through one traced function."""
        check_is_fitted(self)
        return self._state.outputs(X, self._predict_chunk())

    def predict(self, X):
        """Predict every task, in the form y had at fit.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit, matched by name (any float dtype).

        Returns
        -------
        ndarray or DataFrame
            A 1-D y gives a 1-D array, a 2-D array a 2-D array, a DataFrame a
            DataFrame with the same columns and dtypes (categories and their
            order included) and, for a DataFrame X, X's index. Labels are the
            original class values; regression values are in the original units.

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(84,), epochs=2, random_state=0)
        >>> pred = est.fit(X, y).predict(X)
        >>> list(pred.columns), pred["material"].dtype == y["material"].dtype
        (['material', 'density'], True)
        """
        outputs = self._outputs(X)
        index = X.index if hasattr(X, "columns") and hasattr(X, "index") else None
        return self.target_encoder_.inverse_transform(outputs, index=index)

    def _in_form_of_y(self, per_task: dict):
        """``{task: array}``, or the array itself for a 1-D y (as any
        scikit-learn classifier or regressor returns)."""
        if self.target_encoder_.form_ == "1d":
            return next(iter(per_task.values()))
        return per_task

    @available_if(has_classification_task)
    def predict_proba(self, X, *, calibrated: bool = False):
        """Class probabilities of each classification task.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit, matched by name.
        calibrated : bool, default=False
            Divide each task's log-probabilities by the temperature fitted on
            the rows held out at fit (``calibration_``; 1.0 where scaling did
            not lower the calibration error there). The predicted class, and
            so :meth:`predict`, never changes.

        Returns
        -------
        dict or ndarray
            ``{task: (n_samples, n_classes)}``, columns ordered as that task's
            classes. For a 1-D y, the array itself (as any scikit-learn
            classifier returns).

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(84,), epochs=2, random_state=0)
        >>> material = est.fit(X, y).predict_proba(X)["material"]
        >>> material.shape, bool(abs(material.sum(axis=1) - 1).max() < 1e-5)
        ((60, 5), True)
        """
        outputs = self._outputs(X)
        probas = self.target_encoder_.probabilities(outputs)
        if calibrated:
            temperatures = self.calibration_.temperatures
            probas = {
                name: scale_probabilities(p, temperatures.get(name, 1.0))
                for name, p in probas.items()
            }
        return self._in_form_of_y(probas)

    def score(self, X, y, sample_weight=None) -> float:
        """Mean over tasks of accuracy (classification) and R² (regression).

        Weighted by ``score_weights`` when given. Each task is scored on its
        labelled samples only; a label not seen at fit counts as an error
        (with a warning); see
        :mod:`skmtl.metrics` for per-task scorers.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit.
        y : array-like or DataFrame
            True targets, in a form accepted by :meth:`fit`; missing labels
            are skipped per task.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in every task's metric.

        Returns
        -------
        score : float
            At most 1.0 (R² can be negative).

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(84,), epochs=2, random_state=0)
        >>> score = est.fit(X, y).score(X, y)
        >>> isinstance(score, float) and score <= 1.0
        True
        """
        check_is_fitted(self)
        check_same_index(X, y, sample_weight)
        encoder = self.target_encoder_
        encoder.check_columns(y)  # columns that are not the tasks raise
        if sample_weight is not None:
            # The same check as fit's: relative weights, one per sample.
            sample_weight = check_sample_weight(sample_weight, encoder.n_samples_of(y))
        encoder.check_scorable(y)
        check_unseen_labels(encoder, y)
        y_pred = self.predict(X)
        check_lengths(len(y_pred), encoder.n_samples_of(y))
        return combined_score(
            self.task_kinds_, y, y_pred, sample_weight, self.score_weights
        )

    # ----------------------------------------------------------- persistence
    def save(self, path) -> None:
        """Write the fitted estimator to one file: Keras model + JSON, no pickle.

        Parameters
        ----------
        path : str or path-like
            The file to write (conventionally ``*.skmtl``); read it back with
            :func:`skmtl.load`, which runs no code from the file.

        Examples
        --------
        >>> import os, tempfile
        >>> from skmtl import load
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(84,), epochs=2, random_state=0)
        >>> est = est.fit(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.skmtl")
        >>> est.save(path)
        >>> bool((load(path).predict(X) == est.predict(X)).all().all())
        True
        """
        check_is_fitted(self)
        persistence.save(self.get_params(deep=False), self._state, path)

    def export(self, path, *, overwrite: bool = False) -> None:
        """Write a TensorFlow SavedModel for serving, without skmtl or Keras.

        Its ``serving_default`` signature takes the raw fields of X (float32,
        one input per field) and returns decoded predictions: ``<task>`` (labels
        or values in original units) and ``<task>_proba`` for each
        classification task. See :func:`skmtl.export.export` and
        ``docs/serving.md``; use :meth:`save` to reload the estimator itself.

        Parameters
        ----------
        path : str or path-like
            Directory to create (it may exist if empty).
        overwrite : bool, default=False
            Replace an earlier export at ``path``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        FileExistsError
            If ``path`` is a file or a non-empty directory (unless
            ``overwrite`` and it holds a SavedModel).

        Examples
        --------
        >>> import os, tempfile
        >>> import tensorflow as tf
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(84,), epochs=1, random_state=0)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     est.fit(X, y).export(os.path.join(tmp, "model"))
        ...     serve = tf.saved_model.load(os.path.join(tmp, "model"))
        ...     fn = serve.signatures["serving_default"]
        ...     sorted(fn.structured_input_signature[1])
        ['ampl', 'moist', 'phase', 'temp', 'weight']
        """
        from ..io.export import export

        export(self.fitted_state_, path, overwrite=overwrite)


# The "Parameters" section, from the one table of parameters.
MultiTaskConvEstimator.__doc__ = MultiTaskConvEstimator.__doc__.replace(
    "    <parameters>", numpydoc_parameters()
)
