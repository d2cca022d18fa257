"""
Save, load and serve a fitted estimator
=======================================

Two files for two jobs:

* :meth:`~skmtl.MultiTaskConvEstimator.save` writes the estimator itself (Keras
  model and JSON metadata, no pickle); :func:`skmtl.load` gives back an
  estimator that predicts exactly the same and can be refitted, scored or
  searched.
* :meth:`~skmtl.MultiTaskConvEstimator.export` writes a TensorFlow SavedModel
  whose ``serving_default`` signature takes the raw named fields of X and
  returns decoded predictions (labels, probabilities, values in their units).
  Loading it needs TensorFlow only: no skmtl, no Keras, no scikit-learn, so it
  suits TF Serving or a slim prediction service.
"""

# %%
# A fitted estimator
# ------------------
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split

from skmtl import MultiTaskConvEstimator, load
from skmtl.datasets import make_sensor_tasks

X, y = make_sensor_tasks(400, n_steps=512, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
est = MultiTaskConvEstimator(epochs=10, random_state=0).fit(X_train, y_train)
pred = est.predict(X_test)
print(f"held-out score: {est.score(X_test, y_test):.4f}")

# %%
# Save and load
# -------------
# ``skmtl.load`` runs no code from the file (no pickle, Keras safe mode), so a
# model file from anyone is safe to open.
workdir = tempfile.mkdtemp()
path = os.path.join(workdir, "model.skmtl")
est.save(path)
print(f"{os.path.basename(path)}: {os.path.getsize(path) / 1024:.0f} KiB")

loaded = load(path)
print(f"same predictions:   {loaded.predict(X_test).equals(pred)}")
same_proba = np.array_equal(
    loaded.predict_proba(X_test)["material"], est.predict_proba(X_test)["material"]
)
print(f"same probabilities: {same_proba}")
print(
    f"same score:         {loaded.score(X_test, y_test) == est.score(X_test, y_test)}"
)

# %%
# Export for serving
# ------------------
export_dir = os.path.join(workdir, "serving")
est.export(export_dir)
print(sorted(os.listdir(export_dir)))

# %%
# What follows needs TensorFlow only. The signature's inputs are the fields of
# X, by name; its outputs are each task's prediction and, for a classification
# task, its probabilities.
served = tf.saved_model.load(export_dir)
serve = served.signatures["serving_default"]
print("inputs: ", sorted(serve.structured_input_signature[1]))
print("outputs:", sorted(serve.structured_outputs))

out = serve(**{name: tf.constant(X_test[name]) for name in X_test.dtype.names})
labels = out["material"].numpy().astype(str)  # tf.string arrives as bytes
density = out["density"].numpy()
print(f"labels equal to est.predict: {(labels == pred['material'].to_numpy()).all()}")
print(f"largest density difference:  {np.abs(density - pred['density']).max():.2e}")

# The claims of this page, checked: building the docs fails if one breaks.
assert loaded.predict(X_test).equals(pred) and same_proba
assert (labels == pred["material"].to_numpy()).all()
np.testing.assert_allclose(density, pred["density"], rtol=1e-5)

# %%
# The served model and the estimator side by side: the same densities, and the
# same class probabilities for the first 25 test recordings.
fig, (ax_d, ax_p) = plt.subplots(1, 2, figsize=(8, 3.4))
ax_d.scatter(pred["density"], density, s=10)
lims = [min(density.min(), 0), density.max() * 1.05]
ax_d.plot(lims, lims, "k:", lw=1)
ax_d.set_xlabel("est.predict density")
ax_d.set_ylabel("SavedModel density")
ax_d.set_title("density: estimator and SavedModel")
ax_p.imshow(out["material_proba"].numpy()[:25].T, aspect="auto", cmap="viridis")
ax_p.set_yticks(range(len(est.classes_["material"])), est.classes_["material"])
ax_p.set_xlabel("test recording")
ax_p.set_title("SavedModel material_proba")
fig.tight_layout()
