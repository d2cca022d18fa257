"""The ``skmtl`` command and the data files it reads and writes."""

from .command import main

__all__ = ["main"]
