"""Samplers and pruners of a hyperparameter search: the names `search.sampler` and `search.pruner` take.

    search:
      sampler: tpe                                  # or {type: tpe, n_startup_trials: 5}
      pruner: {type: median, n_warmup_steps: 2}

Each entry builds an Optuna object (imported only when a search runs). The
sampler's seed is the spec's `seed`, so a search is reproducible; the grid
sampler's search space is the parameters' values, so neither appears among
the arguments here. meta["discrete_only"] marks a sampler that needs every
parameter discrete (`grid`).
"""

from modelctl.registry import args
from modelctl.registry.base import Entry, Registry

SAMPLERS = Registry("sampler", [
    Entry("grid", "optuna.samplers:GridSampler",
          "Every combination of the parameters' values, in a shuffled order; every parameter must be discrete "
          "(`choice`, or `int`).", meta={"discrete_only": True}),
    Entry("random", "optuna.samplers:RandomSampler", "Independent uniform draws from each parameter's range."),
    Entry("tpe", "optuna.samplers:TPESampler",
          "Tree-structured Parzen estimator: random for the first trials, then draws where good trials lie.", {
              "n_startup_trials": args.integer("Trials drawn at random before the estimator is used.", 10,
                                               minimum=0),
              "n_ei_candidates": args.integer("Candidates scored for each draw.", 24, minimum=1),
              "multivariate": args.boolean("Model the parameters jointly rather than one by one.", False),
          }),
    Entry("cmaes", "optuna.samplers:CmaEsSampler",
          "Covariance matrix adaptation evolution strategy over the numeric parameters (`choice` parameters are "
          "drawn at random).", {
              "n_startup_trials": args.integer("Trials drawn at random before the strategy is used.", 1, minimum=0),
              "sigma0": args.number("Initial standard deviation; null for a sixth of the ranges.", None,
                                    exclusive_minimum=0),
              "popsize": args.integer("Population size; null for the strategy's default.", None, minimum=1),
          }),
])
"""Samplers by name: how each trial's parameters are chosen."""

PRUNERS = Registry("pruner", [
    Entry("none", "optuna.pruners:NopPruner", "Every trial trains to the end."),
    Entry("median", "optuna.pruners:MedianPruner",
          "Stops a trial whose metric at an epoch is worse than the median of earlier trials at that epoch.", {
              "n_startup_trials": args.integer("Trials that complete before any is pruned.", 5, minimum=0),
              "n_warmup_steps": args.integer("Epochs of each trial that are never pruned.", 0, minimum=0),
              "interval_steps": args.integer("Epochs between two pruning checks.", 1, minimum=1),
          }),
    Entry("hyperband", "optuna.pruners:HyperbandPruner",
          "Successive halving over several budgets: most trials stop after a few epochs, the best go on.", {
              "min_resource": args.integer("Epochs every trial trains before it may be stopped.", 1, minimum=1),
              "reduction_factor": args.integer("Fraction (1/N) of trials kept at each rung.", 3, minimum=2),
          }),
])
"""Pruners by name: when a trial is stopped early on its per-epoch metric."""
