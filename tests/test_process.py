"""A command run through `run_and_exit` ends as a normal exit would: its exit code, its flushed output, its exit
functions and its threads, also when TensorFlow is loaded and Python's slow shutdown is skipped."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = r"""
import atexit, pathlib, sys, threading, time
if sys.argv[1] == "tensorflow":
    import tensorflow
from modelctl.util.process import run_and_exit

folder = pathlib.Path(sys.argv[2])
atexit.register(lambda: (folder / "atexit").write_text("ran"))

def later():
    time.sleep(0.3)
    (folder / "thread").write_text("finished")

def command():
    threading.Thread(target=later).start()
    print("no newline at the end", end="")
    raise SystemExit(eval(sys.argv[3]))

run_and_exit(command)
"""


@pytest.mark.parametrize("loaded, code, status, stderr", [
    ("tensorflow", "'bye'", 1, "bye\n"),  # one process with TensorFlow: its import takes seconds
    ("nothing", "3", 3, ""),
    ("nothing", "None", 0, ""),
])
def test_the_process_ends_with_the_commands_code_output_exit_functions_and_threads(tmp_path, loaded, code, status,
                                                                                    stderr):
    done = subprocess.run([sys.executable, "-c", SCRIPT, loaded, str(tmp_path), code], capture_output=True, text=True,
                          timeout=120, env={"TF_CPP_MIN_LOG_LEVEL": "3", **__import__("os").environ})
    assert (done.returncode, done.stdout, done.stderr[-len(stderr):] if stderr else "") == \
        (status, "no newline at the end", stderr)
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "finished"
