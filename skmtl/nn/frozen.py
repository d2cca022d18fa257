"""Train only the heads of a network whose trunk is fixed: features computed once.

A trunk with no trainable weights and no training-time behaviour (the
``"rocket"`` trunk: normalisation, MiniRocket's fixed kernels, concatenation)
gives the same features at every step of training. Computing them once per fit
and training the heads on them gives the same result as training the whole
network, in a fraction of the time (the transform costs far more than a step of
the heads). The fitted estimator keeps and saves the whole network; the split
lives only for the duration of a fit.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from ..data.ragged import length_ordered_chunks
from .chain import SHARED_DENSE
from .masking import MaskedDownsample, SplitMask
from .rocket import MiniRocketFeatures, rows_per_pass

__all__ = ["FEATURES_INPUT", "behind_dropout", "split_frozen_trunk", "trunk_features"]

#: Name of the heads network's one input (the trunk's features).
FEATURES_INPUT = "features"
# Layers that compute the same output in training and inference and hold no
# trainable weights: a trunk made only of these can be computed once per fit.
_FIXED_LAYERS = (
    keras.layers.InputLayer,
    keras.layers.Normalization,
    keras.layers.Concatenate,
    keras.layers.AveragePooling1D,
    MiniRocketFeatures,
    SplitMask,
    MaskedDownsample,
)
_CHUNK = 256


def _boundary(model: keras.Model):
    """The tensor the trained part starts from: the input of ``shared_dense``,
    or the one input every head shares, before any weightless layers that act
    in training (dropout). None if the heads read different tensors."""
    try:
        return behind_dropout(model.get_layer(SHARED_DENSE).input)
    except ValueError:
        pass
    outputs = model.output
    if not isinstance(outputs, dict):
        return None
    sources = set()
    tensor = None
    for head in outputs.values():
        node = head._keras_history.operation._inbound_nodes[0]
        if len(node.input_tensors) != 1:
            return None
        tensor = node.input_tensors[0]
        sources.add(id(tensor))
    if len(sources) != 1:
        return None
    while True:
        layer = tensor._keras_history.operation
        node = layer._inbound_nodes[0]
        if (
            isinstance(layer, _FIXED_LAYERS)
            or layer.weights
            or len(node.input_tensors) != 1
        ):
            return tensor
        tensor = node.input_tensors[0]


def _batch_shape(a) -> tuple:
    """The shape of a batch of ``a`` (a variable-length field's: any steps,
    and its mask channel)."""
    if hasattr(a, "lengths"):
        return (None, None, a.n_channels + 1)
    return (None, *a.shape[1:])


def behind_dropout(tensor):
    """The tensor a chain of ``Dropout`` layers ending in ``tensor`` reads."""
    while isinstance(tensor._keras_history.operation, keras.layers.Dropout):
        tensor = tensor._keras_history.operation._inbound_nodes[0].input_tensors[0]
    return tensor


def split_frozen_trunk(model: keras.Model) -> tuple[keras.Model, keras.Model] | None:
    """``(trunk, heads)`` when everything before the heads is fixed, else None.

    Parameters
    ----------
    model : keras.Model
        A functional network with dict outputs (skmtl's default network).

    Returns
    -------
    tuple of keras.Model or None
        ``trunk`` maps the model's inputs to its features; ``heads`` maps
        ``{"features": features}`` to the model's outputs and shares their
        layers (training it trains ``model``). None when the trunk has
        trainable weights or layers that behave differently in training
        (dropout, batch normalisation): it must then be trained whole.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.data.inputs import infer_schema
    >>> from skmtl.nn.network import build_network, network_parameters
    >>> from skmtl.data.targets import TargetEncoder
    >>> schema = infer_schema({"ampl": np.zeros((4, 32)), "temp": np.ones(4)})
    >>> tasks = TargetEncoder().fit(np.array([0, 1, 0, 1])).tasks_
    >>> def network(**params):
    ...     defaults = MultiTaskConvEstimator(**params).get_params()
    ...     return build_network(schema, tasks, **network_parameters(defaults),
    ...                          random_state=0)
    >>> trunk, heads = split_frozen_trunk(network(trunk="rocket", filters=(168,)))
    >>> tuple(trunk.output.shape), list(heads.input)
    ((None, 169), ['features'])
    >>> split_frozen_trunk(network(trunk="conv", filters=(4,))) is None
    True
    """
    boundary = _boundary(model)
    if boundary is None:
        return None
    trunk = keras.Model(model.input, boundary, name="skmtl_trunk")
    if trunk.trainable_weights or not all(
        isinstance(layer, _FIXED_LAYERS) for layer in trunk.layers
    ):
        return None
    with warnings.catch_warnings():
        # Keras names the input it clones from the tensor, not after the dict
        # key; the key is what it matches batches by.
        warnings.simplefilter("ignore", UserWarning)
        heads = keras.Model({FEATURES_INPUT: boundary}, model.output, name="heads")
    return trunk, heads


def trunk_features(
    trunk: keras.Model, inputs: Mapping[str, np.ndarray], traced=None
) -> dict[str, np.ndarray]:
    """The trunk's features of every sample, as ``{"features": (n, k)}``.

    Computed in chunks of at most 256 rows (fewer for a MiniRocket trunk:
    :func:`~skmtl.nn.rocket.rows_per_pass`) through one traced function
    (float32).

    Parameters
    ----------
    trunk : keras.Model
        The first model :func:`split_frozen_trunk` returns.
    inputs : dict of str to ndarray
        The samples by input name.
    traced : ConcreteFunction, default=None
        The whole network's :func:`skmtl.training.fitted.network_function`, whose
        second output is these features: used as it is, not traced again.

    Returns
    -------
    dict
        ``{"features": ndarray of shape (n_samples, n_features)}``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.data.inputs import encode, infer_schema
    >>> from skmtl.nn.network import build_network, network_parameters
    >>> from skmtl.data.targets import TargetEncoder
    >>> X = {"ampl": np.random.default_rng(0).normal(size=(6, 32))}
    >>> schema = infer_schema(X)
    >>> tasks = TargetEncoder().fit(np.arange(6) % 2).tasks_
    >>> params = MultiTaskConvEstimator(trunk="rocket", filters=(84,)).get_params()
    >>> model = build_network(schema, tasks, **network_parameters(params),
    ...                       random_state=0)
    >>> trunk, _ = split_frozen_trunk(model)
    >>> trunk_features(trunk, encode(X, schema)[0])["features"].shape
    (6, 84)
    """
    names = [t.name for t in trunk.inputs]
    if traced is None:
        fn = _traced_trunk(trunk, inputs, names)
    else:
        fn = lambda batch: traced(batch)[1]  # noqa: E731
    n_samples = len(inputs[names[0]])
    out = None
    chunk = rows_per_pass(trunk, _CHUNK)
    for rows in length_ordered_chunks(inputs, n_samples, chunk):
        batch = {
            name: np.asarray(inputs[name][rows], dtype=np.float32) for name in names
        }
        part = fn(batch).numpy()
        if out is None:
            out = np.empty((n_samples, *part.shape[1:]), dtype=np.float32)
        out[rows] = part
    return {FEATURES_INPUT: out}


def _traced_trunk(trunk: keras.Model, inputs, names):
    """``trunk`` in inference mode as one concrete function of any batch."""
    structure = trunk.input
    signature = {
        name: tf.TensorSpec(_batch_shape(inputs[name]), tf.float32) for name in names
    }

    def forward(x):
        if isinstance(structure, dict):
            return trunk(x, training=False)
        return trunk([x[name] for name in names], training=False)

    return tf.function(forward, autograph=False).get_concrete_function(signature)
