"""`jit_compile="auto"`: XLA chosen by measurement, without changing the run (lesson L11)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.training import XlaChoice, choose_jit_compile, train
from tfcourse.training.xla_choice import MULTI_WORKER_REASON


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = x[:, :3].argmax(axis=1).astype("int64")
    return x, y


def _mlp():
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_choice_is_bool_and_timings_positive(loop):
    choice = choose_jit_compile(_mlp, _data(), global_batch_size=16, loop=loop, steps=3, warmup_steps=2)
    assert isinstance(choice, XlaChoice)
    assert isinstance(choice.jit_compile, bool)
    assert set(choice.timings) == {"no_xla", "xla"}
    assert all(t > 0 for t in choice.timings.values())
    assert "ms" in choice.reason


def test_dataset_input_is_not_iterated():
    x, y = _data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    # Count the batches the pipeline produces: the trial batch comes from element_spec only.
    produced = []

    def count(a):
        produced.append(1)
        return a

    counted = dataset.map(lambda a, b: (tf.ensure_shape(tf.py_function(count, [a], tf.float32), [None, 6]), b))
    choice = choose_jit_compile(_mlp, counted, global_batch_size=16, steps=2, warmup_steps=1)
    assert all(t > 0 for t in choice.timings.values())
    assert produced == []
    next(iter(counted))
    assert produced  # the counter works


@pytest.mark.parametrize("forced", [True, False])
@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_auto_trains_like_the_chosen_value(loop, forced, monkeypatch):
    """Same seed: "auto" ends with bit-identical weights to training with its choice.

    `forced` makes the measured choice come out True / False (min_speedup tiny / huge), so
    both outcomes are checked whatever this machine measures (an unforced measurement can
    only land on one of them).
    """
    import tfcourse.training.fit as fit_module

    measure = fit_module.choose_jit_compile
    speedup = 1e-9 if forced else 1e9
    monkeypatch.setattr(fit_module, "choose_jit_compile", lambda *a, **k: measure(*a, min_speedup=speedup, **k))
    x, y = _data()

    def run(jit_compile):
        keras.utils.set_random_seed(5)  # shuffle seeds come from the global seed: seed, then build
        data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=7).batch(16)
        return train(_mlp, data, epochs=2, global_batch_size=16, loop=loop, seed=11, jit_compile=jit_compile)

    auto = run("auto")
    assert auto.jit_compile is forced
    assert set(auto.xla_timings) == {"no_xla", "xla"}
    chosen = run(auto.jit_compile)
    assert chosen.jit_compile is auto.jit_compile and chosen.xla_timings is None
    assert auto.history == chosen.history
    for a, b in zip(auto.model.get_weights(), chosen.model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_auto_under_mirrored_strategy(two_cpu_strategy, loop, capsys):
    """Over two logical CPU devices XLA may fail to compile the step: "auto" then picks False."""
    x, y = _data()
    result = train(
        _mlp, (x, y), epochs=1, global_batch_size=16, strategy=two_cpu_strategy, loop=loop, jit_compile="auto", verbose=2
    )
    assert isinstance(result.jit_compile, bool)
    assert result.xla_timings["no_xla"] > 0
    if "xla" not in result.xla_timings:
        assert result.jit_compile is False
    out = capsys.readouterr().out
    assert f"jit_compile='auto' -> {result.jit_compile}: " in out


def test_multi_worker_falls_back_to_false(monkeypatch):
    import tfcourse.training.xla_choice as xla_choice

    monkeypatch.setattr(xla_choice, "is_multi_worker", lambda strategy: True)
    choice = choose_jit_compile(_mlp, _data(), global_batch_size=16)
    assert choice == XlaChoice(False, None, MULTI_WORKER_REASON)


@pytest.mark.parametrize("bad", ["yes", 1, None, "AUTO"])
def test_bad_jit_compile_raises(bad):
    with pytest.raises(ValueError, match=r"`jit_compile` must be one of False, True, 'auto'\. Received: jit_compile="):
        train(_mlp, _data(), epochs=1, global_batch_size=16, jit_compile=bad)


def test_bad_choice_arguments_raise():
    with pytest.raises(ValueError, match="`steps` must be an integer >= 1"):
        choose_jit_compile(_mlp, _data(), global_batch_size=16, steps=0)
    with pytest.raises(ValueError, match="`loop` must be one of 'fit', 'custom'"):
        choose_jit_compile(_mlp, _data(), global_batch_size=16, loop="auto")
