"""The documentation's code runs, and prints what the documentation says it prints.

Every ```` ```python ```` block of ``README.md`` and ``docs/*.md`` runs, page by
page in the order of the page (a page's blocks share one namespace, as a reader
pasting them into one session would), in a temporary working folder. MyST never
executes these blocks, so without this test a renamed parameter or a changed
output would go unnoticed.

Where a statement prints and the block writes the expected output beside it
(``print(x)  # True: ...``) or in the comment lines right below it, the output
must match: ``...`` stands for any text, and a comment may go on after the
output (``# True: bit-identical``). A comment that starts with prose
(``# rows 50-99 only``) is not an expected output.

A few pages train the default network on a realistic amount of data (minutes
on 2 cores); their code runs here with smaller numbers, each substitution
listed in ``SHRINK`` and checked to still be in the page; their printed
numbers are not compared (``NUMBERS_DIFFER``; the gallery examples check the
headline numbers). Other pages run fewer search candidates, folds or epochs
where what they print does not depend on it.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import tokenize
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: ``page: [(text in the page, text it runs as)]``: smaller data or fewer
#: epochs for the pages whose code trains for minutes.
SHRINK = {
    "README.md": [
        (
            "make_sensor_tasks(n_samples=1000,",
            "make_sensor_tasks(n_samples=60, n_steps=64,",
        ),
        (
            "MultiTaskConvEstimator(epochs=20,",
            "MultiTaskConvEstimator(epochs=1, filters=(84,),",
        ),
    ],
    "getting-started.md": [
        ("make_sensor_tasks(300, n_steps=256,", "make_sensor_tasks(60, n_steps=64,"),
        (
            "MultiTaskConvEstimator(epochs=20,",
            "MultiTaskConvEstimator(epochs=1, filters=(84,),",
        ),
    ],
    "performance.md": [
        ("n, n_steps = 4000, 3750", "n, n_steps = 2000, 64"),
        (
            "MultiTaskConvEstimator(epochs=1,",
            "MultiTaskConvEstimator(epochs=1, filters=(84,),",
        ),
    ],
    # Fewer candidates, folds and epochs, where what the page prints is the same.
    "training.md": [
        (
            '{"loss_weights__density": [0.1, 0.3, 1.0]}',
            '{"loss_weights__density": [0.1, 1.0]}',
        ),
        (
            '{"loss_weights__density": [0.3, 1.0]}, cv=2)',
            '{"loss_weights__density": [0.3]}, cv=2)',
        ),
        ("filters=(84,), epochs=50,", "filters=(84,), epochs=8,"),
        ("filters=(84,), epochs=10,", "filters=(84,), epochs=2,"),
        ('{"dropout": [0.0, 0.2]}', '{"dropout": [0.2]}'),
    ],
    "scikit-learn.md": [
        ("X, y, cv=3))", "X, y, cv=2))"),
        ("StratifiedKFold(3,", "StratifiedKFold(2,"),
        ("X, y, cv=3,\n    scoring=", "X, y, cv=2,\n    scoring="),
        (
            '"optimizer__learning_rate": [1e-3, 1e-2]',
            '"optimizer__learning_rate": [1e-2]',
        ),
    ],
    "distributed.md": [
        # The page's X and y come from the reader: a small set here.
        (
            "from sklearn.model_selection import GridSearchCV\n",
            "from sklearn.model_selection import GridSearchCV\n"
            "from skmtl.datasets import make_sensor_tasks\n"
            "X, y = make_sensor_tasks(24, n_steps=16, random_state=0)\n",
        ),
        (
            "MultiTaskConvEstimator(epochs=10,",
            "MultiTaskConvEstimator(epochs=1, filters=(84,), dense_units=2,",
        ),
        (
            '{"loss_weights__material": [0.5, 1.0, 2.0], '
            '"learning_rate": [1e-3, 3e-3]}',
            '{"loss_weights__material": [0.5, 2.0]}',
        ),
        ("cv=3,", "cv=2,"),
        # Loky workers are tested in test_concurrency; the Dask block stays.
        ("n_jobs=2,  # two loky worker processes", "n_jobs=1,"),
        ("processes=True)", "processes=True, dashboard_address=None)"),
    ],
}

#: Pages whose shrunk code prints other numbers than the page shows.
NUMBERS_DIFFER = {"README.md", "getting-started.md", "performance.md", "distributed.md"}

#: ``(page, block number): why it does not run``.
NOT_RUN = {
    ("datasets.md", 1): "a function signature, not code",
    ("troubleshooting.md", 1): "converts a trusted joblib file the reader has",
}

_FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
# An expected output starts like a value, not like prose.
_VALUE_START = re.compile(r"""^[\[\]({'"\-\d]|^(True|False|None)\b|^[a-z]+ '""")


def python_blocks(page: Path) -> list[str]:
    return [m.group(1) for m in _FENCE.finditer(page.read_text())]


def _comments(source: str) -> dict[int, str]:
    """``{line number: comment text}`` of every comment in ``source``."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {
        tok.start[0]: tok.string[1:].strip()
        for tok in tokens
        if tok.type == tokenize.COMMENT
    }


def _expected_output(stmt: ast.stmt, lines: list[str], comments: dict) -> str | None:
    """The output the page writes for ``stmt``: its trailing comment when that
    starts like a value, else the comment-only lines right below it; None when
    there is neither."""
    end = stmt.end_lineno
    if end in comments and lines[end - 1].split("#", 1)[0].strip():
        trailing = comments[end]
        return trailing if _VALUE_START.match(trailing) else None
    below = []
    for number in range(end + 1, len(lines) + 1):
        if not lines[number - 1].lstrip().startswith("#"):
            break
        below.append(comments[number])
    return "\n".join(below) or None


def _normal(text: str) -> str:
    return " ".join(text.split())


def check_output(printed: str, expected: str) -> None:
    """``printed`` is ``expected``, or its beginning followed by a remark."""
    out, want = _normal(printed), _normal(expected)
    pattern = ".*?".join(re.escape(part) for part in want.split("..."))
    if re.fullmatch(pattern, out):
        return
    if want.startswith(out) and not want[len(out) : len(out) + 1].isalnum():
        return
    raise AssertionError(f"printed {printed!r}, the page says {expected!r}")


def run_block(source: str, namespace: dict, *, compare: bool, label: str) -> None:
    """Run ``source`` statement by statement, comparing printed outputs.

    What a loop or a ``with`` block prints is kept until the next statement
    with an expected output (a loop's lines and a last ``print`` may share one
    comment block); a ``print`` without one is not checked.
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    comments = _comments(source)
    printed = ""
    for stmt in tree.body:
        code = compile(ast.Module([stmt], type_ignores=[]), label, "exec")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, namespace)
        printed += out.getvalue()
        expected = _expected_output(stmt, lines, comments)
        if printed and expected is not None:
            if compare:
                try:
                    check_output(printed, expected)
                except AssertionError as exc:
                    raise AssertionError(
                        f"{label}, line {stmt.lineno}: {exc}"
                    ) from None
            printed = ""
        elif isinstance(stmt, ast.Expr):
            printed = ""  # a print the page shows no output for


def shrunk(page: str, block: str) -> str:
    for old, new in SHRINK.get(page, []):
        block = block.replace(old, new)
    return block


def test_every_shrink_substitution_is_in_its_page():
    for page, pairs in SHRINK.items():
        path = ROOT / page if page == "README.md" else ROOT / "docs" / page
        text = "".join(python_blocks(path))
        for old, _ in pairs:
            assert old in text, f"{page} no longer holds {old!r}: update SHRINK"
    for page, number in NOT_RUN:
        assert number < len(python_blocks(ROOT / "docs" / page)), (page, number)


def test_check_output_rules():
    check_output("True\n", "True: bit-identical")
    check_output("5\n", "5 fields")
    check_output("(-0.0571, 1.2)\n", "(-0.057..., 1.2)")
    with pytest.raises(AssertionError):
        check_output("False\n", "True")
    with pytest.raises(AssertionError):
        check_output("54\n", "542")
    assert _VALUE_START.match("rows 50-99 only") is None


#: ``page: reason``: pages known to be out of date, as strict expected
#: failures (the test fails once the page is fixed: remove its entry then).
STALE: dict[str, str] = {}


def _pages():
    return [
        pytest.param(
            page,
            marks=pytest.mark.xfail(strict=True, reason=STALE[page.name])
            if page.name in STALE
            else (),
        )
        for page in PAGES
    ]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_page_code_runs_and_prints_what_the_page_says(page, tmp_path, monkeypatch):
    blocks = python_blocks(page)
    if not blocks:
        pytest.skip(f"{page.name} has no Python code")
    pytest.importorskip("matplotlib").use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__doc_code__"}
    compare = page.name not in NUMBERS_DIFFER
    try:
        for number, block in enumerate(blocks):
            if (page.name, number) in NOT_RUN:
                continue
            label = f"{page.name} block {number}"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_block(
                    shrunk(page.name, block), namespace, compare=compare, label=label
                )
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
