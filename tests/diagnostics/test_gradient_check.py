"""gradient_check: the notes' verdict bands, a wrong gradient caught, kinks reported [001 §1]."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.diagnostics import gradient_check, relative_error, verdict


def _data(n=6, features=4, classes=3, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, features), rng.randint(0, classes, n)


def _mlp(activation="tanh", **dense_kwargs):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation=activation, **dense_kwargs),
                             keras.layers.Dense(3)])


LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@pytest.mark.parametrize("error, expected", [(0.5, "wrong"), (1e-3, "suspicious"), (1e-5, "fine for kinked activations"),
                                             (1e-9, "good"), (0.0, "good")])
def test_verdict_bands_of_the_notes(error, expected):
    assert verdict(error) == expected


def test_relative_error_closed_form_and_zero_denominator():
    assert relative_error(1.0, 1.1) == pytest.approx(0.1 / 1.1)
    assert relative_error(-2.0, 2.0) == pytest.approx(2.0)
    assert relative_error(0.0, 0.0) == 0.0
    assert relative_error(1e-12, 0.0) == 0.0  # both below the floor: zero, not a 100% error


def test_correct_model_passes_in_float64_with_every_bias_checked():
    x, y = _data()
    report = gradient_check(_mlp(), x, y, loss=LOSS, samples=8)
    assert report.passed and report.verdict == "good" and report.max_error < 1e-7
    biases = [r for r in report.rows if r["variable"].endswith("bias")]
    assert len(biases) == 5 + 3  # every coordinate of both biases
    assert "passed" in str(report) and "dense" in str(report)


def test_float32_is_far_worse_than_float64():
    """The notes' contrast [001 §1]: the same check loses most digits in float32."""
    x, y = _data()
    in32 = gradient_check(_mlp(), x, y, loss=LOSS, dtype="float32", step=1e-4)
    in64 = gradient_check(_mlp(), x, y, loss=LOSS, dtype="float64", step=1e-6)
    assert in32.max_error > 1e-4 > 1e-7 > in64.max_error


@tf.custom_gradient
def _tanh_with_wrong_gradient(x):
    y = tf.tanh(x)
    return y, lambda dy: dy * (1 - y * y) * 1.1  # 10% too large


def test_ten_percent_wrong_custom_gradient_fails():
    x, y = _data()
    model = _mlp(activation=_tanh_with_wrong_gradient)
    report = gradient_check(model, x, y, loss=LOSS)
    assert not report.passed and report.verdict == "wrong" and report.max_error > 1e-2
    assert not report.kinks  # a wrong gradient is not mistaken for a kink
    # Control: the same net with the true tanh passes.
    assert gradient_check(_mlp(activation="tanh"), x, y, loss=LOSS).passed


def test_relu_input_on_a_kink_is_reported_not_failed():
    h = 1e-6
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, activation="relu", name="hidden"),
                              keras.layers.Dense(1, name="out")])
    # Input 1000; unit 0's pre-activation sits ~300h above 0, so moving its weight by +-h moves it by
    # +-1000h, across the kink; its bias moves it by only +-h and stays on the smooth side. Unit 1 is
    # dead (pre-activation -1000), so the loss stays small and round-off does not blur the check.
    model.set_weights([np.array([[1.0, 1.0]]), np.array([-1000.0 + 300 * h, -2000.0]), np.array([[2.0], [3.0]]),
                       np.array([0.1])])
    report = gradient_check(model, np.array([[1000.0]]), np.array([[0.0]]), loss=lambda t, p: tf.reduce_sum(p),
                            step=h, samples=10)
    assert [(r["variable"].split("/")[-2:], r["index"]) for r in report.kinks] == [(["hidden", "kernel"], (0, 0))]
    assert report.kinks[0]["relative_error"] > 1e-2  # it would read as "wrong" without the kink test
    assert report.passed and len(report.checked_rows) == len(report.rows) - 1


def test_regularization_is_checked_apart_from_the_data_loss():
    @tf.custom_gradient
    def wrong_square_sum(w):
        return tf.reduce_sum(w * w), lambda dy: dy * 2.0 * w * 0.8  # 20% too small

    x, y = _data()
    model = _mlp(kernel_regularizer=lambda w: 0.1 * wrong_square_sum(tf.convert_to_tensor(w)))
    report = gradient_check(model, x, y, loss=LOSS)
    worst = {part: max(r["relative_error"] for r in report.rows if r["part"] == part) for part in
             ("data loss", "regularization")}
    assert worst["data loss"] < 1e-7 and worst["regularization"] > 1e-2
    good = gradient_check(_mlp(kernel_regularizer=keras.regularizers.L2(0.1)), x, y, loss=LOSS)
    assert good.passed and {r["part"] for r in good.rows} == {"data loss", "regularization"}


def test_dropout_in_training_mode_sees_fixed_masks():
    x, y = _data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dropout(0.5),
                              keras.layers.Dense(3)])
    assert gradient_check(model, x, y, loss=LOSS, training=True).passed


def test_function_and_variables():
    w = tf.Variable(np.array([1.0, -2.0, 0.5]))
    report = gradient_check(lambda: tf.reduce_sum(w**3), variables=[w])
    assert report.passed
    np.testing.assert_allclose([r["analytic"] for r in report.rows], 3 * w.numpy() ** 2)


def test_clear_errors():
    with pytest.raises(ValueError, match="`samples` must be an integer >= 1"):
        gradient_check(lambda: 0.0, variables=[tf.Variable(1.0)], samples=0)
    with pytest.raises(ValueError, match=r"`step` must be in \(0, 0.01\]"):
        gradient_check(lambda: 0.0, variables=[tf.Variable(1.0)], step=0.5)
    with pytest.raises(ValueError, match="`variables` must list"):
        gradient_check(lambda: 0.0)
    with pytest.raises(ValueError, match="`dtype` must be one of"):
        gradient_check(lambda: 0.0, variables=[tf.Variable(1.0)], dtype="float16")

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    model = Subclassed()
    model(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="could not be rebuilt in float64"):
        gradient_check(model, *_data(), loss=LOSS)
