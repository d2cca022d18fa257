"""Every default the documentation states is the one the code has.

The estimator's defaults are declared once, in its parameter table
(``skmtl.estimator.parameters.PARAMETERS``);
``MultiTaskConvEstimator().get_params(deep=False)`` is the truth. When the
default network changed (the MiniRocket trunk and chained heads replaced the
conv trunk, ``dense_units=64``, ``dropout=0.1`` and ``epochs=20``), more than
25 statements in the docs went on describing the old one. These tests read
what the documentation states and fail on any difference, naming the file,
the line, the parameter, the stated and the true default:

- the Markdown tables of ``README.md`` and ``docs/*.md`` with a ``parameter``
  and a ``default`` column (a table of another function's options, such as
  plotting.md's, is held to that function's signature);
- the ``name : type, default=VALUE`` lines of the estimator's class docstring,
  one for every parameter;
- prose of the forms "default `name=value`", "`name=value` (the default)" and
  "`name` (default VALUE)";
- the options of ``docs/cli.md``, "(default `VALUE`)", against the command's
  parser (for an option that sets an estimator parameter: ``get_params()``).

A stated value is read with ``ast.literal_eval``; text that is not a literal
(``rocket``, "every task") must spell a string default, or describe a default
of None.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from skmtl.cli.parser import build_parser
from skmtl.estimator.wrapper import MultiTaskConvEstimator
from skmtl.inspect import plotting

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ESTIMATOR = "MultiTaskConvEstimator"


def estimator_defaults() -> dict:
    """The truth: a fresh estimator's parameters."""
    return MultiTaskConvEstimator().get_params(deep=False)


def signature_defaults(function) -> dict:
    """``{name: default}`` of a function's parameters that have one."""
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def documented_callables() -> dict[str, dict]:
    """Whose options a docs table may list, each with its defaults, estimator first."""
    owners = {ESTIMATOR: estimator_defaults()}
    for name in plotting.__all__:
        owners[name] = signature_defaults(getattr(plotting, name))
    return owners


# ------------------------------------------------------------ reading values
@dataclass(frozen=True)
class Prose:
    """A stated default that is not a Python literal: ``rocket``, "every task"."""

    text: str


@dataclass(frozen=True)
class Statement:
    """One default stated in the documentation."""

    where: str  # "docs/network.md:152"
    name: str
    stated: str  # as written


def read_value(text: str):
    """A stated default as a value: a literal, else the text as ``Prose``."""
    text = text.strip()
    if text.startswith("`") and text.endswith("`"):
        text = text.strip("`").strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return Prose(text)


def same_value(stated, true) -> bool:
    """Equal, with True never standing for 1 (``True == 1`` in Python)."""
    if isinstance(stated, bool) or isinstance(true, bool):
        return stated is true
    if isinstance(stated, tuple | list) and isinstance(true, tuple | list):
        return len(stated) == len(true) and all(map(same_value, stated, true))
    return stated == true


def agrees(stated, true) -> bool:
    """Whether a stated default (value or ``Prose``) says the true one."""
    if isinstance(stated, Prose):
        if isinstance(true, str):
            return stated.text == true
        # "every task", "a new figure": what None means, not a value.
        return true is None
    return same_value(stated, true)


def disagreements(statements: list[Statement], defaults: dict) -> list[str]:
    """One line per statement whose default is not the true one."""
    wrong = []
    for s in statements:
        true = defaults[s.name]
        if not agrees(read_value(s.stated), true):
            wrong.append(
                f"{s.where}: {s.name}: states {s.stated}, the default is {true!r}"
            )
    return wrong


def relative(path: Path) -> str:
    """A path as the messages name it: from the repository's root."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def first_cell_value(cell: str) -> str:
    """A table cell's value: its leading code span (``"rocket"``), else the cell."""
    match = re.match(r"\s*(`[^`]*`)", cell)
    return match.group(1) if match else cell.strip()


def cell_name(cell: str) -> str:
    """The name in a parameter cell, without its backticks."""
    return cell.strip().strip("`").strip()


# ------------------------------------------------------------ docs tables
@dataclass
class Table:
    """A Markdown table with a parameter and a default column."""

    page: Path
    rows: list[tuple[int, str, str]]  # (line number, name, stated default)


def markdown_tables(path: Path) -> list[tuple[int, list[list[str]]]]:
    """``(first line number, rows of cells)`` of every table on a page."""
    tables, current, start = [], [], 0
    lines = path.read_text().splitlines()
    for number, line in enumerate([*lines, ""], start=1):
        if line.lstrip().startswith("|"):
            if not current:
                start = number
            cells = line.strip().strip("|").split("|")
            current.append([c.strip() for c in cells])
        elif current:
            tables.append((start, current))
            current = []
    return tables


