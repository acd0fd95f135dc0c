"""Lesson L05: its `--quick` run shows the mechanics; its full run (3 seeds) shows the gains.

The quick run (200 images, 3 epochs) is too short for any regularizer to pay off, so the test
accuracy gains are checked on the committed full run, benchmarks/results/lessons/05_regularization.json
(written by `python benchmarks/lessons.py --only 05_regularization --seeds 0 1 2`), seed by seed.
"""

import json
import math
from pathlib import Path

import pytest

REGULARIZED = ("l2", "l1", "dropout", "maxnorm_dropout", "early_stopping", "augmentation")
MARGIN = 0.01  # test accuracy a regularized setting must gain over the unregularized MLP, every seed
FULL_RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "lessons" / "05_regularization.json"


def test_regularization_lesson_quick_run(run_lesson):
    run = run_lesson("05_regularization", timeout=600)
    r, out = run.results, run.out

    # SanityCheck: an untrained 10-class softmax starts near ln(10)
    assert abs(r["first_loss"] - math.log(10)) < 0.3 and r["sanity_problems"] == 0
    # about a fifth of the training labels are made wrong (a fixed draw, the same for every seed)
    assert 0.1 * r["train_images"] < r["wrong_labels"] < 0.3 * r["train_images"]
    # penalties shrink the weights (the full run checks that L2 halves the squared norm)
    assert r["l2_l2_norm_sq"] < r["baseline_l2_norm_sq"]
    assert r["l1_l1_norm"] < r["baseline_l1_norm"]
    # 002 §26: with dropout off the loss falls every epoch
    assert r["dropout_off_losses_fall_every_epoch"] is True
    # max-norm binds (the unconstrained model exceeds the limit) and holds
    assert r["max_norm_limit"] == 1.0
    assert r["dropout_largest_column_norm"] > r["max_norm_limit"]
    assert r["maxnorm_largest_column_norm"] <= r["max_norm_limit"] + 1e-4
    # early stopping ends with the weights of its lowest validation loss
    assert abs(r["early_stopping_val_loss"] - r["early_stopping_best_val_loss"]) < 1e-4
    # the printed gains are test accuracy minus the unregularized model's
    for name in REGULARIZED:
        assert abs(r[f"{name}_test_gain"] - (r[f"{name}_test_accuracy"] - r["baseline_test_accuracy"])) < 1e-9
    assert r["best_regularized_setting"] == max(REGULARIZED, key=lambda n: r[f"{n}_test_accuracy"])

    for name in ("baseline", *REGULARIZED):
        assert (out / f"curves_{name}.png").stat().st_size > 1000
    assert (out / "test_accuracy.png").stat().st_size > 1000
    assert (Path(r["saved_model"]) / "saved_model.pb").is_file()


def _beats_baseline(r, name):
    return r[f"{name}_test_accuracy"] - r["baseline_test_accuracy"] > MARGIN


def _full_run_seeds():
    document = json.loads(FULL_RUN.read_text())
    assert document["quick"] is False and sorted(document["seeds"]) == [0, 1, 2]
    return document["per_seed"]


@pytest.mark.parametrize("name", REGULARIZED)
def test_every_regularizer_beats_the_unregularized_model_on_every_seed(name):
    for run in _full_run_seeds():
        r = run["results"]
        assert _beats_baseline(r, name), (run["seed"], name, r[f"{name}_test_accuracy"] - r["baseline_test_accuracy"])


def test_the_unregularized_model_degrades_after_its_peak_on_every_seed():
    # Early stopping can only win if validation accuracy falls after its best epoch.
    for run in _full_run_seeds():
        r = run["results"]
        assert r["baseline_best_epoch"] < r["baseline_epochs_run"]
        assert r["baseline_best_val_accuracy"] - r["baseline_val_accuracy"] > 0.02, run["seed"]
        assert (
            abs(r["baseline_val_accuracy_drop_after_peak"] - (r["baseline_best_val_accuracy"] - r["baseline_val_accuracy"]))
            < 1e-6
        )


def test_early_stopping_restored_an_earlier_epoch_on_every_seed():
    for run in _full_run_seeds():
        r = run["results"]
        assert r["early_stopping_best_epoch"] < r["early_stopping_epochs_run"] < r["baseline_epochs_run"]
        assert abs(r["early_stopping_val_loss"] - r["early_stopping_best_val_loss"]) < 1e-4


def test_a_setting_that_does_not_beat_the_baseline_is_caught():
    # Negative control for the margin check: the same results with L2 gaining only half the margin.
    r = _full_run_seeds()[0]["results"]
    assert _beats_baseline(r, "l2")
    assert not _beats_baseline(dict(r, l2_test_accuracy=r["baseline_test_accuracy"] + MARGIN / 2), "l2")
