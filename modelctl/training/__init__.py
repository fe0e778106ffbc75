"""Training: turning a spec's training section into Keras objects and running it.

`trainer` runs a spec's training into a run folder; `hardware` detects the devices and plans the strategy,
`execution` the steps run per call, `compile` and `schedules` build the optimizer, losses and metrics, and
`callbacks` keep the run folder. `loop` is the training loop of multi-worker runs (Keras 3's `fit` cannot run
under MultiWorkerMirroredStrategy), `cluster` what each worker of one does (its shard, its folder, the end of a
run that lost a peer), `restart` the runs a scheduler starts again (`--resume-if-exists`, the check on the
number of workers), and `remote` run folders on object storage. `distill` trains a student on a teacher,
`hparams` and `tracking` report a run to TensorBoard and MLflow.
"""
