"""Benchmark `modelctl validate` against check-jsonschema on the same files and schema.

    python bench/bench_validate.py [--copies 500] [--repeats 5]

Measures, through the installed console scripts (so start-up is included):
  - one spec through `modelctl validate` (median wall time of --repeats runs),
  - --copies specs in one `modelctl validate` call,
  - the same files with `check-jsonschema --schemafile schemas/modelctl.schema.json`,
and prints the figures and the ratio (also written to bench/results/validate.json).
Targets: one spec < 0.5 s, 500 specs < 3 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "resnet-cnn.yaml"


def timed(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if result.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command[:3])} failed: {result.stderr[-2000:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    modelctl = shutil.which("modelctl") or sys.exit("modelctl is not installed")
    figures = {"machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory() as folder:
        text = SPEC.read_text().replace("../examples", str(ROOT / "examples"))
        files = []
        for index in range(options.copies):
            path = Path(folder) / f"spec_{index:04d}.yaml"
            path.write_text(text.replace("name: resnet-cnn", f"name: resnet-cnn-{index}"))
            files.append(str(path))
        figures["one_spec_s"] = timed([modelctl, "validate", files[0]], options.repeats)
        figures["many_specs"] = options.copies
        figures["many_specs_s"] = timed([modelctl, "validate", folder], max(1, options.repeats // 2))
        checker = shutil.which("check-jsonschema")
        if checker:
            schema = str(ROOT / "schemas" / "modelctl.schema.json")
            figures["check_jsonschema_one_s"] = timed([checker, "--schemafile", schema, files[0]], options.repeats)
            figures["check_jsonschema_many_s"] = timed([checker, "--schemafile", schema, *files],
                                                       max(1, options.repeats // 2))
            figures["ratio_one"] = figures["one_spec_s"] / figures["check_jsonschema_one_s"]
            figures["ratio_many"] = figures["many_specs_s"] / figures["check_jsonschema_many_s"]
    print(json.dumps(figures, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "validate.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"one spec: {figures['one_spec_s']:.3f} s (target < 0.5 s)")
    print(f"{options.copies} specs: {figures['many_specs_s']:.3f} s (target < 3 s)")
    if "ratio_many" in figures:
        print(f"check-jsonschema: one {figures['check_jsonschema_one_s']:.3f} s, {options.copies} "
              f"{figures['check_jsonschema_many_s']:.3f} s; modelctl/check-jsonschema = "
              f"{figures['ratio_one']:.2f} (one), {figures['ratio_many']:.2f} (many)")


if __name__ == "__main__":
    main()
