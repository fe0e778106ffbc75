"""Hyperparameter search on Optuna: trials as ordinary runs, one study shared by workers through a storage.

    result = run_search(Settings(...), workers=2, resume=False, console=console)

`space` turns `search.parameters` into suggestions, `study` opens the study on
its storage, `trial` trains one trial, `worker` runs trials until the study has
them all, `liveness` finds the trials of workers that died and has them trained
again, `runner` starts the workers (processes here, or Ray tasks through
`modelctl.launch.ray_search`) and `report` writes what a search leaves.
"""
