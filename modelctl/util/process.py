"""Starting and ending the process of a command.

    limit_malloc_arenas()    # first thing: fewer malloc arenas, less memory kept by TensorFlow's threads
    run_and_exit(app)        # runs the command, then ends the process with its exit code

With TensorFlow loaded, Python's own shutdown takes 1.5-2 s after the last line of a command: the
interpreter frees every object and module one by one, TensorFlow's included (measured on `modelctl
train` of a 200,000-row table on 2 cores: 1.8 s between the command's return and the process's end).
Nothing in it is work a command needs done, so when TensorFlow is loaded the process ends right after
what a normal exit does first: it waits for the threads that are still running, runs the exit functions
(`atexit`: logging, MLflow, temporary folders) and flushes the standard streams.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Callable, NoReturn


M_ARENA_MAX = -8
"""glibc's `mallopt` parameter for the most malloc arenas (`malloc.h`)."""


def limit_malloc_arenas() -> None:
    """Let glibc's malloc keep at most one arena a CPU core, unless `MALLOC_ARENA_MAX` says otherwise.

    By default glibc gives each of TensorFlow's many threads an arena of its own, up to eight a core, and freed
    memory stays in each: on 2 cores, training one epoch from a 2 GiB CSV peaked 25 MB higher with them, and
    the resident memory kept growing through the epoch. Called first thing, before any thread starts; on
    another C library it does nothing.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(M_ARENA_MAX, os.cpu_count() or 1)


def run_and_exit(command: Callable[[], object]) -> NoReturn:
    """Call `command` (such as a Typer app), then end the process with its exit code.

    A `SystemExit` from `command` gives the code as `sys.exit` would: None is 0, an integer is itself, any
    other value is printed to stderr and gives 1. Any other exception propagates, with its traceback.
    """
    try:
        command()
    except SystemExit as done:
        code = done.code
    else:
        code = 0
    exit_process(code)


def exit_process(code: object = 0) -> NoReturn:
    """End the process with `code` (as `sys.exit(code)` would), without Python's shutdown of every object when
    TensorFlow is loaded; a normal `sys.exit` otherwise, where that shutdown is quick."""
    if "tensorflow" not in sys.modules:
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    # What Python's shutdown does before it frees objects: wait for non-daemon threads (and run what
    # `threading._register_atexit` holds, such as concurrent.futures' joins), then the exit functions.
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(status)
