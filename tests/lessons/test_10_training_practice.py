"""Smoke test: lesson L10 runs with --quick and each printed claim holds."""

import math
from pathlib import Path


def test_training_practice_lesson_quick_run(run_lesson):
    run = run_lesson("10_training_practice")
    r = run.results
    assert "== L10 training practice ==" in run.stdout

    # 1. Gradient check: float64 good, float32 useless, kink reported, a 10% bug caught.
    assert r["gradcheck_float64_max_error"] < 1e-7 and r["gradcheck_float64_verdict"] == "good"
    assert r["gradcheck_float32_max_error"] > 1e-4
    assert r["kink_crossings"] == 1 and r["kink_centered_relative_error"] > 1e-2 and r["kink_check_passed"] is True
    assert r["buggy_gradient_max_error"] > 1e-2 and r["buggy_gradient_verdict"] == "wrong"

    # 2. Sanity checks.
    assert r["sanity_passed"] is True
    assert abs(r["initial_loss"] - math.log(10)) < 0.1 * math.log(10)
    assert r["overfit_20_steps"] <= 300 and r["random_labels_overfit_20_steps"] <= 300

    # 3. Learning-rate regimes: the good rate ends far below both the too-low and the too-high one.
    assert r["lr_0.001_final_loss"] < 0.5 * min(r["lr_1e-06_final_loss"], r["lr_1_final_loss"])
    assert r["lr_1e-06_final_loss"] > 0.9 * math.log(10)  # barely moved from chance

    # 3b. Update/weight ratio orders the regimes, the good one near the notes' 1e-3.
    ratios = [r[f"lr_{lr}_first_epoch_update_ratio"] for lr in ("1e-06", "0.001", "1")]
    assert ratios[0] < ratios[1] < ratios[2] and 1e-3 / 20 <= ratios[1] <= 1e-3 * 20
    assert r["activation_table_layers"] >= 3 and 0 <= r["hidden_dead_relu_fraction"] < 0.5
    for name in ["training_curves", "first_layer_weights"]:
        assert (run.out / f"{name}.png").stat().st_size > 10_000, name
    assert (run.out / "update_ratios_lr_0.001.json").is_file()

    # 3c. Curvature: a saddle region at initialization (both signs).
    assert r["hessian_init_largest_eigenvalue"] > 0 > r["hessian_init_smallest_eigenvalue"]
    assert r["hessian_trained_largest_eigenvalue"] > 0

    # 4. Search: the best rate lies inside the range, not at its edge, and beats chance clearly.
    assert 0.1 < r["search_best_position_in_range"] < 0.9
    assert r["search_best_val_accuracy"] > 0.8
    for name in ["learning_rate_regimes", "random_search"]:
        assert (run.out / f"{name}.png").stat().st_size > 10_000, name
    assert (run.out / "search_coarse.csv").read_text().startswith("trial,learning_rate,score")

    # 5. Ensembles of seeds: averaged probabilities beat the best single model on test loss.
    assert r["ensemble_three_seeds_averaged_test_loss"] < r["best_single_test_loss"]
    assert Path(r["saved_model"]).parent == run.models / "10_training_practice"
