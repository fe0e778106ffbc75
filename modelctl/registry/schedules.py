"""Learning-rate schedules: the names a spec can give `training.schedule`.

    schedule: {type: cosine_decay, warmup_epochs: 2}

Durations are in epochs (fractions allowed); the trainer turns them into steps.
The schedule starts from the optimizer's `learning_rate`, and from the end of
the warm-up when there is one: its durations count from there. Each target is
a builder in `modelctl.training.schedules` that takes the run first and these
arguments after it (warm-up aside, which `build_schedule` adds around it).
Entries with required arguments carry example values in `meta["example"]`.
"""

from modelctl.registry import args
from modelctl.registry.base import Entry, Registry


def epochs(description: str, default=args.REQUIRED) -> dict:
    return args.number(description, default, exclusive_minimum=0)


def alpha() -> dict:
    return args.number("Lowest learning rate, as a fraction of the initial one.", 0.0, minimum=0, maximum=1)


def warmup_args() -> dict:
    """Arguments every schedule takes."""
    return {
        "warmup_epochs": args.number("Epochs of linear warm-up, from warmup_start_factor times the schedule's "
                                     "initial value up to it; the schedule's durations count from its end. 0 "
                                     "for none.", 0,
                                     minimum=0),
        "warmup_start_factor": args.number("Learning rate at the first step of the warm-up, as a fraction of "
                                           "the schedule's initial value.", 0.0, minimum=0, maximum=1),
    }


def _schedule(name: str, description: str, *, own: dict, example: dict | None = None) -> Entry:
    meta = {"example": example} if example else {}
    return Entry(name, f"modelctl.training.schedules:{name}", description, {**own, **warmup_args()}, meta=meta)


def _numbers(description: str, min_items: int, bound: dict) -> dict:
    """A required list of numbers within `bound` (`args` has no helper for lists of numbers)."""
    return {"description": description, "type": "array", "items": {"type": "number", **bound},
            "minItems": min_items}


def _decay_rate() -> dict:
    return args.number("Factor of the decay per decay_epochs.", exclusive_minimum=0)


def _staircase() -> dict:
    return args.boolean("Whether to decay in steps, once every decay_epochs, instead of continuously.", False)


SCHEDULES = Registry("schedule", [
    _schedule("constant", "Keeps the optimizer's learning rate (after the warm-up, if any).", own={}),
    _schedule("piecewise", "Constant learning rates between boundaries; the optimizer's learning_rate is not "
                           "used.", own={
        "boundaries": _numbers("Epochs at which the learning rate changes, in increasing order.", 1,
                               {"exclusiveMinimum": 0}),
        "values": _numbers("Learning rate before the first boundary, between each pair and after the last: one "
                           "more value than boundaries.", 2, {"minimum": 0}),
    }, example={"boundaries": [1, 2], "values": [0.1, 0.01, 0.001]}),
    _schedule("exponential", "Exponential decay: `lr * decay_rate ** (epoch / decay_epochs)`.", own={
        "decay_epochs": epochs("Epochs over which the learning rate is multiplied by decay_rate once."),
        "decay_rate": _decay_rate(),
        "staircase": _staircase(),
    }, example={"decay_epochs": 1, "decay_rate": 0.5}),
    _schedule("polynomial", "Polynomial decay from the learning rate to end_learning_rate.", own={
        "decay_epochs": epochs("Epochs the decay takes; null for the whole run (after any warm-up).", None),
        "end_learning_rate": args.number("Learning rate at the end of the decay.", 0.0001, minimum=0),
        "power": args.number("Power of the polynomial; 1 decays linearly.", 1.0, exclusive_minimum=0),
        "cycle": args.boolean("Whether to start the decay again, over a longer span, after decay_epochs; "
                              "otherwise the rate stays at end_learning_rate.", False),
    }),
    _schedule("inverse_time", "Inverse time decay: `lr / (1 + decay_rate * epoch / decay_epochs)`.", own={
        "decay_epochs": epochs("Epochs that make one unit of decay."),
        "decay_rate": _decay_rate(),
        "staircase": _staircase(),
    }, example={"decay_epochs": 1, "decay_rate": 0.5}),
    _schedule("cosine_decay", "Cosine decay from the learning rate to alpha times it.", own={
        "decay_epochs": epochs("Epochs the decay takes; null for the whole run (after any warm-up).", None),
        "alpha": alpha(),
    }),
    _schedule("cosine_decay_restarts", "Cosine decay with warm restarts (SGDR): each period decays from the "
                                       "(scaled) learning rate and starts again.", own={
        "first_decay_epochs": epochs("Epochs of the first period."),
        "t_mul": args.number("Each period lasts this many times the one before.", 2.0, exclusive_minimum=0),
        "m_mul": args.number("Each period starts at this many times the previous period's initial rate.",
                             1.0, exclusive_minimum=0),
        "alpha": alpha(),
    }, example={"first_decay_epochs": 1}),
    _schedule("one_cycle", "One-cycle policy: cosine rise from max_learning_rate / div_factor up to "
                           "max_learning_rate, then cosine fall to a far smaller rate at the end of the run.", own={
        "max_learning_rate": args.number("Peak learning rate; null for the optimizer's learning_rate.", None,
                                         exclusive_minimum=0),
        "pct_start": args.number("Fraction of the run spent rising.", 0.3, exclusive_minimum=0,
                                 exclusive_maximum=1),
        "div_factor": args.number("The run starts at max_learning_rate / div_factor.", 25.0, minimum=1),
        "final_div_factor": args.number("The run ends at the starting rate / final_div_factor.", 1e4, minimum=1),
    }),
])
