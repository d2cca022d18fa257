"""TensorFlow's start-up lines kept off the command line's stderr.

TensorFlow 2.17+ logs its start-up (oneDNN notices, CUDA probing, ``cuInit``
failing on a machine without a GPU) through Abseil from C++, before Abseil's
logging is initialised: ``TF_CPP_MIN_LOG_LEVEL`` does not reach those lines,
and a user reads "E0000 ... CUDA error" as a failure. The command line
therefore starts TensorFlow (import and device discovery) with file
descriptor 2 pointed at a temporary file, and shows what was caught only when
asked (``SKMTL_TF_LOGS=1``), when the user set ``TF_CPP_MIN_LOG_LEVEL``
themselves, or when the start failed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

__all__ = ["LOGS_VARIABLE", "start_tensorflow_quietly"]

#: Set to 1 to see TensorFlow's start-up lines from the command line.
LOGS_VARIABLE = "SKMTL_TF_LOGS"


def start_tensorflow_quietly(user_log_level: bool) -> None:
    """Import TensorFlow and discover its devices, its C++ start-up lines
    caught rather than written to stderr.

    Parameters
    ----------
    user_log_level : bool
        Whether the user set ``TF_CPP_MIN_LOG_LEVEL`` themselves: their
        setting then wins and nothing is caught.
    """
    if user_log_level or os.environ.get(LOGS_VARIABLE, "") not in ("", "0"):
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to keep quiet
        return
    with tempfile.TemporaryFile() as caught:
        failed = True
        try:
            os.dup2(caught.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()
            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if failed:  # the lines are the diagnosis: show them
                caught.seek(0)
                with contextlib.suppress(OSError, ValueError):
                    sys.stderr.write(caught.read().decode(errors="replace"))
