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

    # 2. EWMA: S_1 = (1 - beta) Y_1 without correction, Y_1 with it; correction helps early on.
    assert abs(r["ewma_0.9_raw_S1_over_Y1"] - 0.1) < 1e-9 and abs(r["ewma_0.98_raw_S1_over_Y1"] - 0.02) < 1e-9
    assert abs(r["ewma_0.9_corrected_S1_over_Y1"] - 1) < 1e-9
    for beta in ("0.9", "0.98"):
        assert r[f"ewma_{beta}_corrected_first10_abs_error"] < r[f"ewma_{beta}_raw_first10_abs_error"]

    # 3. Surfaces: plain SGD zig-zags on the bowl and is the slowest off the saddle.
    assert r["bowl_SGD_y_sign_changes"] >= 60
    assert r["bowl_SGD_steps_to_f_below_0.01"] == -1
    assert all(r[f"bowl_{n}_steps_to_f_below_0.01"] > 0 for n in ["Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam"])
    escapes = {n: r[f"saddle_{n}_steps_to_escape"] for n in ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam"]}
    assert escapes["SGD"] == max(escapes.values()) and max(escapes[n] for n in ["AdaGrad", "RMSProp", "Adam"]) <= 10

    # 4. MNIST: every optimizer learns; the EWMA form of momentum is the same run as SGD momentum.
    for key in ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]:
        assert r[f"mnist_{key}_test_accuracy"] > 0.8, key
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
