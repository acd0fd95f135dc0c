"""Smoke test: lesson L05 runs and shows the regularization claims (`--quick`)."""

import math
from pathlib import Path

NO_GAIN_SETTINGS = ("l2", "l1", "dropout", "maxnorm_dropout", "early_stopping")


def test_regularization_lesson_quick_run(run_lesson):
    run = run_lesson("05_regularization", timeout=900)
    r, out = run.results, run.out

    # SanityCheck: an untrained 10-class softmax starts near ln(10)
    assert abs(r["first_loss"] - math.log(10)) < 0.3 and r["sanity_problems"] == 0
    # bias vs variance: the unregularized model fits the small subset and overfits it
    assert r["baseline_train_accuracy"] > 0.99
    assert r["baseline_train_accuracy"] - r["baseline_val_accuracy"] > 0.05
    # the validation split (last 10,000 training images) stands in for the test set
    assert abs(r["baseline_val_minus_test"]) < 0.03
    # penalties shrink the weights
    assert r["l2_l2_norm_sq"] < 0.5 * r["baseline_l2_norm_sq"]
    assert r["l1_l1_norm"] < r["baseline_l1_norm"]
    # 002 §26: with dropout off the loss falls every epoch
    assert r["dropout_off_losses_fall_every_epoch"] is True
    # max-norm binds (the unconstrained model exceeds the limit) and holds
    assert r["max_norm_limit"] == 1.0
    assert r["dropout_largest_column_norm"] > r["max_norm_limit"]
    assert r["maxnorm_largest_column_norm"] <= r["max_norm_limit"] + 1e-4
    # early stopping stopped early and restored its best epoch's weights
    assert r["early_stopping_epochs_run"] < 12
    assert abs(r["early_stopping_val_loss"] - r["early_stopping_best_val_loss"]) < 1e-4
    # augmentation: better test accuracy by the stated 0.01, smaller gap
    assert r["augmentation_test_accuracy"] > r["baseline_test_accuracy"] + 0.01
    assert r["augmentation_test_gain"] > 0.01
    assert r["augmentation_gap"] < r["baseline_gap"]
    assert r["best_regularized_setting"] == "augmentation"
    # what does NOT happen in --quick: the other regularizers gain less than 0.01 on test
    # accuracy and stay within 0.02 of the unregularized model
    for name in NO_GAIN_SETTINGS:
        gain = r[f"{name}_test_accuracy"] - r["baseline_test_accuracy"]
        assert abs(gain - r[f"{name}_test_gain"]) < 1e-9
        assert -0.02 < gain < 0.01, (name, gain)

    for name in ("baseline", *NO_GAIN_SETTINGS, "augmentation"):
        assert (out / f"curves_{name}.png").stat().st_size > 1000
    assert (out / "test_accuracy.png").stat().st_size > 1000
    assert (Path(r["saved_model"]) / "saved_model.pb").is_file()
