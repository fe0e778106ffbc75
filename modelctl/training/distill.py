"""Knowledge distillation (`training.distillation`): the spec's model, the student, learns from the true labels
and from a trained teacher's softened class probabilities.

    trained = distiller(document, prepared, student, output_names=["digit"], arguments=compile_arguments(...))
    trained.fit(...)          # trains the student's weights; the teacher's stay as they are
    student.save(...)         # the run keeps the student alone

As in the Keras example "Knowledge Distillation" (keras.io/examples/vision/knowledge_distillation), a model made
for training only calls the student and overrides `compute_loss`:

    loss = alpha * label_loss + (1 - alpha) * temperature**2 * KL(teacher_T || student_T)

where `label_loss` is the spec's compiled loss on the true labels, `X_T = softmax(log(p_X) / temperature)`
softens a model's probabilities `p_X` (its logits over the temperature when its loss says `from_logits: true`),
and regularization penalties are added once, unweighted. Both models read the same raw features of each batch
(the teacher sees them without the student's augmentation, which runs inside the student). On the validation
split the loss is the label loss alone, so `val_loss` means what it means without distillation; the distillation
loss is logged beside it (`distillation_loss`, `val_distillation_loss`).

The student and this model share one optimizer, so the student's checkpoints keep its state and a resumed run
continues where it stopped.
"""

from __future__ import annotations

from pathlib import Path

import keras
from keras import ops

from modelctl.errors import ModelctlError, SpecError
from modelctl.spec.teacher import Teacher, read_teacher
from modelctl.spec.typed import Spec

EPSILON = 1e-20
"""Probabilities are clipped to [EPSILON, 1] before their logarithm is taken. Small, because a larger floor
gives every class the teacher rules out a softened weight of its own (1e-7 at temperature 4 gives each
e^-4, 0.018 of the top class's): targets flatter than the teacher's. Yet not so small that the gradient of the
logarithm, 1 / p, overflows float32 before the softmax's own gradient (p times a bounded factor) meets it."""

TEACHER_PATH = ("training", "distillation", "teacher")


class Distiller(keras.Model):
    """A student and a frozen teacher, trained on the loss above; it is never saved.

    Args:
        student: the spec's model (raw features in, one output).
        teacher: a callable from the dict of the teacher's raw features to its output for the label.
        teacher_inputs: the names of the features the teacher reads.
        temperature: softening temperature, above 0; default 4.0.
        alpha: weight of the label loss, in [0, 1]; default 0.1.
        student_logits: the student's outputs are logits, not probabilities; default False.
        teacher_logits: the teacher's outputs are logits, not probabilities; default False.
    """

    def __init__(self, student, teacher, *, teacher_inputs: list[str], temperature: float = 4.0, alpha: float = 0.1,
                 student_logits: bool = False, teacher_logits: bool = False):
        super().__init__(name=f"{student.name}_distillation")
        self.student = student
        self.teacher = teacher
        self.teacher_inputs = list(teacher_inputs)
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.student_logits = student_logits
        self.teacher_logits = teacher_logits
        self.distillation_tracker = keras.metrics.Mean(name="distillation_loss")

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)

    def _softened(self, outputs, logits: bool):
        outputs = ops.cast(outputs, "float32")
        if not logits:
            outputs = ops.log(ops.clip(outputs, EPSILON, 1.0))
        return ops.log_softmax(outputs / self.temperature, axis=-1)

    def distillation_loss(self, x, y_pred, sample_weight=None):
        """temperature² × KL divergence from the teacher's softened probabilities to the student's, averaged over
        the batch (each example weighted by `sample_weight` when given)."""
        taught = self.teacher({name: x[name] for name in self.teacher_inputs})
        teacher_log = ops.stop_gradient(self._softened(taught, self.teacher_logits))
        student_log = self._softened(y_pred, self.student_logits)
        divergence = ops.sum(ops.exp(teacher_log) * (teacher_log - student_log), axis=-1)
        if sample_weight is not None:
            divergence = divergence * ops.cast(ops.reshape(sample_weight, ops.shape(divergence)), "float32")
        return ops.mean(divergence) * self.temperature ** 2

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        total = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        distilled = self.distillation_loss(x, y_pred, sample_weight)
        # Weighted by the batch's examples, as Keras weighs the loss it logs: the two average alike over an epoch.
        self.distillation_tracker.update_state(distilled, sample_weight=ops.shape(y_pred)[0])
        if not training:
            return total
        penalties = [ops.sum(ops.cast(loss, "float32")) for loss in self.losses]
        labels = ops.cast(total, "float32") - (ops.sum(ops.stack(penalties)) if penalties else 0.0)
        return ops.cast(total, "float32") + (1.0 - self.alpha) * (distilled - labels)


def teacher_of(document) -> Teacher | None:
    """The teacher the spec names (`training.distillation.teacher`), or None without distillation.

    Raises:
        SpecError: the teacher cannot be read, at its line in the spec.
    """
    from modelctl.spec.teacher import TeacherError

    section = document.spec.training.distillation
    if section is None:
        return None
    try:
        return read_teacher(section.teacher, document.base_dir)
    except TeacherError as error:
        raise SpecError([document.diagnostic(TEACHER_PATH, str(error))]) from None


