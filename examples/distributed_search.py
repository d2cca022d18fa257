"""
A grid search on a Dask cluster
===============================

:class:`~sklearn.model_selection.GridSearchCV` fits its candidates through
joblib, so ``joblib.parallel_config(backend="dask")`` sends them to a Dask
cluster with no change to the search itself. Here the cluster is a
:class:`~distributed.LocalCluster` of two worker processes on this machine;
pointing a :class:`~distributed.Client` at a remote scheduler instead runs the
same code on many machines. Because ``random_state`` seeds every fit on its own
(no global seed), the scores on the cluster are identical to a serial search.

Needs ``pip install "skmtl[dask]"``.
"""

# %%
# The search
# ----------
# Two candidates (two weights of the density loss), three folds each: six
# small fits. ``refit=False`` keeps the comparison to the search
# itself (a refit runs in this process either way).
import logging
import time

import joblib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skmtl import MultiTaskConvEstimator
from skmtl.datasets import make_sensor_tasks

X, y = make_sensor_tasks(240, n_steps=256, noise=1.0, random_state=0)
search = GridSearchCV(
    MultiTaskConvEstimator(
        trunk="conv",
        filters=(8, 16),
        epochs=6,
        optimizer__learning_rate=3e-3,
        random_state=0,
    ),
    param_grid={
        "loss_weights__density": [0.3, 1.0],
    },
    cv=3,
    refit=False,
    n_jobs=2,
)

# %%
# Serially, in this process
# -------------------------
# ``if __name__ == "__main__"`` guards the work, as in any script that starts
# worker processes: they are started with *spawn*, which imports this script
# again in each of them.
if __name__ == "__main__":
    t0 = time.perf_counter()
    serial = clone(search).set_params(n_jobs=1).fit(X, y)
    serial_time = time.perf_counter() - t0
    print(f"serial search: {serial_time:.1f} s, best {serial.best_params_}")

# %%
# On a Dask cluster of two worker processes
# -----------------------------------------
# Each worker runs one fit at a time (``threads_per_worker=1``). The first fits
# include the workers' start-up (importing TensorFlow), so on two cores the
# cluster is no faster here; with more cores or machines, it scales out.
if __name__ == "__main__":
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        t0 = time.perf_counter()
        on_dask = clone(search).fit(X, y)
        dask_time = time.perf_counter() - t0
    print(f"dask search:   {dask_time:.1f} s, best {on_dask.best_params_}")

# %%
# The same scores, split by split
# -------------------------------
if __name__ == "__main__":
    keys = [f"split{i}_test_score" for i in range(3)]
    same = all(
        np.array_equal(serial.cv_results_[k], on_dask.cv_results_[k]) for k in keys
    )
    print(f"identical split scores: {same}")
    assert same, "the Dask search must match the serial one split by split"
    table = pd.DataFrame(
        {
            "density weight": serial.cv_results_["param_loss_weights__density"],
            "serial": serial.cv_results_["mean_test_score"],
            "dask": on_dask.cv_results_["mean_test_score"],
        }
    )
    print(table.round(4).to_string(index=False))

    fig, ax = plt.subplots(figsize=(5, 3.2))
    labels = [f"density weight {r['density weight']:g}" for _, r in table.iterrows()]
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["serial"], width=0.4, label="serial")
    ax.bar(x + 0.2, table["dask"], width=0.4, label="Dask cluster")
    ax.set_xticks(x, labels)
    ax.set_ylabel("mean CV score")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title("GridSearchCV: serial and on Dask")
    fig.tight_layout()
