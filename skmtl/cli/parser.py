"""The ``skmtl`` command's parser: its options, their help and defaults, and
the parsing of ``--target`` and ``--param`` values.

Building the parser imports no TensorFlow (``skmtl --version`` and usage
errors stay fast); the help of an option that sets an estimator parameter is
read from the estimator's parameter table only when ``--help`` is shown.
"""

from __future__ import annotations

import argparse
import ast
import functools
import sys

from ..data.targets import CLASSIFICATION, REGRESSION
from ..training.strategies import STRATEGIES

__all__ = [
    "build_parser",
    "option_help",
    "parse_param",
    "parse_target",
]

KINDS = (CLASSIFICATION, REGRESSION)
# Estimator parameters that are options of fit (their default: the estimator's).
ESTIMATOR_OPTIONS = ("epochs", "batch_size", "random_state", "loss_weighting")
# The help of an option that sets an estimator parameter: the parameter
# table's, read when the help is shown (option_help).
_FROM_TABLE = "(the estimator parameter's help)"
# Estimator parameters that have their own option and cannot come via --param.
OWN_OPTIONS = {"tasks": "--target", "verbose": "--verbose/-q"}


class CliError(Exception):
    """An expected failure, reported as ``skmtl: error: <message>`` (exit 2)."""


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help, each option's default stated by :func:`option_help`."""

    def _get_help_string(self, action: argparse.Action) -> str:
        # argparse expands %-placeholders in what this returns: escape them.
        return option_help(action).replace("%", "%%")


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors in skmtl's one error format."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.print_usage(sys.stderr)
        raise CliError(message)


# ----------------------------------------------------------------- defaults
@functools.cache
def estimator_defaults() -> dict:
    """``MultiTaskConvEstimator().get_params()``: the defaults of ``fit``'s options.

    The one source of what an estimator option does when it is not given, so
    that neither the help nor the guide can state a stale default. It imports
    TensorFlow (started quietly), so only ``fit`` and ``fit --help`` call it:
    building the parser (and ``skmtl --version``) does not.

    Returns
    -------
    dict
        Parameter name to default value; shared between calls, do not change it.
    """
    from .. import _USER_TF_LOG_LEVEL
    from .quiet import start_tensorflow_quietly

    start_tensorflow_quietly(_USER_TF_LOG_LEVEL)
    from ..estimator.wrapper import MultiTaskConvEstimator

    return MultiTaskConvEstimator().get_params(deep=False)


def estimator_parameter(name: str):
    """The estimator's declaration of parameter ``name``
    (:data:`skmtl.estimator.parameters.PARAMETERS`): its help and default.

    Like :func:`estimator_defaults`, it imports TensorFlow: only ``--help``
    and ``fit`` read it.

    Examples
    --------
    >>> estimator_parameter("batch_size").help
    'samples per batch'
    """
    estimator_defaults()  # TensorFlow started quietly
    from ..estimator.parameters import PARAMETERS

    (parameter,) = [p for p in PARAMETERS if p.name == name]
    return parameter


def option_help(action: argparse.Action) -> str:
    """An option's help as ``--help`` shows it: its text, then its default.

    An option left None that sets an estimator parameter states the
    estimator's own default (:func:`estimator_defaults`), read when the help
    is shown; any other option with a value states its argparse default. The
    help texts never state a default themselves, so none can drift.

    Parameters
    ----------
    action : argparse.Action
        An option of a parser from :func:`build_parser`.

    Returns
    -------
    str
        The help text, ending in ``(default VALUE)`` or, where the value
        alone does not say what it means, ``(default VALUE: meaning)``.

    Examples
    --------
    >>> demo = build_parser()._subparsers._group_actions[0].choices["demo"]
    >>> [option_help(a) for a in demo._actions if a.dest == "n_steps"]
    ['steps per signal (default 3750)']
    """
    text = action.help or ""
    if text == _FROM_TABLE:
        text = estimator_parameter(action.dest).help
    if not action.option_strings or action.nargs == 0 or text == argparse.SUPPRESS:
        return text  # positional arguments and flags: nothing to state
    if action.default is None and action.dest in ESTIMATOR_OPTIONS:
        value = estimator_defaults()[action.dest]
    elif isinstance(action.default, str | int | float):
        value = action.default
    else:
        return text
    return f"{text} (default {value}{_default_meaning(action.dest, value)})"


