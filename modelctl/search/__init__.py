"""Hyperparameter search on Optuna: trials as ordinary runs, one study shared by workers through a storage.

    result = run_search(Settings(...), workers=2, resume=False, console=console)

`space` turns `search.parameters` into suggestions, `study` opens the study on
its storage, `trial` trains one trial, `worker` runs trials until the study has
them all, `runner` starts the workers and `report` writes what a search leaves.
"""
