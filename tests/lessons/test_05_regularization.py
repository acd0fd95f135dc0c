"""Smoke test: lesson L05 runs and shows the regularization claims (`--quick`)."""

import math
from pathlib import Path


def test_regularization_lesson_quick_run(run_lesson):
    run = run_lesson("05_regularization", timeout=900)
    r, out = run.results, run.out

    # SanityCheck: an untrained 10-class softmax starts near ln(10)
    assert abs(r["first_loss"] - math.log(10)) < 0.3 and r["sanity_problems"] == 0
    # bias vs variance: the unregularized model overfits the small subset
    assert r["baseline_train_accuracy"] - r["baseline_val_accuracy"] > 0.05
    # penalties shrink the weights
    assert r["l2_l2_norm_sq"] < 0.5 * r["baseline_l2_norm_sq"]
    assert r["l1_l1_norm"] < r["baseline_l1_norm"]
    # 002 §26: with dropout off the loss falls every epoch
    assert r["dropout_off_losses_fall_every_epoch"] is True
    # max-norm holds
    assert r["maxnorm_largest_column_norm"] <= 3.0 + 1e-4
    # early stopping restored its best epoch's weights
    assert r["early_stopping_epochs_run"] < 12
    assert abs(r["early_stopping_val_loss"] - r["early_stopping_best_val_loss"]) < 1e-4
    # augmentation: better test accuracy, smaller gap
    assert r["augmentation_test_accuracy"] > r["baseline_test_accuracy"] + 0.01
    assert r["augmentation_gap"] < r["baseline_gap"]

    for name in ("baseline", "l2", "l1", "dropout", "maxnorm_dropout", "early_stopping", "augmentation"):
        assert (out / f"curves_{name}.png").stat().st_size > 1000
    assert (out / "test_accuracy.png").stat().st_size > 1000
    assert (Path(r["saved_model"]) / "saved_model.pb").is_file()
