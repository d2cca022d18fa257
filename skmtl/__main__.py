"""``python -m skmtl``: the command line (see :mod:`skmtl.cli.command`).

The console script ``skmtl`` points at :func:`main` here, so it stays put.
"""

from __future__ import annotations

import sys

from .cli.command import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