def _default_meaning(name: str, value) -> str:
    """What a default means, where its value alone does not say."""
    if name == "epochs" and value == "auto":
        from ..training.budget import MIN_PASSES, MIN_STEPS  # no TensorFlow there

        return f": at least {MIN_STEPS:,} optimizer steps and {MIN_PASSES} passes"
    if name == "random_state" and value is None:
        return ": a fresh seed each fit"
    return ""


# ----------------------------------------------------------------- arguments
def parse_target(text: str) -> tuple[str, str | None]:
    """Parse ``--target name:kind`` (kind optional: inferred from the dtype).

    Parameters
    ----------
    text : str
        The option's value: ``NAME:KIND`` with KIND ``classification`` or
        ``regression``, or ``NAME`` alone.

    Returns
    -------
    name : str
        The target field.
    kind : str or None
        ``"classification"``, ``"regression"``, or None when the kind is to be
        inferred from the column's dtype.

    Raises
    ------
    argparse.ArgumentTypeError
        If the name is empty or the kind is not one of the two.

    Examples
    --------
    >>> parse_target("material:classification")
    ('material', 'classification')
    >>> parse_target("density")
    ('density', None)
    >>> parse_target("density:regresion")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: malformed 'density:regresion': expected NAME:KIND ...
    """
    name, sep, kind = text.rpartition(":")
    if not sep:
        name, kind = text, None
    if not name or (sep and kind not in KINDS):
        raise argparse.ArgumentTypeError(
            f"malformed {text!r}: expected NAME:KIND with KIND "
            f"'classification' or 'regression' (or NAME alone to infer the kind "
            "from the column's dtype)"
        )
    return name, kind


def _literal(text: str):
    """A Python literal, ``true``/``false``/``none``, or else the text itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false", "none", "null"):
        return {"true": True, "false": False}.get(lowered)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def parse_param(text: str) -> tuple[str, object]:
    """Parse ``--param name=value``; the value is read as a Python literal.

    Text that is not a literal stays a string, so ``trunk=fcn`` needs no quotes.

    Parameters
    ----------
    text : str
        The option's value, ``NAME=VALUE``; NAME must be a Python identifier.
        ``true``, ``false`` and ``none`` (any case, and ``null``) read as
        True, False and None.

    Returns
    -------
    name : str
        The estimator parameter.
    value : object
        The value, as a Python literal, or the text itself if it is none.

    Raises
    ------
    argparse.ArgumentTypeError
        If there is no ``=`` or NAME is not an identifier.

    Examples
    --------
    >>> parse_param("filters=(4, 8)")
    ('filters', (4, 8))
    >>> parse_param("loss_weights={'material': 2}")
    ('loss_weights', {'material': 2})
    >>> parse_param("trunk=fcn"), parse_param("early_stopping=true")
    (('trunk', 'fcn'), ('early_stopping', True))
    """
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(
            f"malformed {text!r}: expected NAME=VALUE, e.g. "
            "--param 'filters=(16, 32)' or --param trunk=fcn"
        )
    return name, _literal(value)


def _epochs(text: str) -> int | str:
    """``--epochs``: a number of epochs, or ``auto`` (the estimator's budget)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a number of epochs or 'auto'"
        ) from None


def _add_verbosity(parser: argparse.ArgumentParser, levels: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help=levels,
    )
    group.add_argument(
        "-q",
        "--quiet",
        dest="verbose",
        action="store_const",
        const=0,
        help="no progress and no notes (same as --verbose 0)",
    )


