"""tfcourse.gan.GAN: two optimizers in one train_step, through `train` (1 and 2 devices)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.gan import GAN
from tfcourse.training import train

LATENT = 4


def tiny_gan(seed=0):
    generator = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(16, activation="sigmoid"),
                                  keras.layers.Reshape((4, 4, 1))])  # fmt: skip
    discriminator = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    return GAN(generator, discriminator, latent_dim=LATENT, seed=seed)


def real_data(n=16):
    rng = np.random.RandomState(0)
    return rng.uniform(size=(n, 4, 4, 1)).astype("float32"), np.zeros(n, "int64")


def weights(model):
    return [np.array(w) for w in model.get_weights()]


def test_compile_refuses_a_loss_and_metrics():
    gan = tiny_gan()
    with pytest.raises(ValueError, match="`loss` must be None"):
        gan.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="`metrics` must be empty"):
        gan.compile(optimizer="adam", metrics=["accuracy"])


def test_latent_dim_and_seed_are_validated():
    with pytest.raises(ValueError, match="`latent_dim` must be"):
        GAN(keras.Sequential(), keras.Sequential(), latent_dim=0)
    with pytest.raises(ValueError, match="`seed` must be"):
        GAN(keras.Sequential(), keras.Sequential(), latent_dim=2, seed=1.5)


def test_compile_makes_two_independent_optimizers_of_the_given_kind():
    gan = tiny_gan()
    gan.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    assert gan.d_optimizer is not gan.g_optimizer
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert optimizer.beta_1 == 0.5 and np.isclose(float(optimizer.learning_rate), 2e-4)


def test_train_step_updates_both_networks_with_their_own_optimizer():
    keras.utils.set_random_seed(5)
    fresh = tiny_gan()  # `train(seed=5)` reseeds the same way: these are its initial weights
    run = train(tiny_gan, real_data(16), epochs=1, global_batch_size=8, strategy="default", seed=5,
                optimizer=lambda: keras.optimizers.Adam(2e-4, beta_1=0.5), loss=None, metrics=())  # fmt: skip
    gan = run.model
    assert set(run.history) == {"d_loss", "g_loss"}
    assert int(gan.d_optimizer.iterations.numpy()) == 2 and int(gan.g_optimizer.iterations.numpy()) == 2
    for before, after in [(weights(fresh.generator), weights(gan.generator)),
                          (weights(fresh.discriminator), weights(gan.discriminator))]:  # fmt: skip
        assert all(np.abs(a - b).max() > 1e-6 for a, b in zip(before, after))
    # BCE of a 1-logit discriminator: both losses are positive and near log 2 at the start
    assert 0.5 < run.history["d_loss"][0] < 3 and 0.2 < run.history["g_loss"][0] < 2


def test_each_optimizer_moves_only_its_network():
    gan = tiny_gan()
    gan.compile(optimizer=keras.optimizers.SGD(0.5))
    g_before, d_before = weights(gan.generator), weights(gan.discriminator)
    gan.train_step((real_data(8)[0], None))
    g_after, d_after = weights(gan.generator), weights(gan.discriminator)
    assert all(np.abs(a - b).max() > 0 for a, b in zip(d_before, d_after))
    assert all(np.abs(a - b).max() > 0 for a, b in zip(g_before, g_after))
    # negative control: with a zero learning rate nothing moves, so the change above is the steps'
    gan = tiny_gan()
    gan.compile(optimizer=keras.optimizers.SGD(0.0))
    before = weights(gan)
    gan.train_step((real_data(8)[0], None))
    assert all(np.array_equal(a, b) for a, b in zip(before, weights(gan)))


def test_noise_differs_per_step():
    gan = tiny_gan()
    gan.compile(optimizer="adam")
    first = np.array(gan._noise(3, 0))
    assert not np.allclose(first, np.array(gan._noise(3, 1)))
    gan.g_optimizer.iterations.assign(1)
    assert not np.allclose(first, np.array(gan._noise(3, 0)))


def test_gan_trains_under_mirrored_strategy_on_two_devices(two_cpu_strategy):
    run = train(tiny_gan, real_data(16), epochs=1, global_batch_size=8, strategy=two_cpu_strategy,
                optimizer=lambda: keras.optimizers.Adam(2e-4, beta_1=0.5), loss=None, metrics=())  # fmt: skip
    gan = run.model
    assert run.per_replica_batch_size == 4
    assert int(gan.d_optimizer.iterations.numpy()) == 2 and int(gan.g_optimizer.iterations.numpy()) == 2
    assert all(np.isfinite(v).all() for v in run.history.values())
    assert 0.5 < run.history["d_loss"][0] < 3
    images = np.array(gan(np.zeros((2, LATENT), "float32")))
    assert images.shape == (2, 4, 4, 1)


def test_get_config_round_trip():
    gan = tiny_gan(seed=7)
    again = GAN.from_config(gan.get_config())
    assert again.latent_dim == LATENT and again.seed == 7
    assert again.generator.output_shape == gan.generator.output_shape


def test_noise_differs_between_replicas(two_cpu_strategy):
    # A seeded stateful op would draw the same noise on both devices; the replica id in the
    # stateless seed makes each replica's fake batch its own.
    with two_cpu_strategy.scope():
        gan = tiny_gan()
        gan.compile(optimizer="adam")
    per_replica = two_cpu_strategy.run(tf.function(lambda: gan._noise(3, 0)))
    first, second = (np.array(v) for v in two_cpu_strategy.experimental_local_results(per_replica))
    assert first.shape == second.shape == (3, LATENT)
    assert not np.allclose(first, second)
