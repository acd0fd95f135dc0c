import math

import keras
import numpy as np
import pytest

from tfcourse import initializers as init

DENSE = (400, 300)
CONV = (3, 3, 64, 128)  # fan_in = 576, fan_out = 1152

# (tfcourse class, keras built-in with the same definition, expected variance(fan_in, fan_out))
CASES = [
    (init.GlorotNormal, keras.initializers.GlorotNormal, lambda i, o: 2.0 / (i + o)),
    (init.GlorotUniform, keras.initializers.GlorotUniform, lambda i, o: 2.0 / (i + o)),
    (init.HeNormal, keras.initializers.HeNormal, lambda i, o: 2.0 / i),
    (init.HeUniform, keras.initializers.HeUniform, lambda i, o: 2.0 / i),
    (init.LecunNormal, keras.initializers.LecunNormal, lambda i, o: 1.0 / i),
    (init.LecunUniform, keras.initializers.LecunUniform, lambda i, o: 1.0 / i),
    (init.NotesXavier, lambda seed: keras.initializers.VarianceScaling(1.0, "fan_in", "untruncated_normal", seed),
     lambda i, o: 1.0 / i),
    (init.NotesHe, lambda seed: keras.initializers.VarianceScaling(2.0, "fan_in", "untruncated_normal", seed),
     lambda i, o: 2.0 / i),
    (init.RandomNormal, lambda seed: keras.initializers.RandomNormal(0.0, 0.02, seed), lambda i, o: 0.02**2),
]
IDS = [c[0].__name__ for c in CASES]


@pytest.mark.parametrize("shape, fans", [((7,), (7, 7)), ((), (1, 1)), (DENSE, (400, 300)), (CONV, (576, 1152)),
                                         ((5, 8, 16), (40, 80))])
def test_fans_like_keras(shape, fans):
    assert init.compute_fans(shape) == fans


@pytest.mark.parametrize("cls, keras_cls, variance", CASES, ids=IDS)
@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
def test_sample_mean_and_variance_within_bounds(cls, keras_cls, variance, shape):
    w = np.asarray(cls(seed=3)(shape), "float64")
    n = w.size
    var = variance(*init.compute_fans(shape))
    # mean: 5 standard errors; variance: 5 standard errors of the sample variance (kurtosis <= 3)
    assert abs(w.mean()) < 5 * math.sqrt(var / n)
    assert abs(w.var() - var) < 5 * var * math.sqrt(2.0 / n)


@pytest.mark.parametrize("cls, keras_cls, variance", CASES, ids=IDS)
@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
def test_equal_to_keras_builtin_given_the_same_seed(cls, keras_cls, variance, shape):
    ours = np.asarray(cls(seed=11)(shape))
    theirs = np.asarray(keras_cls(seed=11)(shape))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("cls", [c[0] for c in CASES], ids=IDS)
def test_seeded_is_reproducible_and_config_round_trips(cls):
    a = cls(seed=5)
    np.testing.assert_array_equal(np.asarray(a((20, 30))), np.asarray(cls(seed=5)((20, 30))))
    assert not np.array_equal(np.asarray(a((20, 30))), np.asarray(cls(seed=6)((20, 30))))
    config = a.get_config()
    b = cls.from_config(config)
    assert b.get_config() == config
    np.testing.assert_array_equal(np.asarray(a((4, 5))), np.asarray(b((4, 5))))
    restored = keras.initializers.deserialize(keras.initializers.serialize(a))
    assert type(restored) is cls
    assert keras.saving.get_registered_name(cls) == f"tfcourse>{cls.__name__}"


def test_unseeded_follows_keras_global_seed():
    keras.utils.set_random_seed(7)
    a = np.asarray(init.HeNormal()((10, 10)))
    keras.utils.set_random_seed(7)
    b = np.asarray(init.HeNormal()((10, 10)))
    np.testing.assert_array_equal(a, b)


def test_truncation_at_two_standard_deviations():
    w = np.asarray(init.GlorotNormal(seed=0)(DENSE))
    stddev = math.sqrt(2.0 / 700) / 0.87962566103423978
    assert np.abs(w).max() <= 2 * stddev + 1e-7


def test_notes_formula_is_randn_over_sqrt_fan_in():
    randn = np.asarray(keras.random.normal(CONV, seed=4))
    np.testing.assert_allclose(np.asarray(init.NotesXavier(seed=4)(CONV)), randn / math.sqrt(576), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(init.NotesHe(seed=4)(CONV)), randn / math.sqrt(576 / 2), rtol=1e-6)


def test_used_in_layers_and_saved_models(tmp_path):
    model = keras.Sequential([
        keras.Input((6, 6, 2)),
        keras.layers.Conv2D(3, 3, kernel_initializer=init.HeNormal(seed=1)),
        keras.layers.Flatten(),
        keras.layers.Dense(4, kernel_initializer=init.RandomNormal(seed=2)),
    ])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[0].kernel_initializer, init.HeNormal)
    assert loaded.layers[0].kernel_initializer.get_config() == {"seed": 1}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: init.RandomNormal(stddev=0.0), r"`stddev` must be in \(0, inf\)"),
        (lambda: init.RandomNormal(mean=float("nan")), "`mean` must be in"),
        (lambda: init.HeNormal(seed="x"), "`seed` must be None, an integer"),
        (lambda: init.GlorotUniform(seed=1.5), "`seed` must be None, an integer"),
    ],
)
def test_invalid_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