def default_tables(path: Path) -> list[Table]:
    """The tables of a page whose header has a parameter and a default column."""
    found = []
    for start, rows in markdown_tables(path):
        header = [c.lower() for c in rows[0]]
        if "parameter" not in header or "default" not in header:
            continue
        name_col, default_col = header.index("parameter"), header.index("default")
        body = [
            (start + i, cell_name(r[name_col]), first_cell_value(r[default_col]))
            for i, r in enumerate(rows[2:], start=2)  # rows[1] is the rule
        ]
        found.append(Table(path, body))
    return found


def table_owner(table: Table, owners: dict[str, dict]) -> str | None:
    """The first callable (the estimator first) having every parameter listed."""
    names = {name for _, name, _ in table.rows}
    for owner, defaults in owners.items():
        if names <= set(defaults):
            return owner
    return None


def test_docs_tables_state_the_true_defaults():
    owners = documented_callables()
    tables = [t for page in PAGES for t in default_tables(page)]
    problems, estimator_rows = [], 0
    for table in tables:
        owner = table_owner(table, owners)
        if owner is None:
            unknown = sorted({n for _, n, _ in table.rows} - set(owners[ESTIMATOR]))
            problems.append(
                f"{relative(table.page)}:{table.rows[0][0]}: the table lists "
                f"{unknown}, which are not parameters of {ESTIMATOR} (nor of "
                "one documented function)"
            )
            continue
        if owner == ESTIMATOR:
            estimator_rows += len(table.rows)
        statements = [
            Statement(f"{relative(table.page)}:{line}", name, stated)
            for line, name, stated in table.rows
        ]
        problems += disagreements(statements, owners[owner])
    assert not problems, "\n".join(problems)
    # The hyper-parameter table of network.md is found, and read.
    assert estimator_rows >= 15, estimator_rows


# ------------------------------------------------------------ the docstring
def docstring_parameter_lines() -> list[tuple[int, str, str]]:
    """``(line, name, type text)`` of the class docstring's Parameters section.

    Read from ``__doc__``, what ``help()`` and the API reference show, so a
    docstring assembled at import is read as its readers see it.
    """
    lines = inspect.cleandoc(MultiTaskConvEstimator.__doc__).splitlines()
    found, in_section = [], False
    for number, line in enumerate(lines, start=1):
        following = lines[number].strip() if number < len(lines) else ""
        if following and set(following) == {"-"}:  # a numpydoc section heading
            in_section = line.strip() == "Parameters"
            continue
        match = re.match(r"(\w+) : (.*)$", line)
        if in_section and match:
            found.append((number, match.group(1), match.group(2)))
    assert found, f"no Parameters section in {ESTIMATOR}'s docstring"
    return found


def test_estimator_docstring_states_every_true_default():
    defaults = estimator_defaults()
    where = f"{ESTIMATOR}.__doc__"
    statements, problems, documented = [], [], set()
    for line, name, type_text in docstring_parameter_lines():
        documented.add(name)
        if name not in defaults:
            problems.append(f"{where}:{line}: {name} is not an estimator parameter")
            continue
        match = re.search(r"default=(.+)$", type_text)
        if match is None:
            problems.append(f"{where}:{line}: {name}: no 'default=' stated")
            continue
        statements.append(Statement(f"{where}:{line}", name, match.group(1)))
    problems += disagreements(statements, defaults)
    problems += [
        f"{where}: {name} (default {defaults[name]!r}) is not documented"
        for name in sorted(set(defaults) - documented)
    ]
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------ prose
# "default `trunk="rocket"`", "The default trunk: `trunk="rocket"`"; not "the
# previous default `...`" nor "the first release's default `...`".
DEFAULT_THEN_CODE = re.compile(
    r"(?<!previous )(?<!former )(?<!old )(?<!'s )\bdefault(?: \w+)?:? `(\w+)=([^`]+)`"
)
# "`dense_units=0` (the default)", "`shuffle=True`, the default"
CODE_THEN_DEFAULT = re.compile(r"`(\w+)=([^`]+)`(?: \((?:the )?|, the )default\b")
# "`gradnorm_alpha` (default 1.5)", "`T = dwa_temperature` (default 2.0)"
NAME_THEN_DEFAULT = re.compile(r"`(?:\w+ = )?(\w+)` \(default `?([^`():;,]+)`?")


def prose_statements(path: Path, names: set[str]) -> list[Statement]:
    """The prose statements of a page about the default of an estimator parameter."""
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for pattern in (DEFAULT_THEN_CODE, CODE_THEN_DEFAULT, NAME_THEN_DEFAULT):
            for name, value in pattern.findall(line):
                if name in names:
                    where = f"{relative(path)}:{number}"
                    found.append(Statement(where, name, value.strip()))
    return found


def test_docs_prose_states_the_true_defaults():
    defaults = estimator_defaults()
    statements = [s for page in PAGES for s in prose_statements(page, set(defaults))]
    problems = disagreements(statements, defaults)
    assert not problems, "\n".join(problems)
    # network.md's "`dense_units=0` (the default)" and training.md's
    # "`gradnorm_alpha` (default 1.5)" at least are read.
    assert {"dense_units", "gradnorm_alpha"} <= {s.name for s in statements}


