"""A training loop of its own for the strategies Keras's `fit` cannot drive.

    history = fit_distributed(model, strategy, train_data, epochs=10, initial_epoch=0, steps_per_epoch=8,
                              validation_dataset=validation, callbacks=[...], steps_per_execution=4)
    history["loss"], history["val_accuracy"]     # one value per epoch, as `model.fit(...).history` holds

Keras 3's `fit` cannot train under `MultiWorkerMirroredStrategy` in TensorFlow
2.21: its symbolic build reduces a distributed batch and fails on the PerReplica
values. This loop does what `fit` does with `strategy.run`, and calls the same
callbacks with the same logs, so the run's recorder, NaN guard, signal handling
and progress work unchanged. It runs under any strategy (the default one,
OneDeviceStrategy, MirroredStrategy), which is how it is tested on one machine.

What each step does, per replica: the forward pass in training mode; the
compiled loss (`model.compute_loss`: the compiled losses plus regularization and
`add_loss` terms); gradients, applied by `model.optimizer.apply_gradients`,
which sums them over every replica of every worker. The loss of a replica is its
examples' share of the global batch's mean, so the summed gradient is the one
the whole global batch gives on one device, even when the last batch does not
split evenly. Metrics (the compiled ones and `loss`) are updated per replica and
read summed over all replicas, so every worker logs the same values and its
callbacks decide alike (early stopping, learning-rate changes).

Several steps run in one call of the compiled function (`steps_per_execution`),
as `fit` runs them: a `tf.while_loop` calls `strategy.run` once per step, and the
training batch callbacks are called once per call, with the index of its first
step and of its last. Validation runs one batch per call, with test batch
callbacks for each batch (`fit` calls those once per execution too).

The training data comes in one of two forms. Global batches, the same on every
worker, of which each worker keeps its replicas' part (tf.data's DATA
auto-shard policy): every worker reads every example. Or, with `sharded=True`,
each worker's own batches of its shard of the training split, one per local
replica and step (`Prepared.dataset` under `prepare(..., shard=...)`), handed
to the replicas as they are; a replica's batch may be empty in the last steps
of an epoch, which adds nothing to the loss or the metrics. Validation and
evaluation always take global batches.
"""

from __future__ import annotations

import keras

from modelctl.util.tf import tensorflow


