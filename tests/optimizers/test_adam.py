import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.optimizers import Adam
from tfcourse.optimizers.reference import AdamRef, keras_adam_epsilon

# float32-exact values (Keras keeps lr in a float32 variable and casts beta via float32).
LR, B1, B2 = 2.0**-6, 0.875, 1 - 2.0**-10


def _run(optimizer, grads):
    var = keras.Variable(np.array([1.0]), dtype="float64")
    for g in grads:
        optimizer.apply_gradients([(tf.constant([g], dtype="float64"), var)])
    return float(var.numpy()[0])


def _closed_form_constant(steps, g, lr=0.25, b1=0.5, b2=0.75, eps=1e-7):
    # dx = g every step: m_t = (1 - b1^t) g, v_t = (1 - b2^t) g^2, so m_hat = g, v_hat = g^2
    # and the notes' step is lr * g / (|g| + eps_notes). In Keras's folded form:
    #   alpha_t = lr sqrt(1 - b2^t) / (1 - b1^t)
    #   x -= alpha_t m_t / (sqrt(v_t) + eps) = lr g sqrt(1 - b2^t) / (sqrt(1 - b2^t) |g| + eps)
    return 1 - sum(lr * g * np.sqrt(1 - b2**t) / (np.sqrt(1 - b2**t) * abs(g) + eps) for t in range(1, steps + 1))


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("steps", [1, 5])
@pytest.mark.parametrize("g", [2.0, -0.5])
def test_golden_constant_gradient(steps, g, fused):
    opt = Adam(0.25, beta_1=0.5, beta_2=0.75, epsilon=1e-7, fused=fused)
    np.testing.assert_allclose(_run(opt, [g] * steps), _closed_form_constant(steps, g), rtol=1e-12)


