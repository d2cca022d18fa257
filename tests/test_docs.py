"""The documentation builds, the gallery runs, and the API has numpydoc docstrings.

``test_sphinx_build`` runs the whole Sphinx build as CI would (``-W
--keep-going``: any warning fails it), executing every script in ``examples/``
through sphinx-gallery; it takes about two minutes on 2 CPU cores. The
docstring tests are cheap: they validate the numpydoc docstring of every object
listed in ``docs/api.rst`` and of every callable in ``__all__`` of the modules
in ``EXPORTING_MODULES``, and of the estimator's public methods.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

# numpydoc checks every listed object passes: a docstring with a summary, every
# parameter documented and none unknown, a Returns section where something is
# returned, and an Examples section.
CHECKS = {"GL08", "SS01", "PR01", "PR02", "RT01", "EX01"}


def api_names() -> list[str]:
    """Fully qualified names of the objects in the autosummary tables of api.rst."""
    names, module, in_table = [], "skmtl", False
    for line in (DOCS / "api.rst").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith(".. currentmodule::"):
            module = stripped.split("::", 1)[1].strip()
            in_table = False
        elif stripped.startswith(".. autosummary::"):
            in_table = True
        elif in_table and line.startswith("   ") and not stripped.startswith(":"):
            if stripped:
                names.append(f"{module}.{stripped.lstrip('~')}")
        elif in_table and stripped and not line.startswith(" "):
            in_table = False
    return names


def resolve(name: str):
    """The object a dotted name points to (module path, then attributes)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(name)


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def test_api_reference_lists_the_public_api():
    names = api_names()
    for expected in [
        "skmtl.MultiTaskConvEstimator",
        "skmtl.load",
        "skmtl.to_structured",
        "skmtl.datasets.make_sensor_tasks",
        "skmtl.metrics.task_scorer",
        "skmtl.metrics.combined_score",
        "skmtl.persistence.SkmtlFileError",
    ]:
        assert expected in names
    for module in ["skmtl", "skmtl.datasets", "skmtl.plotting", "skmtl.export"]:
        exported = importlib.import_module(module).__all__
        for attr in exported:
            if callable(getattr(importlib.import_module(module), attr)):
                qualified = f"{module}.{attr}"
                assert qualified in names, f"{qualified} is not in docs/api.rst"
    for name in names:
        resolve(name)  # a stale entry fails here, not only in the Sphinx build


# Modules whose ``__all__`` is public API, documented or not in api.rst.
EXPORTING_MODULES = [
    "skmtl.cli.command",
    "skmtl.cli.parser",
    "skmtl.data.tables",
    "skmtl.utils.files",
    "skmtl.plotting",
    "skmtl.export",
    "skmtl.datasets",
    "skmtl.metrics",
    "skmtl.data.inputs",
    "skmtl.data.forms",
    "skmtl.persistence",
    "skmtl.nn.network",
    "skmtl.nn.heads",
    "skmtl.nn.chain",
    "skmtl.training.session",
    "skmtl.training.fitted",
]

ESTIMATOR_METHODS = [
    "fit",
    "partial_fit",
    "predict",
    "predict_proba",
    "score",
    "save",
    "export",
]


def exported_names() -> list[str]:
    """``module.name`` for every callable in ``__all__`` of EXPORTING_MODULES."""
    names = []
    for module in EXPORTING_MODULES:
        imported = importlib.import_module(module)
        names += [
            f"{module}.{attr}"
            for attr in imported.__all__
            if callable(getattr(imported, attr))
        ]
    return names


def numpydoc_names() -> list[str]:
    """Everything whose docstring numpydoc validates: the API reference, every
    module export and the estimator's public methods."""
    methods = [f"skmtl.MultiTaskConvEstimator.{m}" for m in ESTIMATOR_METHODS]
    return list(dict.fromkeys([*api_names(), *exported_names(), *methods]))


@pytest.mark.parametrize("name", numpydoc_names())
def test_docstrings_follow_numpydoc(name):
    validate = pytest.importorskip("numpydoc.validate").validate
    report = validate(name)
    errors = [f"{code}: {msg}" for code, msg in report["errors"] if code in CHECKS]
    assert not errors, f"{name} ({report['file']}:{report['file_line']}):\n" + (
        "\n".join(errors)
    )


