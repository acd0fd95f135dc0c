"""Smoke test: lesson L03 runs with --quick and its numbers tell the lesson's story."""

from pathlib import Path


def test_optimization_lesson_quick_run(run_lesson):
    run = run_lesson("03_optimization")
    r = run.results
    out, models = run.out, run.models
    assert "== L03 optimization ==" in run.stdout

    # Figures.
    for name in ["batch_vs_minibatch", "ewma", "trajectories", "lr_decay", "mnist_optimizers"]:
        assert (out / f"{name}.png").stat().st_size > 10_000, name

    # 1. Batch GD is smooth, batch size 1 is the noisiest; iterations per epoch = ceil(m / B).
    assert r["gd_batch_cost_monotone"] is True
    assert r["gd_stochastic_cost_jitter"] > r["gd_mini-batch_cost_jitter"] > r["gd_batch_cost_jitter"]
    assert r["gd_batch_iterations_per_epoch"] == 1 and r["gd_mini-batch_iterations_per_epoch"] == 16
    # Erratum 003: batch size x iterations per epoch is m, the examples of one epoch.
    assert r["erratum_003_batch_size_times_iterations_per_epoch"] == r["erratum_003_examples_per_epoch"] == 1024

    # 2. EWMA: S_1 = (1 - beta) Y_1 without correction, Y_1 with it; correction helps early on.
    assert abs(r["ewma_0.9_raw_S1_over_Y1"] - 0.1) < 1e-9 and abs(r["ewma_0.98_raw_S1_over_Y1"] - 0.02) < 1e-9
    assert abs(r["ewma_0.9_corrected_S1_over_Y1"] - 1) < 1e-9
    for beta in ("0.9", "0.98"):
        assert r[f"ewma_{beta}_corrected_first10_abs_error"] < r[f"ewma_{beta}_raw_first10_abs_error"]
    # Erratum 004: the S_1 = Y_1 start needs no correction; correcting it anyway gives 10 * Y_1.
    assert abs(r["ewma_0.9_start_Y1_S1_over_Y1"] - 1) < 1e-9
    assert abs(r["ewma_0.9_start_Y1_then_corrected_S1_over_Y1"] - 10) < 1e-9
    assert r["ewma_0.9_start_Y1_first10_abs_error"] < r["ewma_0.9_raw_first10_abs_error"]

    # 3. Surfaces: plain SGD zig-zags on the bowl (a sign change at every step) and is the
    # slowest off the saddle.
    assert r["bowl_SGD_y_sign_changes"] == 80
    assert r["bowl_SGD_steps_to_f_below_0.01"] == -1
    assert all(r[f"bowl_{n}_steps_to_f_below_0.01"] > 0 for n in ["Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam"])
    # RMSProp does not damp the zig-zag here: it reaches f < 0.01, then rattles across the valley
    # (sign change at every late step) and ends above 0.01, no better than SGD. A step decay settles it.
    assert r["bowl_RMSProp_best_f"] < 0.01 < r["bowl_RMSProp_final_f"]
    assert r["bowl_RMSProp_y_sign_changes_last_20_steps"] == 20
    assert r["bowl_RMSProp_final_f"] >= r["bowl_SGD_final_f"]
    assert r["bowl_RMSProp-decay_final_f"] < 1e-3
    # Negative control for the sign-change count: AdaGrad crosses y = 0 at most a couple of times.
    assert r["bowl_AdaGrad_y_sign_changes"] <= 2
    escapes = {n: r[f"saddle_{n}_steps_to_escape"] for n in ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam"]}
    assert escapes["SGD"] == max(escapes.values()) and max(escapes[n] for n in ["AdaGrad", "RMSProp", "Adam"]) <= 10

    # 3a. Errata of the update rules, each run next to its correction.
    assert r["erratum_000_sgd_plus_sign_f_after_10_steps"] > r["erratum_000_sgd_start_f"]
    assert r["erratum_000_sgd_minus_sign_f_after_10_steps"] < r["erratum_000_sgd_start_f"]
    assert abs(r["erratum_004_adam_typo_over_correct_first_step"] - 10) < 0.1
    # Keras holds beta_2 = 0.999 in float32 (relative error 1.3e-5 in 1 - beta_2): hence 1e-4, not 1e-6.
    assert r["erratum_004_adam_tfcourse_vs_correct_max_relative_difference"] < 1e-4
    notes_step = r["erratum_adam_eps_notes_1e-8_first_step_over_lr"]
    assert abs(r["erratum_adam_eps_keras_mapped_first_step_over_lr"] - notes_step) < 1e-4 * notes_step
    assert r["erratum_adam_eps_keras_default_1e-7_first_step_over_lr"] < notes_step / 10
    assert r["erratum_adam_eps_keras_tf1_1e-8_first_step_over_lr"] < notes_step  # same eps, other place
    for label in ("ordinary", "tiny"):
        inside = r[f"erratum_adagrad_eps_{label}_grad_inside_first_step_over_lr"]
        assert abs(r[f"erratum_adagrad_eps_{label}_grad_tfcourse_first_step_over_lr"] - inside) < 1e-6 * inside
    ordinary_gap = 1 - r["erratum_adagrad_eps_ordinary_grad_inside_first_step_over_lr"] / r[
        "erratum_adagrad_eps_ordinary_grad_outside_first_step_over_lr"]
    assert abs(ordinary_gap) < 1e-6  # identical for ordinary gradients
    assert r["erratum_adagrad_eps_tiny_grad_outside_first_step_over_lr"] > 100 * r[
        "erratum_adagrad_eps_tiny_grad_inside_first_step_over_lr"]

    # 4. MNIST (1 epoch, 8,000 images): every optimizer within 0.85-0.95, Adam and RMSProp ahead of
    # SGD; the EWMA form of momentum is the same run as SGD momentum.
    for key in ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]:
        assert 0.85 < r[f"mnist_{key}_test_accuracy"] < 0.95, key
    assert min(r["mnist_adam_test_accuracy"], r["mnist_rmsprop_test_accuracy"]) > r["mnist_sgd_test_accuracy"]
    assert r["mnist_momentum_vs_ewma_max_loss_difference"] < 1e-4
    assert r["saved_model_optimizer"].startswith("tfcourse.optimizers.")
    assert Path(r["saved_model"]).parent == models / "03_optimization"
    assert abs(r["saved_model_reloaded_accuracy"] - r["best_optimizer_test_accuracy"]) < 1e-6

    # 5. Hessian classification.
    assert r["hessian_minimum_classified_as"] == "minimum" and r["hessian_minimum_eigenvalues"] == [1.0, 50.0]
    assert r["hessian_maximum_classified_as"] == "maximum" and r["hessian_maximum_eigenvalues"] == [-2.0, -2.0]
    assert r["hessian_saddle_classified_as"] == "saddle" and r["hessian_saddle_eigenvalues"] == [-2.0, 2.0]

    # 3b. The notes' learning-rate decays = Keras schedules (float32 rounding only).
    assert r["lr_decay_max_relative_difference_keras_vs_closed_form"] < 1e-5
    assert abs(r["lr_decay_step_half_every_5_epoch10"] - 0.025) < 1e-8
    assert abs(r["lr_decay_inverse_time_epoch10"] - 0.05) < 1e-8

    # section 6: decay schedules and ReduceLROnPlateau on a real MNIST run
    assert r["schedule_max_relative_lr_error"] < 1e-5
    decays = ("stepdecay", "exponentialdecay", "inversetimedecay", "epochinversetimedecay", "epochexponentialdecay")
    for key in ("constant", *decays):
        assert r[f"schedule_{key}_final_train_loss"] < 0.5 * r[f"schedule_{key}_first_train_loss"], key
    assert abs(r["schedule_inversetimedecay_final_train_loss"] - r["schedule_epochinversetimedecay_final_train_loss"]) < 1e-4
    assert abs(r["schedule_stepdecay_final_lr"] - 0.2 * 0.5**2) < 1e-6
    assert all(r["schedule_constant_final_train_loss"] < r[f"schedule_{key}_final_train_loss"] for key in decays)
    val_losses, rates = r["plateau_val_losses"], r["plateau_rates"]
    best, expected_cuts = val_losses[0], []
    for epoch in range(2, len(rates) + 1):  # 1-based epoch whose end may cut the rate
        if val_losses[epoch - 1] + 1e-4 < best:
            best = val_losses[epoch - 1]
        elif epoch < len(rates):
            expected_cuts.append(epoch)
    assert r["plateau_cut_epochs"] == expected_cuts and len(expected_cuts) >= 1
    for epoch in expected_cuts:
        assert abs(rates[epoch] - 0.5 * rates[epoch - 1]) < 1e-6
