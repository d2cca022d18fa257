"""GPU readiness, exercised on the CPU: data-parallel training and mixed precision."""

import keras
import numpy as np
import pytest

from skmtl import MultiTaskConvEstimator

from .conftest import TINY, run_python

_TWO_DEVICES = """
    import numpy as np
    import tensorflow as tf

    # Two logical CPUs stand in for two GPUs; this must precede any TF op.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    from skmtl import MultiTaskConvEstimator
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(160, n_steps=32, random_state=0)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    est = MultiTaskConvEstimator(
        filters=(4, 8), kernel_size=3, dense_units=8, epochs=4,
        learning_rate=0.01, distribute=strategy, random_state=0,
    ).fit(X, y)
    loss = est.history_["loss"]
    pred = est.predict(X)
    print(strategy.num_replicas_in_sync, loss[0] > loss[-1],
          bool(np.isfinite(pred["density"]).all()), round(est.score(X, y), 3))
"""


def test_mirrored_strategy_over_two_logical_devices():
    replicas, learned, finite, score = run_python(_TWO_DEVICES).split()
    assert (replicas, learned, finite) == ("2", "True", "True")
    assert float(score) > 0.2


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_normalisation_and_heads_in_float32(sensor_data, policy):
    X, y = sensor_data
    est = MultiTaskConvEstimator(
        **TINY, epochs=2, mixed_precision=policy, random_state=0
    ).fit(X, y)
    assert est.model_.get_layer("branch64_conv0").dtype_policy.name == policy
    assert est.model_.get_layer("ampl_norm").dtype_policy.name == "float32"
    assert est.model_.get_layer("head_material").dtype_policy.name == "float32"
    assert np.isfinite(est.predict(X)["density"]).all()
    # The policy was only in force while the network was built.
    assert keras.config.dtype_policy().name == "float32"


def test_gradnorm_refuses_several_replicas():
    import tensorflow as tf

    class TwoReplicas(tf.distribute.Strategy):
        num_replicas_in_sync = 2

        def __init__(self):  # a stand-in: only its replica count is read
            pass

    est = MultiTaskConvEstimator(loss_weighting="gradnorm", distribute=TwoReplicas())
    with pytest.raises(ValueError, match="does not support several replicas"):
        est._distribution_strategy()