def test_every_public_method_has_a_docstring():
    for name in api_names():
        obj = resolve(name)
        if not isinstance(obj, type) or issubclass(obj, BaseException):
            continue
        for attr, member in vars(obj).items():
            if callable(member) and not attr.startswith("_"):
                assert (member.__doc__ or "").strip(), f"{name}.{attr}"


@pytest.mark.slow
def test_sphinx_build(tmp_path):
    for module in ("sphinx", "sphinx_gallery", "numpydoc", "myst_parser"):
        pytest.importorskip(module, reason='pip install "skmtl[docs]"')
    out = tmp_path / "html"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "-d",
        str(tmp_path / "doctrees"),
        # Run every example, even one whose output a local build already holds.
        "-D",
        "sphinx_gallery_conf.run_stale_examples=True",
        str(DOCS),
        str(out),
    ]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    log = result.stdout + result.stderr
    times = DOCS / "auto_examples" / "sg_execution_times.rst"
    if times.exists():
        rows = re.findall(
            r"auto_examples_(\w+)\.py`.*\n\s+- ([\d:.]+)", times.read_text()
        )
        print("example run times:", ", ".join(f"{n} {t}" for n, t in rows))
    assert result.returncode == 0, log[-20000:]

    missing = [
        name
        for name in example_names()
        if not (out / "auto_examples" / f"{name}.html").exists()
    ]
    assert not missing, f"no gallery page for {missing}\n{log[-5000:]}"
    for name in example_names():
        page = (out / "auto_examples" / f"{name}.html").read_text()
        assert "sphx-glr-script-out" in page, f"{name} printed nothing"
        assert "Traceback" not in page, f"{name} raised:\n{page[-3000:]}"
    for name in api_names():
        assert (out / "generated" / f"{name}.html").exists(), name
    assert (out / "api.html").exists()


# ------------------------------------------------------- documented defaults
def _estimator_defaults() -> dict:
    from skmtl import MultiTaskConvEstimator

    return MultiTaskConvEstimator().get_params(deep=False)


def _literal(text: str):
    """A default as written in the docs (``"rocket"``, ``0.1``, ``None``)."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _documented_table_defaults():
    """``(page, parameter, default)`` of every docs table whose header is
    ``| parameter | default | ...`` and whose parameter is the estimator's."""
    params = _estimator_defaults()
    rows = []
    for page in sorted(DOCS.glob("*.md")):
        in_table = False
        for line in page.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("|") and cells[:2] == ["parameter", "default"]:
                in_table = True
                continue
            if not line.startswith("|"):
                in_table = False
            elif in_table and len(cells) >= 2 and cells[0].startswith("`"):
                name = cells[0].strip("`")
                match = re.match(r"`([^`]*)`", cells[1])
                if name in params and match:
                    rows.append((page.name, name, _literal(match.group(1))))
    return rows


def test_documented_defaults_are_the_estimators():
    rows = _documented_table_defaults()
    params = _estimator_defaults()
    assert len(rows) >= 20  # the network page's table is read
    stale = [(page, n, d, params[n]) for page, n, d in rows if d != params[n]]
    assert not stale, stale


def test_docstring_defaults_are_the_estimators():
    from numpydoc.docscrape import ClassDoc

    from skmtl import MultiTaskConvEstimator

    params = _estimator_defaults()
    checked = 0
    for entry in ClassDoc(MultiTaskConvEstimator)["Parameters"]:
        match = re.search(r"default=(.+)$", entry.type)
        if entry.name in params and match:
            assert _literal(match.group(1)) == params[entry.name], entry
            checked += 1
    assert checked == len(params)  # every parameter


def test_command_line_help_states_the_estimators_defaults():
    from skmtl.cli.parser import OWN_OPTIONS, build_parser, option_help

    params = _estimator_defaults()
    fit = build_parser()._subparsers._group_actions[0].choices["fit"]
    checked = 0
    for action in fit._actions:
        # As --help shows it (the text alone states no default: test_cli).
        match = re.search(r'\(default "?([^":)]+)', option_help(action))
        # --verbose's default is the command's own (progress shown).
        if action.dest in params and action.dest not in OWN_OPTIONS and match:
            assert str(params[action.dest]) == match.group(1), action.help
            checked += 1
    assert checked >= 3  # --epochs, --batch-size, --loss-weighting
