"""The wheel: built from a copy of the source tree, then opened and installed.

``python -m build --wheel --no-isolation`` (the build requirements must be
installed: ``pip install 'skmtl[test]'`` and setuptools as ``[build-system]``
asks); the wheel holds the package and no tests, its metadata carries
``skmtl.__version__``, every extra and the ``skmtl`` console script, and that
script, installed from the wheel, prints the version.
"""

from __future__ import annotations

import email
import importlib.metadata
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import skmtl

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = set(PYPROJECT["project"]["optional-dependencies"])


def _unmet_build_requirements() -> list[str]:
    unmet = []
    for text in [*PYPROJECT["build-system"]["requires"], "build"]:
        requirement = Requirement(text)
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            unmet.append(f"{text} (not installed)")
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{text} (found {version})")
    return unmet


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    unmet = _unmet_build_requirements()
    if unmet:
        pytest.skip(f"--no-isolation needs the build requirements installed: {unmet}")
    # A copy, so that the build's build/ and egg-info never touch the working
    # tree; tests/ goes along to show that it stays out of the wheel.
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    for name in ("skmtl", "tests"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out],
        cwd=src,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (path,) = out.glob("skmtl-*.whl")
    return path


def _read(wheel: Path, suffix: str) -> str:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(suffix)]
        return zf.read(name).decode()


def test_wheel_holds_the_package_and_no_tests(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    # Every module of every layer folder (skmtl/data/, skmtl/nn/, ...).
    sources = sorted(
        p.relative_to(ROOT / "skmtl").as_posix()
        for p in (ROOT / "skmtl").rglob("*.py")
        if "__pycache__" not in p.parts
    )
    assert sorted(n.split("/", 1)[1] for n in names if n.startswith("skmtl/")) == (
        sources
    )
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n]
    assert all(n.startswith(("skmtl/", "skmtl-")) for n in names), names


def test_wheel_metadata(wheel):
    metadata = email.message_from_string(_read(wheel, ".dist-info/METADATA"))
    assert metadata["Name"] == "skmtl"
    assert metadata["Version"] == skmtl.__version__
    assert metadata["Requires-Python"] == PYPROJECT["project"]["requires-python"]
    assert set(metadata.get_all("Provides-Extra")) == EXTRAS


def test_wheel_declares_the_console_script(wheel):
    entry_points = _read(wheel, ".dist-info/entry_points.txt")
    assert "[console_scripts]" in entry_points
    scripts = dict(
        (part.strip() for part in line.split("=", 1))
        for line in entry_points.split("[console_scripts]", 1)[1].splitlines()
        if "=" in line
    )
    assert scripts["skmtl"] == PYPROJECT["project"]["scripts"]["skmtl"]


def test_console_script_from_the_wheel_prints_the_version(wheel, tmp_path):
    """The script pip generates from the wheel's entry point, run in a virtual
    environment that holds the wheel's skmtl and not the development install:
    the dependencies come from this environment through a plain path entry,
    which does not run its .pth files (where the editable install's finder is
    registered)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    (site,) = (venv / "lib").glob("python*/site-packages")
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index"]
    subprocess.run([*pip, "--target", site, wheel], check=True, capture_output=True)
    python = venv / "bin" / "python"
    env = {"PATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    where = subprocess.run(
        [python, "-c", "import skmtl.cli.command; print(skmtl.cli.command.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # not the source tree, which -c would put on the path
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout
    result = subprocess.run(
        [python, site / "bin" / "skmtl", "--version"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"skmtl {skmtl.__version__}"
