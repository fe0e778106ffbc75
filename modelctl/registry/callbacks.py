"""Callbacks: the keys of `training` that switch a callback on.

    training:
      early_stopping: {monitor: val_accuracy, patience: 5}
      tensorboard: true

Arguments and defaults are those of the Keras 3 callback classes, with three
kinds of exception. `verbose` is left out: the command line's verbosity decides
it. Paths (`log_dir`, `filename`) are left out: modelctl writes into the run's
folder, and meta["set_by_trainer"] names them. Where modelctl's default
differs from Keras's, meta["keras_defaults"] gives Keras's value.
"""

from modelctl.registry import args
from modelctl.registry.base import Entry, Registry


def monitor() -> dict:
    return args.string("Logged value to watch, such as val_loss or val_accuracy (val_ values need a validation "
                       "split).", "val_loss")


def mode() -> dict:
    return args.choice(["auto", "min", "max"], "Whether the monitored value should fall (min) or rise (max); auto "
                                               "infers it from the name.", "auto")


def min_delta(default: float) -> dict:
    return args.number("Smallest change of the monitored value that counts as an improvement.", default, minimum=0)


def patience(default: int) -> dict:
    return args.integer("Epochs without improvement to wait before acting.", default, minimum=0)


def _early_stopping() -> Entry:
    return Entry("early_stopping", "keras.callbacks:EarlyStopping",
                 "Stops training when the monitored value stops improving.", {
                     "monitor": monitor(),
                     "min_delta": min_delta(0.0),
                     "patience": patience(0),
                     "mode": mode(),
                     "baseline": args.number("Value the monitored value must beat; training stops if it does "
                                             "not within patience epochs. Null for none.", None),
                     "restore_best_weights": args.boolean("Whether to restore the weights of the best epoch when "
                                                          "training stops. Default true, unlike Keras's false: "
                                                          "the model kept is the best one seen.", True),
                     "start_from_epoch": args.integer("Epochs to train before watching for improvement (a "
                                                      "warm-up).", 0, minimum=0),
                 },
                 meta={"keras_defaults": {"restore_best_weights": False}})


def _checkpoint() -> Entry:
    # The trainer always keeps the last epoch (to resume from); these arguments decide the best-epoch copy.
    return Entry("checkpoint", "modelctl.training.callbacks:RunRecorder",
                 "Saves the model during training: the best epoch so far and the last one.", {
                     "monitor": monitor(),
                     "mode": mode(),
                     "save_best": args.boolean("Whether to keep the model of the best epoch by the monitored "
                                               "value.", True),
                     "save_last": args.boolean("Whether to keep the model of the latest epoch, to resume "
                                               "from.", True),
                 })


def _reduce_lr_on_plateau() -> Entry:
    return Entry("reduce_lr_on_plateau", "keras.callbacks:ReduceLROnPlateau",
                 "Multiplies the learning rate by factor when the monitored value stops improving; it cannot be "
                 "combined with `training.schedule`.", {
                     "monitor": monitor(),
                     "factor": args.number("Factor the learning rate is multiplied by.", 0.1, exclusive_minimum=0,
                                           exclusive_maximum=1),
                     "patience": patience(10),
                     "mode": mode(),
                     "min_delta": min_delta(0.0001),
                     "cooldown": args.integer("Epochs to wait after a reduction before watching again.", 0,
                                              minimum=0),
                     "min_lr": args.number("Lowest learning rate it reduces to.", 0.0, minimum=0),
                 })


def _tensorboard() -> Entry:
    return Entry("tensorboard", "keras.callbacks:TensorBoard",
                 "Writes logs for TensorBoard into the run's folder.", {
                     "histogram_freq": args.integer("Write histograms of the weights every this many epochs; "
                                                    "0 for none.", 0, minimum=0),
                     "write_graph": args.boolean("Whether to write the model's graph.", True),
                     "update_freq": args.any_of([{"enum": ["epoch", "batch"]}, {"type": "integer", "minimum": 1}],
                                                "How often to write losses and metrics: every epoch, every "
                                                "batch, or every this many batches.", "epoch"),
                 },
                 meta={"set_by_trainer": ["log_dir"]})


def _csv_logger() -> Entry:
    return Entry("csv_logger", "keras.callbacks:CSVLogger",
                 "Writes each epoch's losses and metrics to a CSV file in the run's folder.", {
                     "separator": args.string("Column separator.", ","),
                     "append": args.boolean("Whether to add to an existing file (when resuming) instead of "
                                            "overwriting it.", False),
                 },
                 meta={"set_by_trainer": ["filename"]})


CALLBACKS = Registry("callback", [_early_stopping(), _checkpoint(), _reduce_lr_on_plateau(), _tensorboard(),
                                  _csv_logger()])
