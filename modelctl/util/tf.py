"""Import TensorFlow and Keras once, without their start-up chatter on the terminal."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys


@contextlib.contextmanager
def quiet_native_output(descriptors: tuple[int, ...] = (2,)):
    """Send what native code writes to the given file descriptors (stderr by default) to /dev/null.

    TensorFlow's C++ start-up prints CUDA probes and CPU notes straight to the
    descriptor, past Python's logging. Python exceptions still surface: they are
    raised, not printed, inside the block.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {descriptor: os.dup(descriptor) for descriptor in descriptors}
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for descriptor in descriptors:
            os.dup2(devnull, descriptor)
        with contextlib.ExitStack() as python_level:
            # Some of TensorFlow's notes are Python prints, which go to sys.stdout wherever it points.
            if 1 in descriptors:
                python_level.enter_context(contextlib.redirect_stdout(io.StringIO()))
            if 2 in descriptors:
                python_level.enter_context(contextlib.redirect_stderr(io.StringIO()))
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for descriptor, copy in saved.items():
            os.dup2(copy, descriptor)
            os.close(copy)
        os.close(devnull)


@functools.lru_cache(maxsize=1)
def tensorflow():
    """Return the `tensorflow` module, imported quietly with its devices initialized."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_native_output():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        tf.config.list_physical_devices()
        import keras  # noqa: F401  (imported here so its start-up is quiet too)
    return tf
