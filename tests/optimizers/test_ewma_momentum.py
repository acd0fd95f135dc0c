import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.optimizers import SGD, EWMAMomentum, equivalent_learning_rate
from tfcourse.optimizers.reference import MomentumRef

# Exactly representable in float32 (Keras's learning-rate variable), so float64 runs agree
# to rounding: lr_ewma * (1 - beta) = 0.125 * 0.125 = 2**-6.
LR_EWMA, BETA = 0.125, 0.875


def test_golden_constant_gradient():
    # g = 1, x0 = 1, lr = 0.5, beta = 0.5: v_k = 1 - 0.5^k (the EWMA of a constant, biased to 0)
    # x_1 = 1 - 0.5*0.5 = 0.75;  x_5 = 1 - 0.5*(5 - (0.5+0.25+0.125+0.0625+0.03125)) = -1.015625
    # (the same numbers as SGD(0.25, momentum=0.5): lr_sgd = (1 - beta) * lr_ewma).
    for steps, want in [(1, 0.75), (5, -1.015625)]:
        var = keras.Variable(np.array([1.0]), dtype="float64")
        opt = EWMAMomentum(0.5, beta=0.5)
        for _ in range(steps):
            opt.apply_gradients([(tf.constant([1.0], dtype="float64"), var)])
        np.testing.assert_allclose(var.numpy(), [want], rtol=1e-12)


def test_three_textbook_forms_trace_identical_paths(reference_run, rel_diff):
    # notes 000 (accumulate), 001 §4.2 (velocity), 004 §2.2.5 (ewma), beta = 0.9 (not binary:
    # the identity is exact algebra, NumPy float64 shows it to rounding).
    beta, lr = 0.9, 0.02
    accumulate = reference_run(MomentumRef(lr, beta, form="accumulate"))
    velocity = reference_run(MomentumRef(lr, beta, form="velocity"))
    lr_ewma = equivalent_learning_rate(lr, beta, source="velocity", target="ewma")
    np.testing.assert_allclose(lr_ewma, lr / (1 - beta))
    ewma = reference_run(MomentumRef(lr_ewma, beta, form="ewma"))
    assert rel_diff(velocity, accumulate) <= 1e-12
    assert rel_diff(ewma, accumulate) <= 1e-12
    # Without the rescaling, the EWMA form is a (1 - beta) = 10x smaller step: not the same path.
    assert rel_diff(reference_run(MomentumRef(lr, beta, form="ewma")), accumulate) > 1e-2


def test_class_equals_sgd_momentum_after_rescaling(quadratic, mlp, rel_diff):
    lr_sgd = equivalent_learning_rate(LR_EWMA, BETA, source="ewma", target="velocity")
    assert lr_sgd == 2.0**-6
    ewma = quadratic(EWMAMomentum(LR_EWMA, beta=BETA))
    sgd = quadratic(SGD(lr_sgd, momentum=BETA))
    assert rel_diff(ewma, sgd) <= 1e-12
    assert rel_diff(mlp(EWMAMomentum(0.25, beta=BETA)), mlp(SGD(0.25 * (1 - BETA), momentum=BETA))) <= 1e-10
    # And with Keras's own SGD (the "velocity" form).
    assert rel_diff(ewma, quadratic(keras.optimizers.SGD(lr_sgd, momentum=BETA))) <= 1e-12


def test_class_matches_notes_pseudocode(quadratic, reference_run, rel_diff):
    ours = quadratic(EWMAMomentum(LR_EWMA, beta=BETA))
    assert rel_diff(ours, reference_run(MomentumRef(LR_EWMA, BETA, form="ewma"))) <= 1e-12


def test_with_a_schedule_the_velocity_form_differs(reference_run, rel_diff):
    # Documented caveat: the rescaling is exact for a constant learning rate only.
    class Decayed(MomentumRef):
        t = 0

        def step(self, x, dx):
            self.lr = self.base * 0.9**self.t
            self.t += 1
            return super().step(x, dx)

    def make(form, lr):
        ref = Decayed(lr, 0.9, form=form)
        ref.base = lr
        return ref

    acc = reference_run(make("accumulate", 0.02))
    ewma = reference_run(make("ewma", 0.2))
    vel = reference_run(make("velocity", 0.02))
    assert rel_diff(ewma, acc) <= 1e-12
    assert rel_diff(vel, acc) > 1e-3


@pytest.mark.parametrize(
    "source, target, want",
    [
        ("ewma", "velocity", 0.1 * (1 - 0.9)),
        ("ewma", "accumulate", 0.1 * (1 - 0.9)),
        ("velocity", "ewma", 0.1 / (1 - 0.9)),
        ("accumulate", "velocity", 0.1),
    ],
)
def test_equivalent_learning_rate(source, target, want):
    np.testing.assert_allclose(equivalent_learning_rate(0.1, 0.9, source=source, target=target), want)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: EWMAMomentum(beta=1.0), r"`beta` must be in \[0, 1\)\. Received: beta=1\.0"),
        (lambda: EWMAMomentum(beta=-0.5), r"`beta` must be in \[0, 1\)\. Received: beta=-0\.5"),
        (lambda: EWMAMomentum(learning_rate=0), r"`learning_rate` must be in \(0, inf\)\. Received: learning_rate=0"),
        (
            lambda: equivalent_learning_rate(0.1, 0.9, source="adam", target="ewma"),
            r"`source` must be one of 'accumulate', 'velocity', 'ewma'\. Received: source='adam'",
        ),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_config_round_trip():
    opt = EWMAMomentum(0.3, beta=0.95, clipvalue=0.5)
    config = opt.get_config()
    assert config["beta"] == 0.95 and config["clipvalue"] == 0.5
    assert EWMAMomentum.from_config(config).get_config() == config