def test_golden_first_step_by_hand():
    # t = 1: m_hat = g, v_hat = g^2: the first Adam step is lr * sign(g) (up to eps):
    # x_1 = 1 - 0.25 * 2 * 0.5 / (0.5 * 2 + 1e-7) = 1 - 0.25/(1 + 1e-7) = 0.750000025
    np.testing.assert_allclose(_run(Adam(0.25, beta_1=0.5, beta_2=0.75), [2.0]), 0.750000025, rtol=1e-9)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_golden_amsgrad_branch(amsgrad):
    # Gradients 1, 0, 0, 0, 0 (b1 = 0.5, b2 = 0.75, lr = 0.25, eps = 1e-7), by hand:
    #   m_t = 0.5^(t-1) * 0.5,  v_t = 0.75^(t-1) * 0.25 (decreasing after t = 1)
    #   AMSGrad divides by sqrt(max_s v_s) = sqrt(0.25) = 0.5; plain Adam by sqrt(v_t).
    #   x -= alpha_t m_t / (denominator_t + eps),  alpha_t = 0.25 sqrt(1 - 0.75^t)/(1 - 0.5^t)
    x = 1.0
    for t in range(1, 6):
        m, v = 0.5**t, 0.25 * 0.75 ** (t - 1)
        alpha = 0.25 * np.sqrt(1 - 0.75**t) / (1 - 0.5**t)
        x -= alpha * m / ((0.5 if amsgrad else np.sqrt(v)) + 1e-7)
    got = _run(Adam(0.25, beta_1=0.5, beta_2=0.75, amsgrad=amsgrad), [1.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(got, x, rtol=1e-12)
    other = _run(Adam(0.25, beta_1=0.5, beta_2=0.75, amsgrad=not amsgrad), [1.0, 0.0, 0.0, 0.0, 0.0])
    assert abs(got - other) > 1e-3  # the branch changes the answer, so the test exercises it


KWARGS = [{}, {"amsgrad": True}, {"beta_1": 0.5, "beta_2": 0.99, "epsilon": 1e-4}, {"fused": True}]
IDS = ["default", "amsgrad", "custom_betas", "fused"]


@pytest.mark.parametrize("kwargs", KWARGS, ids=IDS)
def test_parity_with_keras(kwargs, quadratic, mlp, rel_diff):
    keras_kwargs = {k: v for k, v in kwargs.items() if k != "fused"}
    assert rel_diff(quadratic(Adam(0.05, **kwargs)), quadratic(keras.optimizers.Adam(0.05, **keras_kwargs))) <= 1e-6
    assert rel_diff(mlp(Adam(0.01, **kwargs)), mlp(keras.optimizers.Adam(0.01, **keras_kwargs))) <= 1e-6


@pytest.mark.parametrize("epsilon", [1e-7, 1e-3])
def test_fused_kernel_equals_formula_path(epsilon, quadratic, mlp, rel_diff):
    # float64 throughout: the two paths differ only in the order of rounding.
    assert rel_diff(quadratic(Adam(LR, B1, B2, epsilon, fused=True)), quadratic(Adam(LR, B1, B2, epsilon))) <= 1e-13
    assert rel_diff(mlp(Adam(0.01, B1, B2, epsilon, fused=True)), mlp(Adam(0.01, B1, B2, epsilon))) <= 1e-13


def _op_types(optimizer, gradient):
    var = keras.Variable(np.zeros(gradient.dense_shape if isinstance(gradient, tf.IndexedSlices) else 3), dtype="float32")
    optimizer.build([var])
    step = tf.function(lambda: optimizer.apply_gradients([(gradient, var)]))
    graph = step.get_concrete_function().graph
    types = {op.type for op in graph.get_operations()}
    for function in graph.as_graph_def().library.function:  # bodies of conds and nested functions
        types |= {node.op for node in function.node_def}
    return types


def test_fused_path_is_one_kernel_and_sparse_gradients_take_the_formula():
    dense = tf.constant([1.0, -2.0, 0.5])
    fused_ops, formula_ops = _op_types(Adam(fused=True), dense), _op_types(Adam(), dense)
    assert "ResourceApplyAdam" in fused_ops and "Sqrt" not in fused_ops
    assert "ResourceApplyAdam" not in formula_ops and "Sqrt" in formula_ops  # negative control
    sparse = tf.IndexedSlices(tf.constant([[1.0], [2.0]]), tf.constant([0, 2]), tf.constant([3, 1]))
    assert "ResourceApplyAdam" not in _op_types(Adam(fused=True), sparse)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_folded_form_equals_notes_form_after_epsilon_mapping(amsgrad, quadratic, reference_run, rel_diff):
    # The notes' explicit m_hat, v_hat with eps_notes(t) = epsilon / sqrt(1 - b2^t) is the
    # folded update exactly (see the Adam docstring for the algebra).
    eps = 1e-3  # large, so that a wrong mapping would show
    ours = quadratic(Adam(LR, beta_1=B1, beta_2=B2, epsilon=eps, amsgrad=amsgrad))
    ref = AdamRef(LR, B1, B2, keras_adam_epsilon(eps, B2), amsgrad=amsgrad)
    assert rel_diff(ours, reference_run(ref)) <= 1e-12
    # Without the mapping (a constant eps in the notes' form) they differ, mostly early on.
    unmapped = reference_run(AdamRef(LR, B1, B2, eps, amsgrad=amsgrad))
    assert rel_diff(ours, unmapped) > 1e-6


def test_epsilon_convention_matters_only_for_tiny_gradients(quad_grad, quadratic, reference_run, rel_diff):
    # Same eps in both places: for O(1) gradients the folded (Keras) and textbook forms
    # agree closely; for gradients ~1e-7 (comparable to eps) they do not.
    eps = 1e-7
    big = rel_diff(quadratic(Adam(LR, beta_1=B1, beta_2=B2, epsilon=eps)), reference_run(AdamRef(LR, B1, B2, eps)))
    assert big <= 1e-5

    def tiny_grad(x, t):
        return 1e-7 * quad_grad(x, t)

    ours = quadratic(Adam(LR, beta_1=B1, beta_2=B2, epsilon=eps), grad=tiny_grad)
    notes = reference_run(AdamRef(LR, B1, B2, eps), grad=tiny_grad)
    moved_ours, moved_notes = ours[-1] - ours[0], notes[-1] - notes[0]
    assert np.max(np.abs(moved_ours - moved_notes)) / np.max(np.abs(moved_notes)) > 0.05


def test_bias_correction_advances_t():
    # d2l's TF Adam never advances t. Here the first step is ~lr*sign(g) for any beta, and
    # the correction fades: after many steps of g = 1 every step is still ~lr.
    var = keras.Variable(np.array([0.0]), dtype="float64")
    opt = Adam(0.25)
    previous = 0.0
    for t in range(1, 31):
        opt.apply_gradients([(tf.constant([1.0], dtype="float64"), var)])
        step = previous - float(var.numpy()[0])
        previous = float(var.numpy()[0])
        np.testing.assert_allclose(step, 0.25, rtol=1e-5)
    assert int(opt.iterations.numpy()) == 30


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beta_1": 1.0}, r"`beta_1` must be in \[0, 1\)\. Received: beta_1=1\.0"),
        ({"beta_2": 1.2}, r"`beta_2` must be in \[0, 1\)\. Received: beta_2=1\.2"),
        ({"beta_1": -0.1}, r"`beta_1` must be in \[0, 1\)\. Received: beta_1=-0\.1"),
        ({"epsilon": 0}, r"`epsilon` must be in \(0, inf\)\. Received: epsilon=0"),
        ({"learning_rate": -3e-4}, r"`learning_rate` must be in \(0, inf\)\. Received: learning_rate=-0\.0003"),
        ({"amsgrad": "no"}, r"`amsgrad` must be a bool .*Received: amsgrad='no'"),
        ({"fused": 1}, r"`fused` must be a bool .*Received: fused=1"),
        ({"fused": True, "amsgrad": True}, r"`fused=True` needs amsgrad=False .*Received: amsgrad=True"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adam(**kwargs)


def test_fused_refused_off_tensorflow(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match=r"`fused=True` needs the TensorFlow backend .*backend='jax'"):
        Adam(fused=True)
    Adam(fused=False)  # the formula path is backend-neutral


def test_defaults_and_config_match_keras():
    ours, theirs = Adam().get_config(), keras.optimizers.Adam().get_config()
    assert {k: v for k, v in ours.items() if k != "name"} == {k: v for k, v in theirs.items() if k != "name"}
    opt = Adam(0.002, beta_1=0.8, beta_2=0.99, epsilon=1e-6, amsgrad=True, use_ema=True, ema_momentum=0.9)
    assert Adam.from_config(opt.get_config()).get_config() == opt.get_config()
    fused = Adam(0.002, beta_1=0.8, fused=True)
    assert fused.get_config()["fused"] is True and Adam.from_config(fused.get_config()).fused
