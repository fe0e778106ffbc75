"""Optimizers: the names a spec can give `training.optimizer`.

    optimizer: adam
    optimizer: {type: adamw, learning_rate: 0.0003, weight_decay: 0.05, clipnorm: 1.0}

Arguments and defaults are those of the Keras 3 optimizer classes. `name` is
left out: modelctl names the optimizer itself.
"""

from modelctl.registry import args
from modelctl.registry.base import Entry, Registry


def learning_rate(default: float) -> dict:
    return args.number("Step size of each update; with a `training.schedule` it is the schedule's initial value.",
                       default, exclusive_minimum=0)


def epsilon() -> dict:
    return args.number("Small constant added to the denominator for numerical stability.", 1e-7, minimum=0)


def betas(beta_2: float = 0.999) -> dict:
    return {
        "beta_1": args.number("Decay rate of the moving average of gradients (first moment).", 0.9,
                              minimum=0, exclusive_maximum=1),
        "beta_2": args.number("Decay rate of the moving average of squared gradients (second moment).", beta_2,
                              minimum=0, exclusive_maximum=1),
    }


def adam_args(amsgrad: bool = True) -> dict:
    """What Adam and its variants take besides the learning rate."""
    result = {**betas(), "epsilon": epsilon()}
    if amsgrad:
        result["amsgrad"] = args.boolean("Whether to use the AMSGrad variant, which keeps the largest second "
                                         "moment seen so far.", False)
    return result


def shared_args(weight_decay: float | None = None) -> dict:
    """Arguments every Keras optimizer takes after its own, in Keras's order."""
    def clip(what: str) -> dict:
        return args.number(f"{what}; null for no clipping. Give at most one of clipnorm, clipvalue and "
                           "global_clipnorm.", None, exclusive_minimum=0)

    return {
        "weight_decay": args.number("Decoupled weight decay: each update also shrinks every weight by "
                                    "learning_rate * weight_decay; null for none.", weight_decay, minimum=0),
        "clipnorm": clip("Largest L2 norm of each variable's gradient"),
        "clipvalue": clip("Largest absolute value of each gradient element"),
        "global_clipnorm": clip("Largest L2 norm of all gradients taken together"),
        "use_ema": args.boolean("Whether to keep an exponential moving average of the weights, which replaces "
                                "them at the end of training.", False),
        "ema_momentum": args.number("Momentum of that moving average (only with use_ema).", 0.99,
                                    minimum=0, maximum=1),
        "ema_overwrite_frequency": args.integer("Copy the moving average into the weights every this many "
                                                "steps (only with use_ema); null copies it once, at the end of "
                                                "training.", None, minimum=1),
        "loss_scale_factor": args.number("Constant the loss is multiplied by before computing gradients, which "
                                         "are divided by it again (guards float16 against underflow); null "
                                         "for none.", None, exclusive_minimum=0),
        "gradient_accumulation_steps": args.integer("Update the weights every this many batches, with the mean "
                                                    "of their gradients (a larger effective batch); null "
                                                    "updates after every batch.", None, minimum=2),
    }


def _optimizer(name: str, target: str, description: str, *, own: dict, rate: float = 0.001,
               weight_decay: float | None = None) -> Entry:
    arguments = {"learning_rate": learning_rate(rate), **own, **shared_args(weight_decay)}
    return Entry(name, f"keras.optimizers:{target}", description, arguments)


def _accumulator() -> dict:
    return args.number("Starting value of the per-weight sums of squared gradients.", 0.1, minimum=0)


def _ftrl_args() -> dict:
    def strength(what: str) -> dict:
        return args.number(f"Strength of the {what} penalty.", 0.0, minimum=0)

    return {
        "learning_rate_power": args.number("How the learning rate falls as squared gradients accumulate: 0 "
                                           "keeps it fixed, -0.5 divides it by their root.", -0.5, maximum=0),
        "initial_accumulator_value": _accumulator(),
        "l1_regularization_strength": strength("L1"),
        "l2_regularization_strength": strength("L2"),
        "l2_shrinkage_regularization_strength": strength("L2 shrinkage (a magnitude penalty, unlike the L2 "
                                                         "stabilization one)"),
        "beta": args.number("Added to the denominator of the per-weight learning rates.", 0.0, minimum=0),
    }


OPTIMIZERS = Registry("optimizer", [
    _optimizer("sgd", "SGD", "Stochastic gradient descent, with optional (Nesterov) momentum.", own={
        "momentum": args.number("Fraction of the previous update added to the current one; 0 for plain SGD.",
                                0.0, minimum=0, maximum=1),
        "nesterov": args.boolean("Whether to use Nesterov momentum.", False),
    }, rate=0.01),
    _optimizer("adam", "Adam", "Adam: adaptive step sizes from running estimates of the gradients' first and "
                               "second moments.", own=adam_args()),
    _optimizer("adamw", "AdamW", "Adam with decoupled weight decay.", own=adam_args(), weight_decay=0.004),
    _optimizer("rmsprop", "RMSprop", "RMSprop: divides the gradient by a running root mean square of recent "
                                     "gradients.", own={
        "rho": args.number("Decay rate of the running mean of squared gradients.", 0.9, minimum=0, maximum=1),
        "momentum": args.number("Momentum of the updates; 0 for none.", 0.0, minimum=0, maximum=1),
        "epsilon": epsilon(),
        "centered": args.boolean("Whether to normalize by the estimated variance instead of the second moment "
                                 "(more stable, slower).", False),
    }),
    _optimizer("adagrad", "Adagrad", "Adagrad: per-weight step sizes that shrink as squared gradients "
                                     "accumulate.", own={
        "initial_accumulator_value": _accumulator(),
        "epsilon": epsilon(),
    }),
    _optimizer("adadelta", "Adadelta", "Adadelta: per-weight step sizes from running averages of gradients and "
                                       "updates.", own={
        "rho": args.number("Decay rate of the running averages.", 0.95, minimum=0, maximum=1),
        "epsilon": epsilon(),
    }),
    _optimizer("adamax", "Adamax", "Adamax: Adam with the infinity norm in place of the second moment.",
               own=adam_args(amsgrad=False)),
    _optimizer("nadam", "Nadam", "Nadam: Adam with Nesterov momentum.", own=adam_args(amsgrad=False)),
    _optimizer("lion", "Lion", "Lion: updates of equal size for every weight, in the sign of a momentum of "
                               "the gradients; usually wants a 3-10x smaller learning rate than Adam.", own={
        "beta_1": args.number("Weight of the momentum against the current gradient in each update's sign.",
                              0.9, exclusive_minimum=0, maximum=1),
        "beta_2": args.number("Decay rate of the momentum kept between updates.", 0.99, minimum=0, maximum=1),
    }),
    _optimizer("ftrl", "Ftrl", "FTRL-Proximal: follow-the-regularized-leader, suited to wide, sparse models.",
               own=_ftrl_args()),
])
