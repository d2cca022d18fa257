"""GPU readiness, exercised on the CPU: data-parallel training and mixed precision."""

import json
import os

import keras
import numpy as np
import pytest

from skmtl import MultiTaskConvEstimator

from .conftest import TINY, TINY_CONV, run_python

_TWO_DEVICES = """
    import json

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
    params = dict(
        filters=(84,), dense_units=8, dropout=0.0, epochs=4,
        learning_rate=0.01, random_state=0,
    )
    est = MultiTaskConvEstimator(distribute=strategy, **params).fit(X, y)
    one = MultiTaskConvEstimator(**params).fit(X, y)
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "loss": [est.history_["loss"], one.history_["loss"]],
        "score": [est.score(X, y), one.score(X, y)],
    }))
"""


def test_mirrored_strategy_over_two_logical_devices():
    out = json.loads(run_python(_TWO_DEVICES).splitlines()[-1])
    assert out["replicas"] == 2
    # Each replica takes half of every batch and the gradients are averaged:
    # training follows the one-device fit (up to the order of float sums, which
    # drifts by about 2 % in 4 epochs).
    mirrored, one_device = out["loss"]
    np.testing.assert_allclose(mirrored, one_device, rtol=0.05)
    assert mirrored[-1] < 0.7 * mirrored[0]
    assert out["score"][0] == pytest.approx(out["score"][1], abs=0.1)


# oneDNN capped below AVX-512 (ONEDNN_MAX_CPU_ISA=AVX2, how an AVX-512 machine
# tries the AVX2 path) has no bfloat16 convolution, yet TensorFlow sends it
# one because the CPU itself has the instructions; a real AVX2 CPU does not.
_ISA_CAPPED = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in {
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX2_VNNI_2",
}


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(
            "mixed_bfloat16",
            marks=pytest.mark.skipif(
                _ISA_CAPPED, reason="oneDNN capped below AVX-512: no bfloat16 conv"
            ),
        ),
        "mixed_float16",
    ],
)
def test_mixed_precision_keeps_normalisation_and_heads_in_float32(sensor_data, policy):
    X, y = sensor_data
    est = MultiTaskConvEstimator(
        **TINY_CONV, epochs=2, mixed_precision=policy, random_state=0
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

    est = MultiTaskConvEstimator(
        **TINY, epochs=1, loss_weighting="gradnorm", distribute=TwoReplicas()
    )
    X = np.random.rand(20, 8)
    y = np.column_stack([np.arange(20) % 2, np.random.rand(20)])
    with pytest.raises(ValueError, match="does not support several replicas"):
        est.set_params(tasks=["classification", "regression"]).fit(X, y)
