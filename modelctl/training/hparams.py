"""TensorBoard's HParams dashboard: a run's settings and final metrics beside the scalar logs it already writes.

With `training.tensorboard` on, a run writes `tensorboard/hparams/`: one HParams session named after the run
folder, whose hyperparameters are the spec's values, defaults filled in, named by the paths `--set` takes (as MLflow's
parameters are; numbers stay numbers, so the dashboard can filter ranges), and whose metrics are the final metrics of each
split (`train/loss`, `test/accuracy`) at the last epoch. `tensorboard --logdir runs/<name>` then lists every run
in the dashboard. The summaries are TensorBoard's own (`tensorboard.plugins.hparams.api`), from the
`tensorboard` package.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = "hparams"
"""Where in the run's `tensorboard/` folder the session is written."""


def write_hparams(folder: Path, spec: dict, metrics: dict, *, step: int, console) -> Path | None:
    """Write the HParams session of a finished run into `<folder>/tensorboard/hparams/`; returns that folder, or
    None (saying why on `console`) when the `tensorboard` package is not installed.

    Args:
        folder: the run folder.
        spec: the spec as trained.
        metrics: the run's final metrics: split -> metric -> value.
        step: the step the final metrics are logged at (the epochs completed).
        console: where a note goes.
    """
    try:
        from tensorboard.plugins.hparams import api as hp
    except ImportError:
        console.print("note: TensorBoard's HParams dashboard needs the tensorboard package (pip install "
                      "tensorboard); the run's scalar logs are written without it", markup=False)
        return None
    from modelctl.tracking.contents import flat_metrics, resolved_spec, spec_values
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    target = Path(folder) / "tensorboard" / FOLDER
    values = {key: value if isinstance(value, (bool, int, float, str)) else str(value)
              for key, value in spec_values(resolved_spec(spec)).items()}
    writer = tf.summary.create_file_writer(str(target))
    with writer.as_default():
        hp.hparams(values, trial_id=Path(folder).name)
        for name, value in flat_metrics(metrics).items():
            tf.summary.scalar(name, value, step=step)
    writer.close()
    return target
