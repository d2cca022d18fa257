"""``python -m skmtl``: the command line (see :mod:`skmtl.cli`).

The console script ``skmtl`` points at :func:`main` here, so it stays put.
"""

from __future__ import annotations

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
