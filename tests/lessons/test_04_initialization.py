"""Smoke test: lesson L04 reproduces the initialization claims (`--quick`)."""

from pathlib import Path


def test_initialization_lesson_quick_run(run_lesson):
    run = run_lesson("04_initialization")
    r = run.results
    out, models = run.out, run.models

    # N(0, 0.01): the variance shrinks by fan_in * 0.01**2 = 0.05 per layer, collapsing.
    assert abs(r["normal_0.01_tanh_mean_ratio_per_layer"] - 0.05) < 0.005
    assert r["normal_0.01_tanh_var_layer10"] < 1e-11
    assert r["normal_0.01_tanh_var_layer1"] > 1e3 * r["normal_0.01_tanh_var_layer8"]
    # the notes' magnitude (~1e-25 at layer 8) when fan_in * Var(w) = 1e-3
    assert 1e-26 < r["notes_scale_tanh_var_layer8"] < 1e-23
    # Xavier (tanh) and He (ReLU) keep the signal alive through all 10 layers
    assert all(r[f"xavier_tanh_var_layer{i}"] > 0.03 for i in range(1, 11))
    assert all(0.3 < r[f"he_relu_var_layer{i}"] < 3.0 for i in range(1, 11))
    assert r["xavier_relu_var_layer10"] < 0.1 * r["he_relu_var_layer10"]
    # All-zero init: symmetry never breaks, training goes nowhere
    assert r["mlp_zeros_tanh_distinct_hidden_units"] == 1
    assert r["mlp_zeros_sigmoid_distinct_hidden_units"] == 1
    assert r["mlp_zeros_tanh_val_accuracy"] < 0.2
    assert r["mlp_xavier_tanh_distinct_hidden_units"] == 64
    assert r["mlp_xavier_tanh_val_accuracy"] > 0.7

    assert (out / "variance_per_layer.png").stat().st_size > 1000
    assert (out / "activation_histograms.png").stat().st_size > 1000
    assert (Path(r["saved_model"]) / "saved_model.pb").is_file()
    assert Path(r["saved_model"]).parent == models / "04_initialization"
