"""Benchmark every export format and quantization of a trained CNN: size, latency, accuracy.

    python bench/bench_export.py [--epochs 40]

Trains specs/small-cnn.yaml (digits, 8x8) for --epochs epochs, then runs
`modelctl export RUN --benchmark`: SavedModel, TFLite (float32, dynamic, float16, int8) and ONNX, each
verified in its own runtime on the held-out split. Writes bench/results/export.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["modelctl", "train", str(ROOT / "specs" / "small-cnn.yaml"), "--quiet", "--output", folder,
                        "--set", f"training.epochs={args.epochs}"], check=True, capture_output=True)
        run = sorted(Path(folder, "small-cnn").iterdir())[-1]
        done = subprocess.run(["modelctl", "export", str(run), "--benchmark"], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"export failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        results = json.loads((run / "benchmark.json").read_text())
        for row in results["results"]:
            if row.get("metric"):
                name, value, keras_value = row["metric"] if isinstance(row["metric"], list) else (
                    row["metric"]["name"], row["metric"]["artifact"], row["metric"]["keras"])
                row["metric"] = {"name": name, "artifact": value, "keras": keras_value}
        results["model"] = (f"specs/small-cnn.yaml trained {args.epochs} epochs; each file is compared with the Keras "
                            f"model on the first {results.get('examples', 64)} examples of the test split (Keras "
                            f"accuracy there {results['results'][0]['metric']['keras']:.4f}); latency is the median "
                            "of single-example calls.")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "export.json").write_text(json.dumps(results, indent=2) + "\n")
    for row in results["results"]:
        print(f"{row['format']:12s} {row['quantization']:8s} {row['size_bytes'] / 1024:9.1f} KiB "
              f"{row['latency_ms']:.3f} ms  accuracy {row['metric']['artifact']:.4f}")


if __name__ == "__main__":
    main()