def fingerprint(teacher: Teacher) -> str:
    """The content hash of the teacher's model files (the run's model file, or every file of the SavedModel
    folder): `modelctl.data.fingerprints.content_digest`, the data's own fingerprint."""
    from modelctl.data.fingerprints import content_digest

    return content_digest(teacher.model_file)


def record(document) -> dict | None:
    """What the run's record keeps of the distillation: the teacher (folder, kind, fingerprint), temperature and alpha."""
    teacher = teacher_of(document)
    if teacher is None:
        return None
    section = document.spec.training.distillation
    return {"teacher": str(teacher.folder.resolve()), "kind": teacher.kind, "fingerprint": fingerprint(teacher),
            "temperature": section.temperature, "alpha": section.alpha}


def check_resumed(document, recorded: dict | None, *, run_dir: Path) -> None:
    """Refuse to resume a distilled run whose teacher is not the one it started with.

    Args:
        document: the run's own spec.
        recorded: what the run's record keeps of the distillation (`record`), or None.
        run_dir: the run folder being resumed, for the message.

    Raises:
        RunError: the teacher's model files hash to another fingerprint than `recorded`'s.
    """
    from modelctl.runs import RunError

    teacher = teacher_of(document)
    if teacher is None or not recorded or not recorded.get("fingerprint"):
        return
    if fingerprint(teacher) != recorded["fingerprint"]:
        raise RunError(f"{run_dir}: the teacher {teacher.folder} has changed since this run started (its model files "
                       f"no longer hash to the recorded fingerprint {recorded['fingerprint'][:12]}...); a resumed run "
                       "must learn from the same teacher: restore it, or start a new run")


def _from_logits(spec: Spec) -> bool:
    loss = spec.training.loss
    return isinstance(loss, dict) and loss.get("from_logits") is True


def load_teacher(teacher: Teacher, label: str):
    """(callable from raw features to the teacher's output for `label`, its input name -> (shape, dtype))."""
    if teacher.kind == "run":
        from modelctl.model.saving import load_model

        model = load_model(teacher.model_file)
        model.trainable = False
        inputs = {tensor.name: (tuple(tensor.shape[1:]), str(tensor.dtype)) for tensor in model.inputs}
        return (lambda features: model(features, training=False)), inputs
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    loaded = tf.saved_model.load(str(teacher.model_file))
    signature = loaded.signatures["serving_default"]
    _, specs = signature.structured_input_signature
    inputs = {name: (tuple(spec.shape[1:]), spec.dtype.name) for name, spec in specs.items()}
    outputs = list(signature.structured_outputs)
    key = label if label in outputs else outputs[0]
    # The function holds the loaded object: its variables go when it does.
    return (lambda features: loaded.signatures["serving_default"](**features)[key]), inputs


def distiller(document, prepared, student, *, output_names: list[str], arguments: dict):
    """The model `fit` trains instead of `student`: a `Distiller` compiled with `arguments` (those of the
    student, whose optimizer it shares), under the current strategy scope.

    Raises:
        SpecError: the teacher reads inputs the data does not give alike, or knows other classes than the data
            gives, at the teacher's line in the spec.
    """
    teacher = teacher_of(document)
    settings = document.spec.training.distillation
    fitted = prepared.fitted
    [label] = fitted.label_names
    ours = fitted.labels[label].classes
    theirs = teacher.labels[label].classes if label in teacher.labels else None
    if ours != theirs:
        raise SpecError([document.diagnostic(TEACHER_PATH, f"the teacher's classes of '{label}' are {theirs} but "
                                                           f"this spec's data gives {ours}; the classes, and their "
                                                           "order, must be the same")])
    try:
        call, inputs = load_teacher(teacher, label)
    except (ModelctlError, KeyError, OSError, ValueError) as error:  # a damaged model, a SavedModel without a
        # serving signature
        raise SpecError([document.diagnostic(TEACHER_PATH, f"the teacher {teacher.model_file} cannot be loaded: "
                                                           f"{error}")]) from None
    features, _ = prepared.signature(output_names)[:2]
    for name, (shape, dtype) in inputs.items():
        given = features.get(name)
        if given is None or not _fits(shape, tuple(given.shape[1:])) or given.dtype.name != dtype:
            shown = "nothing" if given is None else f"shape {tuple(given.shape[1:])}, {given.dtype.name}"
            raise SpecError([document.diagnostic(TEACHER_PATH, f"the teacher takes '{name}' as shape {shape}, "
                                                               f"{dtype}; this spec's data gives {shown}")])
    model = Distiller(student, call, teacher_inputs=list(inputs), temperature=settings.temperature,
                      alpha=settings.alpha, student_logits=_from_logits(document.spec),
                      teacher_logits=teacher.from_logits)
    model.compile(**{**arguments, "optimizer": student.optimizer})
    return model


def _fits(expected: tuple, given: tuple) -> bool:
    return len(expected) == len(given) and all(a is None or b is None or a == b for a, b in zip(expected, given))


__all__ = ["Distiller", "distiller", "fingerprint", "load_teacher", "record", "teacher_of"]
