"""Launchers: a spec's training or search run by an engine that starts, watches and restarts its workers.

`ray_train` runs `modelctl train` on a Ray cluster through Ray Train's TensorflowTrainer, and `ray_search` runs
`modelctl search`'s workers as Ray tasks on one study. Both connect through `modelctl.util.raycluster`, and
leave the same run folders and study folders a local command does.
"""
