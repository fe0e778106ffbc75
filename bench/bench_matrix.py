"""Time every family through every command: tests/test_matrix.py, with each step's seconds saved.

    python bench/bench_matrix.py

Runs the end-to-end matrix (tests/test_matrix.py for specs/, tests/test_matrix_examples.py for the
examples: validate, validate --deep, summary, train for one epoch of three steps, eval, export --format
all, predict on the run and every artifact) in one pytest process, and writes the seconds of every step
to bench/results/matrix.json. Figures include the time each
command takes in-process, not Python's and TensorFlow's start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "bench" / "results" / "matrix.json"


def main() -> None:
    RESULT.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
                   str(ROOT / "tests" / "test_matrix.py"), str(ROOT / "tests" / "test_matrix_examples.py")]
        subprocess.run(command, check=True, cwd=ROOT, env={**os.environ, "MODELCTL_MATRIX_TIMINGS": folder,
                                                           "TF_CPP_MIN_LOG_LEVEL": "3"})
        families = {**json.loads((Path(folder) / "specs.json").read_text()),
                    **json.loads((Path(folder) / "examples.json").read_text())}
    RESULT.write_text(json.dumps({"families": families}, indent=2) + "\n")
    for name, steps in families.items():
        print(f"{name:40s} {sum(steps.values()):7.1f} s  " + "  ".join(f"{step} {value:.1f}"
                                                                       for step, value in steps.items()))


if __name__ == "__main__":
    main()
