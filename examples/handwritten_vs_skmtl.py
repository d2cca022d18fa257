"""
A hand-written multi-task Keras model next to skmtl
===================================================

The hand-written model is the one skmtl's design notes start from, with
smaller filters so that it trains in seconds; its structure and its mistakes
are unchanged:

* two signal inputs of shape ``(n_steps, 1)`` and three scalar inputs;
* the two signals concatenated twice over (each appears twice on the channel
  axis);
* six blocks of two ``Conv1D(kernel 3, "valid", LeakyReLU, he_uniform)`` +
  ``MaxPooling1D(3)`` + ``Dropout(0.3)``, filters 128, 128, 64, 64, 32, 32 in
  the original (divided by 8 here);
* global average pooling, the raw (unnormalised) scalars concatenated, one
  ``Dense(elu)``;
* heads ``Dense(1, softmax)`` for the 5-class material and ``Dense(1,
  linear)`` for the unscaled density; losses binary cross-entropy and log-cosh;
* ``Adam(learning_rate=5e-4, clipnorm=1, amsgrad=True)``;
* the model's inputs listed in a different order from the one they were
  created in, and fed by position.

Both models train on the same 75/25 split of
:func:`~skmtl.datasets.make_sensor_tasks`: the hand-written one stays at the
share of one class (20 %), skmtl reaches 100 %. Handed to skmtl as
``model=``, the hand-written builder is refused before any training.
"""

# %%
# The hand-written model
# ----------------------
import time
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import accuracy_score, mean_absolute_error
from sklearn.model_selection import train_test_split

from skmtl import MultiTaskConvEstimator
from skmtl.datasets import make_sensor_tasks

N_STEPS = 3750  # six "valid" conv + pool blocks need at least 2,185 steps
FILTERS = (16, 16, 8, 8, 4, 4)  # the original 128, 128, 64, 64, 32, 32 / 8


def handwritten_model(n_steps: int) -> keras.Model:
    """The hand-written multi-task model, pitfalls included."""
    keras.utils.set_random_seed(0)  # what hand-written scripts do
    ampl = keras.Input((n_steps, 1), name="ampl")
    phase = keras.Input((n_steps, 1), name="phase")
    temp = keras.Input((1,), name="temp")
    moist = keras.Input((1,), name="moist")
    weight = keras.Input((1,), name="weight")

    pair = keras.layers.Concatenate()([ampl, phase])
    x = keras.layers.Concatenate()([pair, pair])  # each signal twice over
    for width in FILTERS:
        for _ in range(2):
            x = keras.layers.Conv1D(
                width,
                3,
                padding="valid",
                activation=keras.layers.LeakyReLU(),
                kernel_initializer="he_uniform",
            )(x)
        x = keras.layers.MaxPooling1D(3)(x)
        x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Concatenate()([x, temp, moist, weight])  # raw scalars
    x = keras.layers.Dense(32, activation="elu")(x)
    material = keras.layers.Dense(1, activation="softmax", name="material")(x)
    density = keras.layers.Dense(1, activation="linear", name="density")(x)

    model = keras.Model(
        inputs=[phase, ampl, weight, temp, moist],  # not the creation order
        outputs=[material, density],
    )
    model.compile(
        optimizer=keras.optimizers.Adam(5e-4, clipnorm=1.0, amsgrad=True),
        loss=["binary_crossentropy", "log_cosh"],
        loss_weights=[1.0, 1.0],
    )
    return model


# %%
# Data: 600 recordings of 3,750 steps, five balanced materials.
X, y = make_sensor_tasks(600, n_steps=N_STEPS, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y["material"]
)
classes = np.unique(y["material"])


def as_list(X):
    """The inputs in creation order, as the script's author thought."""
    return [X[name][..., None] for name in ("ampl", "phase")] + [
        X[name][:, None] for name in ("temp", "moist", "weight")
    ]


# %%
# Train it the way a hand-written script does: labels as integer codes, the
# density unscaled, arrays fed by position.
t0 = time.perf_counter()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model = handwritten_model(N_STEPS)
    codes = np.searchsorted(classes, y_train["material"]).astype("float32")
    model.fit(
        as_list(X_train),
        [codes, y_train["density"].to_numpy("float32")],
        epochs=5,
        batch_size=32,
        verbose=0,
    )
    proba, hand_density = model.predict(as_list(X_test), verbose=0)
hand_material = classes[proba.argmax(axis=1)]  # one column: always class 0
hand_time = time.perf_counter() - t0

fed = ("ampl", "phase", "temp", "moist", "weight")
print("Hand-written model, inputs fed by position:")
print(
    "  " + ", ".join(f"{a} -> {t.name}" for a, t in zip(fed, model.inputs, strict=True))
)
softmax_warnings = [w for w in caught if "softmax" in str(w.message)]
print(f"Keras only warned ({len(softmax_warnings)} UserWarning(s)) about")
print(f"Dense(1, softmax); its output: min {proba.min():.3f}, max {proba.max():.3f}")

# %%
# skmtl on the same split
# -----------------------
t0 = time.perf_counter()
# skmtl's defaults (the "rocket" trunk, epochs="auto"), seeded.
est = MultiTaskConvEstimator(random_state=0)
est.fit(X_train, y_train)
pred = est.predict(X_test)
skmtl_time = time.perf_counter() - t0

results = {}
print(f"Held-out results on {len(X_test)} samples (5 balanced classes):")
print(f"{'':22}{'material accuracy':>18}{'density MAE':>13}{'fit+predict':>13}")
for name, material, dens, seconds in [
    ("hand-written Keras", hand_material, hand_density[:, 0], hand_time),
    ("skmtl", pred["material"], pred["density"], skmtl_time),
]:
    acc = accuracy_score(y_test["material"], material)
    mae = mean_absolute_error(y_test["density"], dens)
    results[name] = (acc, mae)
    print(f"{name:22}{acc:>18.2%}{mae:>13.3f}{seconds:>12.1f}s")

# The headline of this page (and of the README), checked: the hand-written
# model predicts one class, so it scores that class's share; skmtl all but
# every sample. Building the docs fails if either changes.
assert results["hand-written Keras"][0] == 1 / len(classes)
assert results["skmtl"][0] >= 0.95, results["skmtl"]

# %%
# Side by side: the hand-written model predicts one class for every sample,
# so its accuracy is the share of that class.
fig, (ax_acc, ax_mae) = plt.subplots(1, 2, figsize=(7, 3))
names = list(results)
colors = ["tab:red", "tab:green"]
ax_acc.bar(names, [results[n][0] for n in names], color=colors)
ax_acc.axhline(1 / len(classes), color="k", ls=":", lw=1, label="one class")
ax_acc.set_ylim(0, 1.05)
ax_acc.set_title("material accuracy (higher is better)")
ax_acc.legend(loc="upper left", fontsize="small")
ax_mae.bar(names, [results[n][1] for n in names], color=colors)
ax_mae.set_title("density MAE (lower is better)")
fig.tight_layout()

# %%
# The same builder, handed to skmtl
# ---------------------------------
# skmtl checks each head against its task before training and names the fix.


def handwritten_builder(schema, tasks):
    return handwritten_model(schema["ampl"].n_steps)


refused = None
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' softmax warning, seen above
        MultiTaskConvEstimator(model=handwritten_builder, epochs=1).fit(
            X_train, y_train
        )
except ValueError as exc:
    refused = exc
    print(f"ValueError: {exc}")
assert refused is not None and "has 5 classes but its head has 1 unit" in str(refused)
