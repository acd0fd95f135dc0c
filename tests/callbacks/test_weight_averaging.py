"""WeightAveraging and ensemble_predict: golden averages, BN statistics, and a win on MNIST."""

import keras
import numpy as np
import pytest

from tfcourse.callbacks import WeightAveraging, ensemble_predict, recompute_batch_norm_statistics
from tfcourse.data import load_arrays

from .conftest import epoch_weights, tiny_model


def _drive(callback, model, epochs):
    callback.set_model(model)
    callback.on_train_begin()
    for epoch in range(epochs):
        model.set_weights(epoch_weights(model, epoch))
        callback.on_epoch_end(epoch, {})
    callback.on_train_end()
    return float(model.get_weights()[0].flat[0])


def test_last_k_golden():
    assert _drive(WeightAveraging("last_k", k=3), tiny_model(), 5) == pytest.approx(3.0)  # mean(2, 3, 4)


def test_swa_golden():
    assert _drive(WeightAveraging("swa", start_epoch=1), tiny_model(), 5) == pytest.approx(2.5)  # mean(1..4)


def test_apply_false_keeps_the_last_weights():
    callback = WeightAveraging("last_k", k=2, apply=False)
    assert _drive(callback, tiny_model(), 4) == 3.0
    assert float(callback.averaged_weights[0].flat[0]) == pytest.approx(2.5)


def test_batch_norm_statistics_recomputed_on_data():
    model = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization(momentum=0.99)])
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc=3.0, scale=2.0, size=(16, 2)).astype("float32") for _ in range(4)]
    assert recompute_batch_norm_statistics(model, batches) == 4
    layer = model.layers[0]
    # The average of the per-batch statistics (equal batch sizes), not a momentum-0.99 trace.
    np.testing.assert_allclose(layer.moving_mean.numpy(), np.mean([b.mean(0) for b in batches], 0), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), np.mean([b.var(0) for b in batches], 0), rtol=1e-4)
    assert layer.momentum == 0.99


def test_batch_norm_statistics_are_not_averaged():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2), keras.layers.BatchNormalization()])
    callback = WeightAveraging("last_k", k=2)
    callback.set_model(model)
    callback.on_train_begin()
    for epoch in range(2):
        model.set_weights(epoch_weights(model, epoch + 1))
        callback.on_epoch_end(epoch, {})
    callback.on_train_end()
    weights = dict(zip((v.path for v in model.weights), model.get_weights()))
    bn = model.layers[1]
    assert weights[model.layers[0].kernel.path].flat[0] == pytest.approx(1.5)
    assert weights[bn.moving_mean.path].flat[0] == 2.0  # the last epoch's, not 1.5


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(mode="ema"), "`mode` must be one of"), (dict(k=0), "`k` must be an integer >= 1"),
     (dict(start_epoch=-1), "`start_epoch` must be an integer >= 0"), (dict(apply="yes"), "`apply` must be a bool")],
)
def test_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WeightAveraging(**kwargs)


def test_ensemble_validation():
    with pytest.raises(ValueError, match="`models` must hold at least one"):
        ensemble_predict([], np.zeros((1, 3)))


def _mnist(n_train=2000, n_test=2000):
    x, y = load_arrays("mnist", "train")
    xt, yt = load_arrays("mnist", "test")
    prep = lambda a: (np.asarray(a, "float32") / 255.0).reshape(len(a), -1)
    return prep(x[:n_train]), np.asarray(y[:n_train]), prep(xt[:n_test]), np.asarray(yt[:n_test])


def _mlp(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.2, momentum=0.9), "sparse_categorical_crossentropy")
    return model


def _test_loss(probabilities, labels):
    return float(keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(labels, probabilities)).mean())


def test_averaging_and_ensemble_beat_the_last_model_on_mnist(tmp_path):
    x, y, xt, yt = _mnist()
    # A large constant learning rate: the last iterate bounces around the minimum; the
    # average of the last epochs sits nearer its centre (notes 001 §6).
    single = _mlp(0)
    single.fit(x, y, batch_size=32, epochs=8, verbose=0, shuffle=True)
    last_loss = _test_loss(single.predict(xt, verbose=0), yt)

    averaged = _mlp(0)
    averaging = WeightAveraging("last_k", k=4)
    averaged.fit(x, y, batch_size=32, epochs=8, verbose=0, shuffle=True, callbacks=[averaging])
    averaged_loss = _test_loss(averaged.predict(xt, verbose=0), yt)

    others = []
    for seed in (1, 2):
        model = _mlp(seed)
        model.fit(x, y, batch_size=32, epochs=8, verbose=0, shuffle=True)
        model.save(tmp_path / f"seed{seed}.keras")
        others.append(tmp_path / f"seed{seed}.keras")
    ensemble_loss = _test_loss(ensemble_predict([single, *others], xt), yt)
    print(f"test loss: last {last_loss:.4f}, last-4 average {averaged_loss:.4f}, 3-model ensemble {ensemble_loss:.4f}")
    assert averaged_loss < last_loss - 0.01
    assert ensemble_loss < last_loss - 0.01
