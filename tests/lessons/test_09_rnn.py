"""Smoke test: lesson L09 runs and shows the recurrent-network claims (`--quick`)."""

from pathlib import Path

import numpy as np
import tensorflow as tf


def test_rnn_lesson_quick_run(run_lesson):
    run = run_lesson("09_rnn")
    r, out, models = run.results, run.out, run.models

    # 1. k days concatenated into Dense(32) vs one SimpleRNN(32) cell over 3 features
    for days in (3, 7, 12, 30, 365):
        assert r[f"weather_{days}_days_dense_params"] == 3 * days * 32 + 32
        assert r[f"weather_{days}_days_rnn_params"] == 32 * 32 + 3 * 32 + 32 == 1152
    assert r["weather_3_days_dense_params"] < r["weather_3_days_rnn_params"]  # the notes' 3 days
    assert r["weather_7_days_dense_params"] < 1152 < r["weather_12_days_dense_params"]
    assert r["shared_cell_output_shape_3_days"] == r["shared_cell_output_shape_365_days"] == "(2, 32)"

    # 2-3. from-scratch cell == Keras cell; hand-unrolled time-major loop == keras.layers.RNN
    assert r["cell_kernel_shape"] == "(44, 16)"
    assert r["cell_vs_keras_step_max_difference"] < 1e-5
    assert r["time_major_loop_vs_keras_rnn_max_difference"] < 1e-5
    assert r["notes_layout_shape"] == "(28, 4, 28)" and r["keras_layout_shape"] == "(4, 28, 28)"
    assert r["cell_step_input_shape"] == "(4, 28)" and r["cell_step_hidden_shape"] == "(4, 16)"

    # 4. stacked layers: hidden state (num_layers, batch, hidden)
    assert r["stacked_output_shape"] == "(4, 28, 16)"
    assert r["stacked_hidden_state_shape"] == "(3, 4, 16)"
    assert r["stacked_top_last_output_vs_final_state"] == 0.0

    # 5. "hello" -> "ohlol" learned exactly
    assert r["hello_prediction"] == "ohlol"
    assert 1 <= r["hello_first_epoch_exact"] <= 30

    # 6. MNIST rows: closed-form parameter counts (128 units, 28 features) and learning
    assert r["mnist_simple_rnn_recurrent_params"] == 128 * 128 + 28 * 128 + 128 == 20_096
    assert r["mnist_lstm_recurrent_params"] == 4 * (128 * 128 + 28 * 128 + 128) == 80_384
    assert r["mnist_gru_recurrent_params"] == 3 * (128 * 128 + 28 * 128 + 2 * 128) == 60_672  # reset_after
    for name in ("simple_rnn", "lstm", "gru"):
        assert r[f"mnist_{name}_params"] == r[f"mnist_{name}_recurrent_params"] + 1_290
    for name in ("lstm", "gru"):
        assert r[f"mnist_{name}_test_accuracy"] > 0.5
    assert r["mnist_simple_rnn_test_accuracy"] > 0.3

    # 7. linear cell: ||dL/dh_t|| / ||dL/dh_T|| = g^(T-t)
    for gain in (0.5, 1.0, 1.5):
        assert r[f"linear_gain_{gain}_max_relative_error_vs_closed_form"] < 1e-3
        np.testing.assert_allclose(r[f"linear_gain_{gain}_norm_ratio_first_step"], gain**27, rtol=1e-3)
    assert r["relu_rnn_gain_2.0_initial_gradient_norm"] > 100 * r["relu_rnn_gain_1.0_initial_gradient_norm"]
    # clipping: one SGD(1.0) step
    norm = r["clip_gradient_global_norm"]
    assert norm > 10
    np.testing.assert_allclose(r["clip_none_update_global_norm"], norm, rtol=1e-4)
    np.testing.assert_allclose(r["clip_global_clipnorm_update_global_norm"], 1.0, rtol=1e-4)
    assert r["clip_clipnorm_update_max_variable_norm"] < 1.0 + 1e-4
    np.testing.assert_allclose(r["clip_clipnorm_update_max_variable_norm"], 1.0, rtol=1e-4)
    assert r["clip_clipnorm_update_global_norm"] > 1.0 + 1e-3  # per variable, not global
    # IRNN with SGD(0.05): dead at chance without clipping, learning with it
    assert abs(r["irnn_none_final_loss"] - np.log(10)) < 0.01 or not np.isfinite(r["irnn_none_final_loss"])
    assert r["irnn_none_val_accuracy"] < 0.2
    for label in ("global_clipnorm", "clipnorm"):
        assert r[f"irnn_{label}_final_loss"] < 2.2
        assert r[f"irnn_{label}_val_accuracy"] > r["irnn_none_val_accuracy"] + 0.15

    for figure in ("mnist_rows.png", "gradient_norms_through_time.png"):
        assert (out / figure).stat().st_size > 1000
    saved = Path(r["saved_model"])
    assert saved.parent == models / "09_rnn" and (saved / "saved_model.pb").is_file()
    # Plain TensorFlow serves the exported LSTM on (N, 28, 28) uint8 images
    served = tf.saved_model.load(str(saved)).signatures["serving_uint8_hw"](
        images=tf.zeros((2, 28, 28), tf.uint8)
    )
    probabilities = served["probabilities"].numpy()
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
