"""End to end: the main job reaches real accuracy on its default settings."""

import re
import subprocess
import sys

import pytest

from skmtl import load


@pytest.mark.slow
def test_demo_reaches_real_accuracy(tmp_path):
    output = tmp_path / "demo.skmtl"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "skmtl",
            "demo",
            "--verbose",
            "0",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""},
    )
    metrics = dict(
        re.findall(
            r"^\s+(material accuracy|density R\^2)\s+([\d.]+)$",
            result.stdout,
            flags=re.M,
        )
    )
    assert float(metrics["material accuracy"]) >= 0.95, result.stdout
    assert float(metrics["density R^2"]) >= 0.85, result.stdout
    assert f"Model saved to {output}" in result.stdout
    assert load(output).predict_proba is not None
