"""Files every layer writes or reads the same way: atomic writes that never
leave a half-written file, output paths checked before any work, and the one
error a data file or an output path raises (:class:`DataFileError`)."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["DataFileError", "atomic_path", "check_output", "existing_file"]


class DataFileError(ValueError):
    """A data file that cannot be read or an output that cannot be written.

    A subclass of ValueError; its message names the file or field and the fix.
    The ``skmtl`` command reports it as ``skmtl: error: <message>``.

    Examples
    --------
    >>> try:
    ...     existing_file("no-such-file.npz", "data file")
    ... except DataFileError as exc:
    ...     print(exc)
    data file no-such-file.npz does not exist
    >>> issubclass(DataFileError, ValueError)
    True
    """


def existing_file(path: str, what: str) -> Path:
    """``path`` as a Path, if it names an existing file.

    Parameters
    ----------
    path : str
        The file.
    what : str
        What the file is, for the message (``"data file"``).

    Returns
    -------
    Path

    Raises
    ------
    DataFileError
        If nothing or a folder is there.

    Examples
    --------
    >>> existing_file(__file__, "module").suffix
    '.py'
    """
    file = Path(path)
    if not file.exists():
        raise DataFileError(f"{what} {path} does not exist")
    if not file.is_file():
        raise DataFileError(f"{what} {path} is not a file")
    return file


def check_extension(path: str, allowed: Sequence[str], what: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        both = [ext for ext in allowed if ext != ".ts"]  # .ts is read only
        only_read = " and reads .ts" if ".ts" in allowed else ""
        raise DataFileError(
            f"{what} {path} has extension {suffix or '(none)'!r}; skmtl reads and "
            f"writes {', '.join(both)}{only_read}: rename or convert the file"
        )
    return suffix


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (links included), as the OS sees it."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def check_output(
    path: str,
    allowed: Sequence[str] | None = None,
    inputs: Sequence[tuple[str, str]] = (),
) -> None:
    """Fail before any work if ``path`` cannot be written or would overwrite an input.

    Parameters
    ----------
    path : str
        The output file to be written.
    allowed : sequence of str, optional
        Extensions the file may have, lower case with the dot (e.g.
        ``(".csv", ".npz")``); any extension if None.
    inputs : sequence of (str, str), default=()
        ``(what, path)`` of each file the command reads, such as
        ``("data file", "train.npz")``: the output may not be one of them
        (compared with ``os.path.samefile``, so a link or another spelling of
        the same path is caught too).

    Raises
    ------
    DataFileError
        If ``path`` has an extension not in ``allowed``, is a folder, is in a
        folder that does not exist, or is the same file as one of ``inputs``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> check_output(os.path.join(folder, "predictions.csv"), (".csv", ".npz"))
    >>> check_output("predictions.txt", (".csv", ".npz"))
    Traceback (most recent call last):
    ...
    skmtl...DataFileError: output file predictions.txt has extension '.txt'; ...
    >>> check_output(os.path.join(folder, "missing", "model.skmtl"))
    Traceback (most recent call last):
    ...
    skmtl...DataFileError: cannot write ...: folder ... does not exist; ...
    >>> data = os.path.join(folder, "data.npz")
    >>> np.savez(data, temp=np.ones(3))
    >>> check_output(data, (".csv", ".npz"), inputs=[("data file", data)])
    Traceback (most recent call last):
    ...
    skmtl...DataFileError: output file ... is the data file ...; ...
    """
    for what, source in inputs:
        if _same_file(path, source):
            raise DataFileError(
                f"output file {path} is the {what} {source}; writing it would "
                "destroy the input: name another output file"
            )
    if allowed is not None:
        check_extension(path, allowed, "output file")
    if Path(path).is_dir():
        raise DataFileError(f"cannot write {path}: it is a folder; name a file in it")
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise DataFileError(
            f"cannot write {path}: folder {folder} does not exist; create it first "
            f"(mkdir -p {folder})"
        )


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path next to ``path``, moved onto it once the block succeeds.

    A write that fails (a full disk, an error half-way) leaves the file that
    was at ``path`` untouched and no temporary file behind: the data are
    flushed to disk, then ``os.replace`` swaps the files in one step.

    Parameters
    ----------
    path : str
        The file to write; a symbolic link is followed (the link stays).

    Yields
    ------
    str
        The temporary file's path, in the same folder: write the output there.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_path(path) as tmp:
    ...     _ = open(tmp, "w").write("done")
    >>> open(path).read(), os.listdir(os.path.dirname(path))
    ('done', ['out.txt'])
    """
    # Through a symbolic link to the file it names: the link stays a link.
    target = Path(os.path.realpath(path))
    if target.is_file() and not os.access(target, os.W_OK):
        # os.replace would swap a read-only file as easily as any other.
        raise PermissionError(errno.EACCES, "Permission denied (read-only)", path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=target.suffix, dir=target.resolve().parent
    )
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as stream:
            os.fsync(stream.fileno())
        # mkstemp makes the file private (0600); give it the mode a new file
        # would get, or keep the mode of the file it replaces.
        mode = target.stat().st_mode if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
