"""Seeds give identical fits, and skmtl leaves global random state alone."""

import random

import numpy as np
from tensorflow.python.framework import config as tf_config

from skmtl import MultiTaskConvEstimator

from .conftest import TINY, run_python

_SCRIPT = """
    import numpy as np
    from skmtl import MultiTaskConvEstimator
    from skmtl.datasets import make_sensor_tasks
    X, y = make_sensor_tasks(80, n_steps=32, random_state=0)
    est = MultiTaskConvEstimator(filters=(84,), dense_units=8,
                                 batch_size=16, epochs=2, random_state=7)
    print(repr(est.fit(X, y).predict(X)["density"].to_numpy().tolist()))
"""


def _fit_predict(X, y, seed):
    est = MultiTaskConvEstimator(**TINY, epochs=2, random_state=seed)
    return est.fit(X, y).predict(X)["density"].to_numpy()


def test_same_seed_same_predictions_in_one_process_and_across_processes():
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(80, n_steps=32, random_state=0)
    first = _fit_predict(X, y, 7)
    np.testing.assert_array_equal(first, _fit_predict(X, y, 7))
    assert not np.array_equal(first, _fit_predict(X, y, 8))
    out = run_python(_SCRIPT)
    np.testing.assert_array_equal(np.array(eval(out)), first)


def test_seeded_fit_leaves_global_state_and_unseeded_fits_still_work(sensor_data):
    X, y = sensor_data
    py_state, np_state = random.getstate(), np.random.get_state()
    _fit_predict(X, y, 0)
    assert not tf_config.is_op_determinism_enabled()
    assert random.getstate() == py_state
    assert all(
        np.array_equal(a, b)
        for a, b in zip(np.random.get_state(), np_state, strict=True)
    )
    # scikeras' own seeding would make this unseeded fit fail (see PITFALLS).
    unseeded = _fit_predict(X, y, None)
    assert np.isfinite(unseeded).all()
