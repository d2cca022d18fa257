"""What the estimator says beyond its predictions: conformal intervals and
prediction sets from the rows held out at fit, and explanations.

A mixin of :class:`~skmtl.estimator.MultiTaskConvEstimator` (as scikit-learn
groups shared surface in mixins), so that the class's module stays the
parameters and the fit/predict recipe. The work itself lives in
:mod:`skmtl.training.conformal` and :mod:`skmtl.inspect.explain`.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted

from ..data.targets import CLASSIFICATION, REGRESSION, decode_output
from ..training.conformal import Calibration, intervals, prediction_sets
from ..utils.validation import check_open_fraction

__all__ = ["InspectionMixin"]


def _has_task(kind: str):
    """For ``available_if``: whether the estimator has (or, unfitted, may
    have) a task of ``kind``."""

    def check(est) -> bool:
        if est.__sklearn_is_fitted__():
            return any(t.kind == kind for t in est.tasks_)
        kinds = est._declared_kinds()
        return kinds is None or kind in kinds or None in kinds

    return check


has_classification_task = _has_task(CLASSIFICATION)
has_regression_task = _has_task(REGRESSION)


class InspectionMixin:
    """``calibration_``, ``predict_interval``, ``predict_set`` and ``explain``."""

    @property
    def calibration_(self) -> Calibration:
        """What the rows held out at fit learned: residuals, temperatures and
        the ECE before and after scaling
        (:class:`~skmtl.training.conformal.Calibration`).
        """
        calibration = self._fitted().calibration
        if calibration is None:
            raise AttributeError(
                "calibration_: no rows were held out at fit "
                f"(calibration_fraction={self.calibration_fraction!r}, "
                "'auto' holds out none below 200 samples, partial_fit none), "
                "or an earlier fit of this network trained on every row. Fit "
                "a new network with calibration_fraction=0.1, or "
                "early_stopping=True."
            )
        return calibration

    def _has_regression_task(self) -> bool:
        if self.__sklearn_is_fitted__():
            return any(t.kind == REGRESSION for t in self.tasks_)
        kinds = self._declared_kinds()
        return kinds is None or REGRESSION in kinds or None in kinds

    @available_if(has_regression_task)
    def predict_interval(self, X, alpha: float = 0.1):
        """Split-conformal prediction intervals for each regression task.

        ``prediction -+ q``, with ``q`` the ``ceil((m + 1)(1 - alpha))``-th
        smallest absolute residual of the ``m`` rows held out at fit
        (``calibration_fraction``): a new row's value lies inside with
        probability at least ``1 - alpha`` when rows are exchangeable.
        Held-out rows missing a task's label do not count for that task; the
        others count once each, whatever their sample weight. With early
        stopping's validation rows (``calibration_fraction="auto"``) the rows
        also chose the epoch, a mild selection: coverage is then close to,
        not guaranteed at, ``1 - alpha``. See ``docs/explain.md``.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit.
        alpha : float, default=0.1
            Miscoverage rate in (0, 1).

        Returns
        -------
        dict or ndarray
            ``{task: (n_samples, 2)}`` of (lower, upper) in the target's
            units (``(n_samples, n_outputs, 2)`` for a block task); for a 1-D
            y, the array itself. Infinite (with a warning) when too few rows
            were held out for this ``alpha``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        AttributeError
            If no rows were held out at fit (see ``calibration_``).

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(300, n_steps=32, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(84,), epochs=2, random_state=0)
        >>> band = est.fit(X, y).predict_interval(X, alpha=0.2)["density"]
        >>> band.shape, bool((band[:, 0] < band[:, 1]).all())
        ((300, 2), True)
        """
        alpha = _check_alpha(alpha)
        calibration = self.calibration_
        outputs = self._outputs(X)
        predictions = {
            task.name: decode_output(task, outputs[task.name])[0]
            for task in self.tasks_
            if task.kind == REGRESSION
        }
        bands = intervals(predictions, calibration, alpha)
        return self._in_form_of_y(bands)

    @available_if(has_classification_task)
    def predict_set(self, X, alpha: float = 0.1):
        """Conformal prediction sets for each classification task.

        The classes whose ``1 - p`` is at most the
        ``ceil((m + 1)(1 - alpha))``-th smallest ``1 - p(true class)`` of the
        ``m`` rows held out at fit (Sadinle et al. 2019): the true class is in
        the set with probability at least ``1 - alpha``. A set may hold several
        classes (an unsure row) or none (a row unlike the held-out ones).

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit.
        alpha : float, default=0.1
            Miscoverage rate in (0, 1).

        Returns
        -------
        dict or ndarray
            ``{task: (n_samples, n_classes) bool}``, columns in the order of
            that task's classes; for a 1-D y, the array itself.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        AttributeError
            If no rows were held out at fit (see ``calibration_``).

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(300, n_steps=32, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(84,), epochs=2, random_state=0)
        >>> sets = est.fit(X, y).predict_set(X, alpha=0.2)["material"]
        >>> sets.shape, sets.dtype
        ((300, 5), dtype('bool'))
        """
        alpha = _check_alpha(alpha)
        calibration = self.calibration_
        probas = self.target_encoder_.probabilities(self._outputs(X))
        sets = prediction_sets(probas, calibration, alpha)
        return self._in_form_of_y(sets)

    def explain(
        self,
        X,
        task: str | None = None,
        target=None,
        *,
        method: str = "occlusion",
        window: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Where each signal (and which covariate) drove one task's prediction.

        Occlusion by default: each window of ``window`` steps is replaced by
        the signal's mean and the change in the output is that window's
        relevance (forward passes only, in batches; it works for every trunk
        and for a custom ``model``). It placed the most relevance inside a
        planted informative window in ``benchmarks/explain_uncertainty.py``;
        gradient methods are offered too. See :mod:`skmtl.inspect.explain`.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit.
        task : str or None, default=None
            The task explained; None is the first.
        target : label or None, default=None
            For a classification task, the class whose probability is
            explained (None: each sample's predicted class). Not used for a
            regression task (its predicted value is explained).
        method : {"occlusion", "integrated_gradients", "smoothgrad", \
"gradient"}, default="occlusion"
            The gradient methods refuse the ``"rocket"`` trunk (zero gradient).
        window : int or None, default=None
            Occlusion window in steps; None is ``n_steps // 16``.

        Returns
        -------
        dict
            ``{signal: (n_samples, n_steps)}`` and ``{covariate: (n_samples,)}``
            of non-negative relevance, in the units of the output explained
            (class probability, or standardised regression value). A
            variable-length signal has the longest length among X's rows,
            with 0 past each row's end.

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(84,), epochs=1, random_state=0)
        >>> relevance = est.fit(X, y).explain(X[:5], task="material")
        >>> relevance["ampl"].shape, relevance["temp"].shape
        ((5, 64), (5,))
        """
        from ..inspect.explain import explain

        check_is_fitted(self)
        return explain(
            self._state,
            X,
            task,
            target,
            method=method,
            window=window,
            chunk=self._predict_chunk(),
        )


def _check_alpha(alpha) -> float:
    """A miscoverage level of predict_interval and predict_set."""
    return check_open_fraction("alpha", alpha)
