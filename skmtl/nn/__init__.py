"""Network layer: pure functions from (input schema, tasks, hyper-parameters)
to a ``keras.Model``: the trunks and the heads, and the custom layers
(MiniRocket features, masking, the exact grid)."""
