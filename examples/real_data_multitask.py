"""
A real multi-task pair: a regression set and its ``_disc`` twin
================================================================

The TSER archive's ``Covid3Month`` holds 201 countries' daily Covid-19 case
counts (84 days), each with a continuous target, a Covid-19 death rate; the
UCR archive's ``Covid3Month_disc`` holds the same series with that rate cut
into bands (three classes). :func:`~skmtl.read_ts_tasks` reads both files as
one data set, X once and one column of y per file, so one estimator learns
both tasks. Two single-task estimators are the comparison.
"""

# %%
# One data set from two files
# ---------------------------
import os

import aeon
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skmtl import MultiTaskConvEstimator, read_ts_tasks

root = os.path.join(os.path.dirname(aeon.__file__), "datasets", "data")


def files(split):
    return [
        os.path.join(root, name, f"{name}_{split}.ts")
        for name in ("Covid3Month", "Covid3Month_disc")
    ]


X, y = read_ts_tasks(files("TRAIN"), tasks=["rate", "band"])
X_test, y_test = read_ts_tasks(files("TEST"), tasks=["rate", "band"])
print(f"X {X.shape}; y columns {list(y.columns)}: {dict(y.dtypes.astype(str))}")
print(y.head())

# %%
# One estimator for both tasks, one per task
# ------------------------------------------
multi = MultiTaskConvEstimator(random_state=0).fit(X, y)
rate_alone = MultiTaskConvEstimator(random_state=0).fit(X, y["rate"])
band_alone = MultiTaskConvEstimator(random_state=0).fit(X, y["band"])

predicted = multi.predict(X_test)
scores = pd.DataFrame(
    {
        "one estimator, two tasks": [
            np.sqrt(np.mean((predicted["rate"] - y_test["rate"]) ** 2)),
            np.mean(predicted["band"] == y_test["band"]),
        ],
        "one estimator per task": [
            np.sqrt(np.mean((rate_alone.predict(X_test) - y_test["rate"]) ** 2)),
            np.mean(band_alone.predict(X_test) == y_test["band"]),
        ],
    },
    index=["rate RMSE (lower is better)", "band accuracy"],
)
print(scores.round(4).to_string())

# %%
# The band head reads the rate's output (skmtl's chained heads,
# :doc:`../multitask`): on this split it places more of the 61 test countries
# in their band, and the rate is as accurate. Over seeds 0-2 the two-task
# band accuracy was 0.672, 0.672 and 0.689, against 0.639, 0.656 and 0.672
# alone. Checked when the docs are built:
assert scores.loc["band accuracy"].iloc[0] > scores.loc["band accuracy"].iloc[1]
rmse = scores.loc["rate RMSE (lower is better)"]
assert rmse.iloc[0] <= 1.02 * rmse.iloc[1], scores

fig, axes = plt.subplots(1, 2, figsize=(7, 2.6))
for ax, row in zip(axes, scores.index, strict=True):
    ax.bar(["two tasks", "per task"], scores.loc[row], color=["tab:blue", "tab:gray"])
    ax.set_title(row, fontsize="medium")
axes[1].set_ylim(0.5, 0.75)
plt.tight_layout()