@pytest.mark.parametrize(
    ("line", "name", "value"),
    [
        ('The default `trunk="conv"` reads', "trunk", '"conv"'),
        ("With `dense_units=64` (the default), the", "dense_units", "64"),
        ("(with `shuffle=False`, the default)", "shuffle", "False"),
        ("`alpha = gradnorm_alpha` (default 2.5)", "gradnorm_alpha", "2.5"),
    ],
)
def test_a_stale_prose_default_is_caught(tmp_path, line, name, value):
    page = tmp_path / "page.md"
    page.write_text(f"Some text.\n{line}\n")
    (statement,) = prose_statements(page.resolve(), set(estimator_defaults()))
    assert (statement.name, statement.stated) == (name, value)
    assert disagreements([statement], estimator_defaults())


def test_a_former_default_is_not_read_as_a_default(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        'The first release\'s default (`trunk="conv"`, 20 epochs).\n'
        'The previous default `trunk="minirocket"`; the release\'s default '
        "`epochs=20`.\n"
        '| `trunk="minirocket"` (previous default) | `trunk="rocket"` (default) |\n'
    )
    statements = prose_statements(page.resolve(), set(estimator_defaults()))
    assert [(s.name, s.stated) for s in statements] == [("trunk", '"rocket"')]


# ------------------------------------------------------------ the command line
def subcommand_options(command: str) -> dict[str, object]:
    """``{option string: argparse action}`` of one ``skmtl`` subcommand."""
    subparsers = build_parser()._subparsers._group_actions[0].choices
    return {
        option: action
        for action in subparsers[command]._actions
        for option in action.option_strings
    }


def option_default(action, defaults: dict):
    """What an option left out does: the estimator's default where it sets one."""
    if action.default is None and action.dest in defaults:
        return defaults[action.dest]
    return action.default


def cli_statements() -> list[tuple[str, str, str, str]]:
    """``(where, subcommand, option, stated)``: cli.md's "(default `V`)" in table rows.

    The subcommand is the section's (``## fit``); the option, the row's first.
    """
    page = ROOT / "docs" / "cli.md"
    found, command = [], None
    for number, line in enumerate(page.read_text().splitlines(), start=1):
        heading = re.match(r"## (\w+)\s*$", line)
        if heading:
            command = heading.group(1)
        option = re.match(r"\| `(-{1,2}[\w-]+)", line)
        stated = re.search(r"\(default `([^`]+)`", line)
        if option and stated:
            where = f"{relative(page)}:{number}"
            found.append((where, command, option.group(1), stated.group(1)))
    return found


def test_cli_docs_state_the_true_option_defaults():
    defaults = estimator_defaults()
    statements = cli_statements()
    problems = []
    for where, command, option, stated in statements:
        action = subcommand_options(command).get(option)
        if action is None:
            problems.append(f"{where}: skmtl {command} has no option {option}")
            continue
        true = option_default(action, defaults)
        if not agrees(read_value(stated), true):
            problems.append(
                f"{where}: {option}: states {stated}, the default is {true!r}"
            )
    assert not problems, "\n".join(problems)
    # --epochs, --batch-size, --random-state, --loss-weighting and --verbose.
    assert len(statements) >= 5, statements


# ------------------------------------------------------------ the checker itself
def test_a_stale_table_default_is_named_with_its_file_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "| parameter | default | meaning |\n| --- | --- | --- |\n"
        '| `trunk` | `"conv"` | the trunk |\n| `epochs` | `20` | epochs |\n'
        "| `dropout` | `0.0` | dropout |\n"
    )
    (table,) = default_tables(page)
    assert table_owner(table, documented_callables()) == ESTIMATOR
    statements = [Statement(f"page.md:{n}", name, s) for n, name, s in table.rows]
    assert disagreements(statements, estimator_defaults()) == [
        "page.md:3: trunk: states `\"conv\"`, the default is 'rocket'",
        "page.md:4: epochs: states `20`, the default is 'auto'",
    ]


@pytest.mark.parametrize(
    ("stated", "true", "expected"),
    [
        ('"rocket"', "rocket", True),
        ("rocket", "rocket", True),
        ("conv", "rocket", False),
        ("0.0", 0.0, True),
        ("0", 0.0, True),
        ("1e-3", 0.001, True),
        ("True", 1, False),
        ("1", True, False),
        ("None", None, True),
        ("every task", None, True),
        ("every task", 0, False),
        ("(16, 32)", (16, 32), True),
        ("(16, 32)", (16, 64), False),
        ("0.1", 0.0, False),
    ],
)
def test_stated_values_are_compared_as_values(stated, true, expected):
    assert agrees(read_value(stated), true) is expected
