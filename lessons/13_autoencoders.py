"""Autoencoders: dense, convolutional and denoising autoencoders, and a VAE with a 2-D latent space.

What you will learn [004 5.2; 002 §20 mentions VAEs]:
- an autoencoder learns x -> code -> x_hat by minimizing a reconstruction loss (here the
  per-pixel cross-entropy, which keeps the sigmoid output from stalling; squared error
  collapsed the denoiser to a blank image in this lesson's runs) and is judged by the test
  MSE mean((x - x_hat) ** 2); a dense one (784 -> 32 -> 784) and a convolutional one compared on
  the test split, against the trivial baseline of always answering the mean training image;
- a denoising autoencoder is trained on x + noise with the clean x as target: on noisy test
  images it reconstructs the clean digit better than the plain autoencoder does;
- a variational autoencoder (VAE): the encoder outputs a mean mu and a log-variance log s^2,
  z = mu + s * eps with eps ~ N(0, 1) (the reparameterization trick, so gradients reach mu and
  s), and the loss adds KL(N(mu, s^2) || N(0, 1)) = -0.5 * sum(1 + log s^2 - mu^2 - s^2) to the
  reconstruction error (the closed form is checked against a Monte Carlo estimate); a 2-D latent
  space can be drawn: the test set coloured by class, and a grid of digits decoded from the plane.

Runtime: full run: README's lessons table has the measured time (the run of 2026-11-27 used one
thread beside other jobs, so it overstates an idle machine); `--quick`: about 50 s of CPU user time,
measured on a shared machine; 3,000 training images in batches of 64, 2,000 test images.
Expected (checked by the lesson's `--quick` test): the convolutional autoencoder's test MSE is
below a fifth of the mean-image baseline and below the dense one's; the denoiser beats the
plain autoencoder on noisy test images; the KL closed form matches its Monte Carlo estimate
within 2%; a 5-nearest-neighbour classifier in the VAE's 2-D latent space is far above chance
(> 0.3 in `--quick`, with 10 classes; the full run's value is in README's lessons table).
Notes followed: 004 (outline 5.2, autoencoders), 002 §20.
"""

# %% Setup
import keras
import numpy as np
import tensorflow as tf

from tfcourse._atomic import atomic_directory
from tfcourse.data import load_arrays
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure
from tfcourse.training import next_version, train

args = lesson_parser(__doc__).parse_args()
keras.utils.set_random_seed(args.seed)
out = output_dir(args, "13_autoencoders")
results = {}
TRAIN = 3_000 if args.quick else 50_000
EPOCHS = 3 if args.quick else 8
TEST = 2_000 if args.quick else None  # None: the whole 10,000-image test split
BATCH = 64 if args.quick else 128  # --quick: smaller batches, so its few images still give enough steps
NOISE = 0.4

images, _ = load_arrays("mnist", "train")
x_train = (images[:TRAIN] / 255.0).astype("float32")
test_images, y_test = load_arrays("mnist", "test")
test_images, y_test = test_images[:TEST], y_test[:TEST]
x_test = (test_images / 255.0).astype("float32")
rng = np.random.default_rng(args.seed)
noisy_train = np.clip(x_train + NOISE * rng.standard_normal(x_train.shape), 0, 1).astype("float32")
noisy_test = np.clip(x_test + NOISE * rng.standard_normal(x_test.shape), 0, 1).astype("float32")


def mse(a, b):
    return float(np.mean((a - b) ** 2))


def fit_autoencoder(build, inputs, targets):
    data = tf.data.Dataset.from_tensor_slices((inputs, targets)).shuffle(len(inputs), seed=args.seed).batch(BATCH)
    return train(build, data, epochs=EPOCHS, global_batch_size=BATCH, loss="binary_crossentropy", metrics=(),
                 optimizer=lambda: keras.optimizers.Adam(1e-3)).model


# The trivial baseline: answer the mean training image whatever the input.
results["baseline_mean_image_test_mse"] = mse(x_test, x_train.mean(0, keepdims=True))


# %% A dense autoencoder: 784 -> 128 -> 32 -> 128 -> 784
# The 32-number code is a bottleneck: the network must keep what matters to redraw the digit.
def dense_autoencoder():
    return keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"), keras.layers.Dense(32, activation="relu", name="code"),
        keras.layers.Dense(128, activation="relu"), keras.layers.Dense(784, activation="sigmoid"),
        keras.layers.Reshape((28, 28, 1)),
    ], name="dense_autoencoder")


