"""End to end: the main job reaches real accuracy on its default settings.

``skmtl demo`` trains the default estimator on 1,500 synthetic recordings
(getting-started.md shows its output: accuracy 1.0, R² 0.99); the saved model
then predicts fresh recordings, drawn with another seed, as well. The demo's
options are checked on a tiny run in-process.
"""

import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score

from skmtl import load
from skmtl.cli.command import main
from skmtl.datasets import make_sensor_tasks

METRICS = (
    r"^\s+(material accuracy|material macro-F1|density R\^2|density MAE)\s+(-?[\d.]+)$"
)


def _metrics(stdout: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(METRICS, stdout, flags=re.M)}


@pytest.mark.slow
def test_demo_reaches_real_accuracy(tmp_path):
    output = tmp_path / "demo.skmtl"
    result = subprocess.run(
        [sys.executable, "-m", "skmtl", "demo", "--verbose", "0", "--output", output],
        capture_output=True,
        text=True,
        check=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""},
    )
    metrics = _metrics(result.stdout)
    # The documented run: 1.0000, 1.0000, 0.9921, 0.2436.
    assert metrics["material accuracy"] >= 0.99, result.stdout
    assert metrics["material macro-F1"] >= 0.99, result.stdout
    assert metrics["density R^2"] >= 0.97, result.stdout
    assert metrics["density MAE"] <= 0.4, result.stdout
    assert "Trained on 1500 samples" in result.stdout
    assert f"Model saved to {output}" in result.stdout

    # The saved model, on recordings it has never seen.
    X, y = make_sensor_tasks(300, random_state=12345)
    pred = load(output).predict(X)
    assert accuracy_score(y["material"], pred["material"]) >= 0.98
    assert r2_score(y["density"], pred["density"]) >= 0.95


def test_demo_options(tmp_path, capsys):
    output = tmp_path / "tiny.skmtl"
    argv = ["demo", "--n-samples", "40", "--n-steps", "32", "--epochs", "1"]
    argv += ["--random-state", "3", "--verbose", "0", "--output", str(output)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Synthetic sensor data: 40 samples, 2 signals x 32 steps")
    assert "Trained on 30 samples" in out and "metrics on 10 samples" in out
    assert set(_metrics(out)) == {
        "material accuracy",
        "material macro-F1",
        "density R^2",
        "density MAE",
    }
    assert f"Model saved to {output}" in out
    assert "Epoch" not in out + err  # --verbose 0
    est = load(output)
    assert est.schema_["ampl"].n_steps == 32
    assert (est.n_epochs_, est.random_state) == (1, 3)
    X, _ = make_sensor_tasks(40, n_steps=32, random_state=3)
    assert np.isfinite(est.predict(X)["density"]).all()
