"""Smoke test: lesson L02 runs and shows its multi-layer / activation claims (`--quick`)."""

from pathlib import Path

NONLINEAR = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout")


def test_multilayer_lesson_quick_run(run_lesson):
    run = run_lesson("02_multilayer")
    r = run.results

    # tf.matmul hidden layer == Dense hidden layer, given the same weights
    assert r["matmul_vs_dense_max_logit_difference"] < 1e-5
    assert r["matmul_vs_dense_max_gradient_difference"] < 1e-5
    # three linear layers are one (784, 10) matrix; trained, the stack stays below the linear limit
    assert r["linear_stack_vs_one_matrix_max_relative_difference"] < 1e-5
    assert r["linear_stack_one_matrix_shape"] == "(784, 10)"
    assert r["activation_linear_test_accuracy"] < 0.93
    for activation in ("tanh", "relu", "leaky_relu", "elu", "maxout"):
        assert r[f"activation_{activation}_test_accuracy"] > r["activation_linear_test_accuracy"], activation
    # parameter counts: 784*128+128 + 128*128+128 + 128*10+10; Maxout's Dense layers are twice as wide
    assert r["activation_relu_parameters"] == 784 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10
    for activation in NONLINEAR[:-1]:
        assert r[f"activation_{activation}_parameters"] == r["activation_relu_parameters"]
    assert 1.9 <= r["maxout_over_relu_parameters"] <= 2.1
    # vanishing gradients in the deep sigmoid net, not in the ReLU (He) net
    assert r["deep_sigmoid_first_over_last_hidden_gradient_norm"] < 1e-2
    assert r["deep_relu_first_over_last_hidden_gradient_norm"] > 0.1
    # exploding: N(0, 1) init blows the activations up and the loss to NaN; He init does not
    assert r["explode_normal_1.0_activation_std_growth"] > 1e6
    assert 1 <= r["explode_normal_1.0_first_nan_step"] <= 10
    assert r["explode_he_normal_first_nan_step"] == -1
    assert r["explode_he_normal_first_loss"] < 5
    # dead ReLUs after a too-high learning rate
    assert r["dead_relu_fraction_lr_0.05"] < 0.05
    assert r["dead_relu_fraction_lr_2.0"] > 0.5
    # tanh reaches the fixed loss in fewer epochs than sigmoid
    assert r["tanh_epochs_to_loss_0.5"] < r["sigmoid_epochs_to_loss_0.5"]
    assert r["tanh_epochs_to_loss_0.5"] <= 5
    assert r["sigmoid_epochs_to_loss_0.5"] > 10
    # the best MLP (quick: 1 epoch on 10,000 images)
    assert r["best_mlp_epochs"] == 1
    assert r["best_mlp_test_accuracy"] > 0.88

    for figure in ("activations.png", "vanishing_gradients.png"):
        assert (run.out / figure).stat().st_size > 1000
    assert (Path(r["saved_model"]) / "saved_model.pb").is_file()
    assert Path(r["saved_model"]).parent == run.models / "02_multilayer"
