"""Import TensorFlow and Keras once, without their start-up chatter on the terminal."""

from __future__ import annotations

import contextlib
import functools
import os
import sys


@contextlib.contextmanager
def quiet_native_stderr():
    """Send what native code writes to file descriptor 2 to /dev/null for the duration.

    TensorFlow's C++ start-up prints CUDA probes and CPU notes straight to the
    descriptor, past Python's logging. Python exceptions still surface: they are
    raised, not printed, inside the block.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@functools.lru_cache(maxsize=1)
def tensorflow():
    """Return the `tensorflow` module, imported quietly with its devices initialized."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_native_stderr():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        tf.config.list_physical_devices()
        import keras  # noqa: F401  (imported here so its start-up is quiet too)
    return tf
