"""Import TensorFlow and Keras once, without their start-up chatter on the terminal."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading


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


_importing = threading.Lock()
_imported: list = []
"""The `tensorflow` module once imported, or the exception its import raised."""
_background: list[threading.Thread] = []


def tensorflow():
    """Return the `tensorflow` module, imported quietly with its devices initialized; the import started by
    `import_in_background`, when there is one, is waited for."""
    if not _imported:
        with _importing:
            if not _imported:
                with quiet_native_output():
                    _import()
    return _result()


def import_in_background() -> None:
    """Start importing TensorFlow and Keras on a thread of its own, so that work not needing them (reading and
    preparing data) runs meanwhile; `tensorflow()` then waits for it.

    The import is silenced as `tensorflow()` silences it, which sends the whole process's stderr to /dev/null
    meanwhile: the other threads must not write there until `wait_for_import()` returns (call it before
    reporting an error). The thread is not a daemon: a process that ends meanwhile waits for the import to end
    rather than stopping inside it.
    """
    if _imported or _background:
        return

    def run():
        with _importing:
            if not _imported:
                with quiet_native_output():
                    _import()

    thread = threading.Thread(target=run, name="import-tensorflow")
    _background.append(thread)
    thread.start()


def wait_for_import() -> None:
    """Return once the import `import_in_background` started has ended (at once when there is none)."""
    for thread in _background:
        thread.join()


def _import() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        tf.config.list_physical_devices()
        import keras  # noqa: F401  (imported here so its start-up is quiet too)
    except BaseException as error:  # raised again to whoever asks for the module
        _imported.append(error)
        return
    _imported.append(tf)


def _result():
    if isinstance(_imported[0], BaseException):
        raise _imported[0]
    return _imported[0]
