"""scikit-learn's own estimator checks on the single-task configurations.

A multi-task estimator is neither a classifier nor a regressor; declaring exactly
one task with ``tasks=`` makes it one, and then scikit-learn's checks apply.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skmtl import MultiTaskConvEstimator

from .conftest import TINY

# Enough training for scikit-learn's small blob and regression data sets.
_CHECK_PARAMS = {
    **TINY,
    "epochs": 10,
    "learning_rate": 0.03,
    "random_state": 0,
}

_NOT_AN_ARRAY = (
    "By design a 2-D array is one univariate signal (conv trunk) while the "
    "numeric columns of a DataFrame are covariates (dense path): the check's "
    "DataFrame and array fits are different models, so their predictions differ."
)
_COMMON = {
    "check_estimator_tags_renamed": (
        "scikeras.BaseWrapper, a base class skmtl cannot change, defines the "
        "pre-1.6 `_more_tags`; skmtl's own class defines `__sklearn_tags__`, "
        "which is what scikit-learn reads."
    ),
    "check_sample_weight_equivalence_on_dense_data": (
        "Mini-batch training with shuffled batches: a sample of weight 2 is not "
        "the same optimisation path as the sample repeated twice."
    ),
}
EXPECTED_FAILURES = {
    "classification": {**_COMMON, "check_classifier_data_not_an_array": _NOT_AN_ARRAY},
    "regression": {**_COMMON, "check_regressor_data_not_an_array": _NOT_AN_ARRAY},
}


def _estimators():
    return [
        MultiTaskConvEstimator(tasks=["classification"], **_CHECK_PARAMS),
        MultiTaskConvEstimator(tasks=["regression"], **_CHECK_PARAMS),
    ]


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(estimator.tasks[0], {})


# Strict: a check listed above that starts to pass fails the suite, so a fix
# (in skmtl or scikeras) is noticed and its entry removed.
@parametrize_with_checks(
    _estimators(), expected_failed_checks=_expected_failed_checks, xfail_strict=True
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