def fit_distributed(model, strategy, train_dataset, *, epochs: int, initial_epoch: int, steps_per_epoch: int,
                    validation_dataset=None, callbacks: list | None = None, steps_per_execution: int = 1,
                    sharded: bool = False) -> dict:
    """Train `model` under `strategy` the way `model.fit` would, and return the history.

    Args:
        model: a Keras model built and compiled under `strategy.scope()`.
        strategy: the `tf.distribute.Strategy` the model was built under.
        train_dataset: a `tf.data.Dataset` of global batches, (features, targets[, sample weights]), that
            gives epoch after epoch without ending (one iterator serves the whole run); every worker must give
            the same batches in the same order.
        epochs: the epoch to stop after (as `fit`'s `epochs`).
        initial_epoch: the epoch to start at; 0 for a new run.
        steps_per_epoch: global batches per epoch.
        validation_dataset: a finite `tf.data.Dataset` of global batches, evaluated after every epoch into
            `val_` logs; default None (no validation).
        callbacks: Keras callbacks, called as `fit` calls them; default None. A `History` callback is added.
        steps_per_execution: training steps per call of the compiled step function; default 1. It must divide
            `steps_per_epoch`, as every call runs that many steps.
        sharded: False (the default) when `train_dataset` gives global batches, the same on every worker; True
            when it gives this worker's batches of its own examples, one for each of its replicas in turn, as
            many per epoch on every worker.

    Returns:
        dict: metric name -> one value per epoch trained, as `model.fit(...).history.history`.
    """
    if steps_per_execution < 1 or steps_per_epoch % steps_per_execution:
        raise ValueError(f"Invalid value for argument `steps_per_execution`. Expected a divisor of "
                         f"steps_per_epoch={steps_per_epoch}. Received: steps_per_execution={steps_per_execution}")
    tf = tensorflow()
    with strategy.scope():
        # Compiled metrics, compiled losses and optimizer slots must be created in the strategy's scope, before
        # the step functions are traced (variables cannot be made inside `strategy.run`). `fit` does the same;
        # Keras 3 (to 3.15 at least) has no public method that builds them without running a step.
        model._symbolic_build(data_batch=train_dataset.element_spec)
    callback_list = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=False, verbose=0,
                                                 epochs=epochs, steps=steps_per_epoch, model=model)
    train_step = _train_function(tf, model, strategy, steps_per_execution=steps_per_execution)
    test_step = _test_function(tf, model, strategy)
    if sharded:
        batches = iter(strategy.distribute_datasets_from_function(lambda context: train_dataset))
    else:
        batches = iter(strategy.experimental_distribute_dataset(_shard_by_data(tf, train_dataset)))
    validation = None if validation_dataset is None else \
        strategy.experimental_distribute_dataset(_shard_by_data(tf, validation_dataset))
    validation_steps = None if validation_dataset is None else _length(validation_dataset)

    model.stop_training = False
    callback_list.on_train_begin()
    logs: dict = {}
    epoch_logs = None
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        for first in range(0, steps_per_epoch, steps_per_execution):
            callback_list.on_train_batch_begin(first)
            logs = _plain(train_step(batches))
            callback_list.on_train_batch_end(first + steps_per_execution - 1, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        if validation is not None:
            epoch_logs.update({f"val_{name}": value
                               for name, value in _evaluate(model, test_step, validation, steps=validation_steps,
                                                             callback_list=callback_list).items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    if epochs > 0 and isinstance(model.optimizer, keras.optimizers.Optimizer):
        model.optimizer.finalize_variable_values(model.trainable_weights)
    callback_list.on_train_end(logs=epoch_logs)
    return model.history.history


def _shard_by_data(tf, dataset):
    """Each worker reads the whole dataset and keeps its replicas' part of every global batch: the source is a
    generator or in-memory tensors, not files that could be divided among workers."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _loss_metric(model):
    """The metric that averages the loss over an epoch: the compiled model's metric named `loss` (the first of
    `Model.metrics`), which `fit` updates in its own step and this step updates the same way."""
    return next(metric for metric in model.metrics if metric.name == "loss")


def _train_function(tf, model, strategy, *, steps_per_execution: int):
    replicas = strategy.num_replicas_in_sync
    loss_metric = _loss_metric(model)

    def replica_step(data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        size = _batch_size(tf, x)
        share = _share_of_global_batch(tf, size, replicas)
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            # Keras divides the whole loss by the replicas (`scale_loss_for_distribution`), which averages the
            # replicas' own means; weighting the data term by this replica's share of the global batch makes
            # the summed gradient that of the global batch's mean. Regularization counts once in all.
            loss = model.compute_loss(x, y, y_pred, sample_weight, training=True)
            logged = loss * replicas
            extra = _additional_losses(tf, model, loss.dtype) / replicas
            loss = (loss - extra) * tf.cast(share, loss.dtype) + extra
            scaled = model.optimizer.scale_loss(loss)
        loss_metric.update_state(logged, sample_weight=size)
        gradients = tape.gradient(scaled, model.trainable_weights)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_weights))
        model.compute_metrics(x, y, y_pred, sample_weight)

    @tf.function
    def step(iterator):
        # The batch is taken inside the function, as `fit` does: its batch dimension stays unknown, which some
        # Keras metrics read (the per-output losses weight each batch alike when it is).
        if steps_per_execution == 1:
            strategy.run(replica_step, args=(next(iterator),))
        else:
            # A loop in the graph rather than one unrolled copy of the step per step: the function is traced
            # and compiled once, whatever the count.
            for _ in tf.range(steps_per_execution):
                strategy.run(replica_step, args=(next(iterator),))
        # Read in cross-replica context: every metric is summed over all replicas of all workers.
        return model.get_metrics_result()

    return step


def _test_function(tf, model, strategy):
    replicas = strategy.num_replicas_in_sync
    loss_metric = _loss_metric(model)

    def replica_step(data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        y_pred = model(x, training=False)
        loss = model.compute_loss(x, y, y_pred, sample_weight, training=False)
        loss_metric.update_state(loss * replicas, sample_weight=_batch_size(tf, x))
        model.compute_metrics(x, y, y_pred, sample_weight)

    @tf.function
    def step(iterator):
        strategy.run(replica_step, args=(next(iterator),))
        return model.get_metrics_result()

    return step


def _evaluate(model, test_step, dataset, *, steps: int | None, callback_list) -> dict:
    """One pass over `dataset` (`steps` batches, or until it ends when None); the metrics as
    `model.evaluate(..., return_dict=True)` gives them."""
    tf = tensorflow()
    callback_list.on_test_begin()
    model.reset_metrics()
    logs: dict = {}
    batches = iter(dataset)
    step = 0
    while steps is None or step < steps:
        # Like `evaluate`, a dataset of unknown length is known to have ended only when a batch is asked for.
        callback_list.on_test_batch_begin(step)
        try:
            logs = _plain(test_step(batches))
        except (StopIteration, tf.errors.OutOfRangeError):
            break
        callback_list.on_test_batch_end(step, logs)
        step += 1
    callback_list.on_test_end(logs)
    return logs


def evaluate_distributed(model, strategy, dataset) -> dict:
    """Loss and compiled metrics of `model` on `dataset` (global batches), as `model.evaluate(...,
    return_dict=True)` gives them, under a strategy `evaluate` cannot run under (MultiWorkerMirroredStrategy).

    Args:
        model: a compiled Keras model built under `strategy.scope()`.
        strategy: the `tf.distribute.Strategy` the model was built under.
        dataset: a finite `tf.data.Dataset` of (features, targets[, sample weights]) global batches, the same on
            every worker.
    """
    tf = tensorflow()
    with strategy.scope():
        # As in `train`: no public Keras 3 method (to 3.15 at least) builds the compiled metrics.
        model._symbolic_build(data_batch=dataset.element_spec)
    distributed = strategy.experimental_distribute_dataset(_shard_by_data(tf, dataset))
    return _evaluate(model, _test_function(tf, model, strategy), distributed, steps=_length(dataset),
                     callback_list=keras.callbacks.CallbackList())


def _length(dataset) -> int | None:
    """Batches in a finite dataset; None when tf.data cannot tell without reading it (a generator)."""
    count = int(dataset.cardinality())
    return count if count >= 0 else None


def _batch_size(tf, x):
    return tf.shape(tf.nest.flatten(x)[0])[0]


def _share_of_global_batch(tf, size, replicas: int):
    """This replica's examples over the global batch's, times the replicas (1 when the batch splits evenly)."""
    size = tf.cast(size, tf.float32)
    total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, size)
    return tf.math.divide_no_nan(size * replicas, total)


def _additional_losses(tf, model, dtype):
    """Regularization and `add_loss` terms of the last forward pass, summed, unscaled."""
    losses = [tf.reduce_sum(tf.cast(loss, dtype)) for loss in model.losses]
    return tf.add_n(losses) if losses else tf.zeros((), dtype)


def _plain(logs) -> dict:
    return {name: float(value) for name, value in sorted(logs.items())}
