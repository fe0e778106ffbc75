"""The matrix's "mistakes" column (issue 29): each classic Keras mistake, written as a small variant of a shipped
spec, ends in `modelctl validate` with exit 1 at the variant's line, or in a warning there; a mistake only the data
shows ends in `modelctl data` (or `train --dry-run`, once the classes are fitted) with exit 1 naming the spec line,
or the file and row. Never a traceback, never a silently wrong metric (see `matrix_steps.run_mistake`)."""

from __future__ import annotations

import pytest

from matrix_steps import MISTAKES, run_mistake


def _marks(mistake):
    return [pytest.mark.slow] if mistake.command == "dry-run" else []  # builds the model: TensorFlow starts


@pytest.mark.parametrize("mistake", [pytest.param(mistake, marks=_marks(mistake)) for mistake in MISTAKES],
                         ids=lambda mistake: mistake.name)
def test_each_classic_mistake_is_caught_where_it_is_written(mistake, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_mistake(mistake, tmp_path)


def test_the_column_covers_the_mistakes_of_the_issue():
    names = {mistake.name for mistake in MISTAKES}
    assert {"categorical_accuracy on class indices", "categorical_crossentropy on class indices",
            "auc on a multi-class label", "softmax on one unit", "relu before cross-entropy",
            "a frozen backbone without weights", "the label column among the features, through a glob",
            "a positive value the column never holds", "fewer units than the classes the data holds"} <= names