dense = fit_autoencoder(dense_autoencoder, x_train, x_train)
results["dense_test_mse"] = mse(x_test, dense.predict(x_test, batch_size=1000, verbose=0))


# %% A convolutional autoencoder
# Strided convolutions shrink 28x28 to a 7x7x8 code (392 numbers); transposed convolutions
# upsample it back. Weight sharing makes it small: fewer parameters than the dense one.
def conv_autoencoder():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="code"),
        keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
    ], name="conv_autoencoder")


conv = fit_autoencoder(conv_autoencoder, x_train, x_train)
results["conv_test_mse"] = mse(x_test, conv.predict(x_test, batch_size=1000, verbose=0))
results["dense_parameters"], results["conv_parameters"] = dense.count_params(), conv.count_params()

# %% A denoising autoencoder
# Same network, trained to map noisy images to clean ones. Compared on noisy test images
# against the plain convolutional autoencoder, which never learned to remove noise.
denoiser = fit_autoencoder(conv_autoencoder, noisy_train, x_train)
results["noisy_input_test_mse"] = mse(x_test, noisy_test)
results["plain_ae_on_noisy_test_mse"] = mse(x_test, conv.predict(noisy_test, batch_size=1000, verbose=0))
results["denoiser_on_noisy_test_mse"] = mse(x_test, denoiser.predict(noisy_test, batch_size=1000, verbose=0))

import matplotlib.pyplot as plt  # noqa: E402

rows = {"original": x_test[:8], "dense AE": dense.predict(x_test[:8], verbose=0),
        "conv AE": conv.predict(x_test[:8], verbose=0), "noisy": noisy_test[:8],
        "denoised": denoiser.predict(noisy_test[:8], verbose=0)}
fig, axes = plt.subplots(len(rows), 8, figsize=(8, len(rows) * 1.1))
for r, (name, batch) in enumerate(rows.items()):
    for c in range(8):
        axes[r, c].imshow(batch[c, :, :, 0], cmap="gray", vmin=0, vmax=1)
        axes[r, c].axis("off")
    axes[r, 0].set_title(name, fontsize=8, loc="left")
save_figure(fig, out / "reconstructions.png")


# %% A variational autoencoder with a 2-D latent space
# The encoder gives mu and log s^2 per latent dimension; sampling z = mu + s * eps keeps the
# path to mu and s differentiable. The KL term pulls every code distribution toward N(0, 1),
# which is what lets us decode a grid of points from the plane afterwards.
def kl_divergence(mu, log_var):
    """KL(N(mu, exp(log_var)) || N(0, 1)) per example, the closed form."""
    return -0.5 * tf.reduce_sum(1.0 + log_var - tf.square(mu) - tf.exp(log_var), axis=-1)


class VAE(keras.Model):
    """Encoder -> (mu, log s^2) -> z = mu + s * eps -> decoder; loss = reconstruction + KL."""

    def __init__(self, latent_dim=2, **kwargs):
        super().__init__(**kwargs)
        self.encoder = keras.Sequential([
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(2 * latent_dim),
        ], name="encoder")
        self.decoder = keras.Sequential([
            keras.Input((latent_dim,)), keras.layers.Dense(7 * 7 * 64, activation="relu"),
            keras.layers.Reshape((7, 7, 64)),
            keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
        ], name="decoder")
        self.seed = keras.random.SeedGenerator(args.seed)
        self.trackers = [keras.metrics.Mean(name=n) for n in ("loss", "reconstruction", "kl")]

    @property
    def metrics(self):  # what fit reports and resets each epoch (as keras-io's VAE example)
        return self.trackers

    def encode(self, x):
        mu, log_var = tf.split(self.encoder(x), 2, axis=-1)
        return mu, log_var

    def call(self, x, training=None):
        mu, log_var = self.encode(x)
        eps = keras.random.normal(tf.shape(mu), seed=self.seed)
        return self.decoder(mu + tf.exp(0.5 * log_var) * eps)

    def losses_of(self, x):
        mu, log_var = self.encode(x)
        eps = keras.random.normal(tf.shape(mu), seed=self.seed)
        x_hat = self.decoder(mu + tf.exp(0.5 * log_var) * eps)
        # Bernoulli likelihood of the pixels, summed over the image (the VAE paper's choice)
        reconstruction = tf.reduce_sum(keras.losses.binary_crossentropy(x, x_hat), axis=(1, 2))
        return tf.reduce_mean(reconstruction), tf.reduce_mean(kl_divergence(mu, log_var))

    def train_step(self, data):
        x, _ = data
        with tf.GradientTape() as tape:
            reconstruction, kl = self.losses_of(x)
            loss = reconstruction + kl
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        for tracker, value in zip(self.trackers, (loss, reconstruction, kl)):
            tracker.update_state(value)
        return {tracker.name: tracker.result() for tracker in self.trackers}


