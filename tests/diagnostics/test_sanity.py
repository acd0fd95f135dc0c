"""sanity_check: a healthy model passes; each broken model fails the check that targets it."""

import math

import keras
import numpy as np
import pytest

from tfcourse.diagnostics import sanity_check


def _data(n=64, features=10, classes=4, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, features).astype("float32"), rng.randint(0, classes, n)


def _mlp(regularization, bias=0.0, trainable=True, ignore_regularization=False):
    penalty = None if regularization == 0 or ignore_regularization else keras.regularizers.L2(regularization)
    hidden = keras.layers.Dense(32, activation="relu", kernel_regularizer=penalty, trainable=trainable)
    out = keras.layers.Dense(4, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                             bias_initializer=keras.initializers.Constant(bias), trainable=trainable)
    return keras.Sequential([keras.Input((10,)), hidden, out])


def test_healthy_model_passes_every_check():
    report = sanity_check(_mlp, _data(), 4)
    assert report.passed, str(report)
    assert abs(report["initial loss vs ln(C)"]["value"] - math.log(4)) < 0.1 * math.log(4)
    assert report["overfits a small subset"]["value"] <= 300
    assert report["random labels overfit too (caveat)"]["passed"]
    assert "[ok  ] initial loss vs ln(C)" in str(report)


def test_biased_start_fails_the_initial_loss_check():
    report = sanity_check(lambda r: _mlp(r, bias=np.array([8.0, 0, 0, 0])), _data(), 4)
    assert not report["initial loss vs ln(C)"]["passed"] and not report.passed


def test_ignored_regularization_fails_its_check():
    report = sanity_check(lambda r: _mlp(r, ignore_regularization=True), _data(), 4)
    assert not report["regularization raises the loss"]["passed"]
    assert report["initial loss vs ln(C)"]["passed"]


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_frozen_model_cannot_overfit():
    report = sanity_check(lambda r: _mlp(r, trainable=False), _data(), 4, max_steps=40)
    assert not report["overfits a small subset"]["passed"] and not report.passed


def test_clear_errors():
    with pytest.raises(ValueError, match="`num_classes` must be an integer >= 1"):
        sanity_check(_mlp, _data(), 0)
    with pytest.raises(ValueError, match="at least `overfit_examples`=20"):
        sanity_check(_mlp, _data(n=5), 4)
    with pytest.raises(ValueError, match=r"`initial_loss_tolerance` must be in \(0, 1\]"):
        sanity_check(_mlp, _data(), 4, initial_loss_tolerance=0)