def _add_fit(commands) -> None:
    fit = commands.add_parser(
        "fit",
        help="train an estimator on a data file and save it",
        description="Train MultiTaskConvEstimator on DATA and save it to -o. "
        "Several .ts files holding the same series with different targets "
        "(A_TRAIN.ts A_disc_TRAIN.ts) are combined into one multi-task data "
        "set: one task per file, named after the file (A, A_disc).",
    )
    fit.add_argument(
        "data",
        metavar="DATA",
        nargs="+",
        help="training data (.npz, .parquet or .ts); several .ts files of the "
        "same series are combined, one task per file",
    )
    fit.add_argument(
        "--target",
        dest="targets",
        metavar="NAME:KIND",
        type=parse_target,
        action="append",
        help="a target field and its kind, classification or regression "
        "(repeat for each task); required except for .ts files, whose "
        "target is their label (field 'target' of one file; with several, "
        "each file's task name)",
    )
    fit.add_argument(
        "-o", "--output", required=True, help="model file to write (.skmtl)"
    )
    # Their help and defaults are the estimator's parameter table's, read by
    # option_help when --help is shown: none here.
    fit.add_argument("--epochs", type=_epochs, help=_FROM_TABLE)
    fit.add_argument("--batch-size", type=int, help=_FROM_TABLE)
    fit.add_argument("--random-state", type=int, help=_FROM_TABLE)
    fit.add_argument("--loss-weighting", choices=STRATEGIES, help=_FROM_TABLE)
    fit.add_argument(
        "--param",
        dest="params",
        metavar="NAME=VALUE",
        type=parse_param,
        action="append",
        default=[],
        help="any other estimator parameter, value as a Python literal "
        "(repeatable), e.g. --param 'filters=(16, 32)'",
    )
    _add_verbosity(
        fit,
        "0 silent; 1 Keras' progress bar on a terminal, one line per epoch "
        "elsewhere; 2 one line per epoch",
    )


def _add_predict(commands) -> None:
    predict = commands.add_parser(
        "predict",
        help="predict every task of a saved model on a data file",
        description="Predict every task of MODEL on DATA, one column per task.",
    )
    predict.add_argument("model", metavar="MODEL", help="a model file from skmtl fit")
    predict.add_argument(
        "data", metavar="DATA", help="input data (.npz, .parquet or .ts)"
    )
    predict.add_argument(
        "-o",
        "--output",
        default="-",
        help="predictions file: .csv, .npz or .parquet; - writes CSV on stdout",
    )
    predict.add_argument(
        "--proba",
        action="store_true",
        help="add columns <task>_proba_<class> for each classification task",
    )
    _add_verbosity(predict, "0 silent, 1 or 2 notes and progress")


def build_parser() -> argparse.ArgumentParser:
    """Build the ``skmtl`` argument parser with its four subcommands.

    The subcommands are ``fit``, ``predict``, ``info`` and ``demo``. Building
    the parser does not import TensorFlow.

    Returns
    -------
    argparse.ArgumentParser
        The parser; a usage error raises ``CliError`` rather than exiting, so
        that :func:`main` reports it as ``skmtl: error: ...``.

    Examples
    --------
    >>> args = build_parser().parse_args(
    ...     ["fit", "train.npz", "--target", "material:classification",
    ...      "--target", "density", "-o", "model.skmtl", "--epochs", "5"]
    ... )
    >>> args.command, args.data, args.output, args.epochs
    ('fit', ['train.npz'], 'model.skmtl', 5)
    >>> args.targets
    [('material', 'classification'), ('density', None)]
    """
    from .._version import __version__

    parser = _Parser(
        prog="skmtl", description="Multi-task 1-D conv networks for sensor signals."
    )
    parser.add_argument("--version", action="version", version=f"skmtl {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    _add_fit(commands)
    _add_predict(commands)
    info = commands.add_parser(
        "info", help="describe a saved model: inputs, tasks, training, size"
    )
    info.add_argument("model", metavar="MODEL", help="a model file from skmtl fit")
    info.add_argument("--json", action="store_true", help="print JSON instead")
    demo = commands.add_parser(
        "demo",
        help="train the default network on the built-in synthetic data",
        description="Generate the synthetic sensor data (2 signals, 3 covariates; "
        "tasks 'material' and 'density'), train the default network on 75 % "
        "of it, print held-out metrics and save the model.",
    )
    demo.add_argument(
        "--n-samples",
        type=int,
        default=2000,
        metavar="N",
        help="recordings to generate; a quarter is held out",
    )
    demo.add_argument(
        "--n-steps",
        type=int,
        default=3750,
        metavar="T",
        help="steps per signal",
    )
    demo.add_argument(
        "--epochs",
        type=_epochs,
        default=15,
        metavar="N",
        help="training epochs of the demo, or auto for the estimator's budget",
    )
    demo.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the data, the split and the network",
    )
    demo.add_argument(
        "--output",
        default="demo_model.skmtl",
        metavar="FILE",
        help="model file to write",
    )
    demo.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="0 silent; 1 Keras' progress bar on a terminal, one line per epoch "
        "elsewhere; 2 one line per epoch",
    )
    return parser