# The KL closed form against a Monte Carlo estimate E_q[log q(z) - log p(z)] for one (mu, s).
mu0, log_var0 = tf.constant([[0.7, -1.2]]), tf.constant([[-0.5, 0.3]])
z = mu0 + tf.exp(0.5 * log_var0) * tf.random.stateless_normal((200_000, 2), seed=(args.seed, 1))
log_q = -0.5 * tf.reduce_sum(tf.square(z - mu0) / tf.exp(log_var0) + log_var0, -1)
log_p = -0.5 * tf.reduce_sum(tf.square(z), -1)
results["kl_closed_form"] = float(kl_divergence(mu0, log_var0)[0])
results["kl_monte_carlo"] = float(tf.reduce_mean(log_q - log_p))

vae_data = tf.data.Dataset.from_tensor_slices((x_train, x_train)).shuffle(TRAIN, seed=args.seed).batch(BATCH)
vae = train(lambda: VAE(name="vae"), vae_data, epochs=EPOCHS * 2, global_batch_size=BATCH, metrics=(),
            optimizer=lambda: keras.optimizers.Adam(1e-3), loss=None).model
mu_test, _ = vae.encode(x_test)
mu_test = mu_test.numpy()
reconstruction, kl = vae.losses_of(x_test[:2000])
results["vae_test_reconstruction_bce_per_image"] = float(reconstruction)
results["vae_test_kl_per_image"] = float(kl)
results["vae_test_mse_from_mean_code"] = mse(x_test[:2000], vae.decoder(mu_test[:2000]).numpy())

# How well the 2-D codes separate the classes: 5-nearest neighbours of 1,000 test codes among the other 9,000.
queries, pool = mu_test[:1000], mu_test[1000:]
distances = ((queries[:, None, :] - pool[None, :, :]) ** 2).sum(-1)
neighbours = y_test[1000:][np.argsort(distances, axis=1)[:, :5]]
votes = np.array([np.bincount(row, minlength=10).argmax() for row in neighbours])
results["vae_latent_5nn_accuracy"] = float(np.mean(votes == y_test[:1000]))

fig, ax = plt.subplots(figsize=(5.5, 5))
points = ax.scatter(mu_test[:, 0], mu_test[:, 1], c=y_test, cmap="tab10", s=2)
fig.colorbar(points, ax=ax, label="digit")
ax.set_xlabel("z[0]")
ax.set_ylabel("z[1]")
ax.set_title("VAE: test digits in the 2-D latent space")
save_figure(fig, out / "vae_latent_scatter.png")

grid = np.linspace(-2.5, 2.5, 12)
codes = np.array([[a, b] for b in grid[::-1] for a in grid], "float32")
decoded = vae.decoder(codes).numpy().reshape(12, 12, 28, 28)
fig, ax = plt.subplots(figsize=(6, 6))
ax.imshow(decoded.transpose(0, 2, 1, 3).reshape(12 * 28, 12 * 28), cmap="gray")
ax.axis("off")
ax.set_title("Digits decoded from a grid of the latent plane")
save_figure(fig, out / "vae_latent_grid.png")

# %% Export the generator and report
# The VAE's product is its decoder: a 2-D code in, an image out. It is written as a versioned
# SavedModel (temporary folder, then renamed), servable by plain TensorFlow.
decoder_root = args.saved_models_dir / "13_autoencoders"
version_dir = decoder_root / str(next_version(decoder_root))
with atomic_directory(version_dir) as tmp:
    vae.decoder.export(str(tmp), verbose=False)
reloaded = tf.saved_model.load(str(version_dir))
results["saved_model"] = str(version_dir)
served = reloaded.serve(codes[:4]).numpy()
results["saved_model_max_difference"] = float(np.max(np.abs(served - decoded.reshape(-1, 28, 28, 1)[:4])))
report(results, out / "results.json", title="L13 autoencoders")
