"""A GAN as a `keras.Model`: generator + discriminator, two optimizers, one `train_step`.

Introduced in lesson L14 (`lessons/14_gan.py`), after keras-io's DCGAN example.

    per step, for a batch of real images x (labels ignored):
        z  ~ N(0, 1)                        # (batch, latent_dim)
        D step:  loss_D = BCE(D(x), 1) + BCE(D(G(z)), 0)      -> discriminator optimizer
        z' ~ N(0, 1)
        G step:  loss_G = BCE(D(G(z')), 1)  # the non-saturating loss  -> generator optimizer

`tfcourse.training.train(build_gan, data, optimizer=..., loss=None, metrics=())` trains it with
the fit loop: `compile(optimizer)` makes two independent copies of `optimizer` (one per network),
and the d_loss / g_loss Mean trackers are the model's metrics.
"""

import keras
import tensorflow as tf

from tfcourse._validation import check_int, check_positive_int

__all__ = ["GAN"]


@keras.saving.register_keras_serializable(package="tfcourse")
class GAN(keras.Model):
    """Generator + discriminator trained adversarially by `fit`. Introduced in lesson L14.

        compile(optimizer): d_optimizer = optimizer, g_optimizer = a fresh copy of it
        train_step(x):
            loss_D = mean BCE(D(x), 1) + mean BCE(D(G(z)), 0)         # update D only
            loss_G = mean BCE(D(G(z')), 1)                             # update G only
        each loss is divided by the number of replicas: Keras's optimizer sums gradients
        over replicas, so the sum is the gradient of the global-batch mean.

    The noise is drawn statelessly from (seed, step, replica id): reproducible, and different
    on each replica under MirroredStrategy (a seeded stateful op would repeat it per replica).
    `model(z)` is the generator. `generator(z) -> images`, `discriminator(images) -> logits`.
    """

    def __init__(self, generator, discriminator, latent_dim, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.seed = check_int("seed", seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.g_optimizer = None

    def build(self, input_shape=None):
        # Both networks are built by their constructors (functional models); nothing to add.
        self.built = True

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        if loss is not None:
            raise ValueError(f"`loss` must be None: a GAN defines its own two losses. Received: loss={loss!r}")
        if metrics:
            raise ValueError(
                f"`metrics` must be empty: a GAN reports d_loss and g_loss. Received: metrics={metrics!r}"
            )
        d_optimizer = keras.optimizers.get(optimizer)
        # An independent copy: each network gets its own moments and step counter.
        self.g_optimizer = d_optimizer.__class__.from_config(d_optimizer.get_config())
        super().compile(optimizer=d_optimizer, **kwargs)
        self.optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def d_optimizer(self):
        return self.optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def _noise(self, batch_size, salt):
        context = tf.distribute.get_replica_context()
        replica = context.replica_id_in_sync_group if context is not None else 0
        step = tf.cast(self.g_optimizer.iterations, tf.int32)
        seed = tf.stack([self.seed * 1_000 + tf.cast(replica, tf.int32), 2 * step + salt])
        return tf.random.stateless_normal((batch_size, self.latent_dim), seed=seed)

    @staticmethod
    def _bce(labels_value, logits):
        labels = tf.fill(tf.shape(logits), labels_value)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))

    def train_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch_size = tf.shape(real)[0]
        replicas = tf.distribute.get_strategy().num_replicas_in_sync

        fake = self.generator(self._noise(batch_size, 0), training=True)
        with tf.GradientTape() as tape:
            d_loss = self._bce(1.0, self.discriminator(real, training=True)) + self._bce(
                0.0, self.discriminator(fake, training=True)
            )
            scaled = d_loss / replicas
        weights = self.discriminator.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, weights), weights))

        noise = self._noise(batch_size, 1)
        with tf.GradientTape() as tape:
            g_loss = self._bce(1.0, self.discriminator(self.generator(noise, training=True), training=True))
            scaled = g_loss / replicas
        weights = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, weights), weights))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {metric.name: metric.result() for metric in self.metrics}

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
