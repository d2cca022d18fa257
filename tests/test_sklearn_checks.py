"""scikit-learn's own estimator checks on the single-task configurations.

A multi-task estimator is neither a classifier nor a regressor; declaring exactly
one task with ``tasks=`` makes it one, and then scikit-learn's checks apply.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmtl import MultiTaskConvEstimator

from .conftest import TINY

# Enough training for scikit-learn's small blob and regression data sets.
_CHECK_PARAMS = {**TINY, "epochs": 30, "learning_rate": 0.01, "random_state": 0}

_COMMON = {
    "check_estimator_tags_renamed": (
        "scikeras.BaseWrapper, a base class skmtl cannot change, defines the "
        "pre-1.6 `_more_tags`; skmtl's own class defines `__sklearn_tags__`, "
        "which is what scikit-learn reads."
    ),
}
EXPECTED_FAILURES = {"classification": {**_COMMON}, "regression": {**_COMMON}}


def _estimators():
    return [
        MultiTaskConvEstimator(tasks=["classification"], **_CHECK_PARAMS),
        MultiTaskConvEstimator(tasks=["regression"], **_CHECK_PARAMS),
    ]


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(estimator.tasks[0], {})


@parametrize_with_checks(_estimators(), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
