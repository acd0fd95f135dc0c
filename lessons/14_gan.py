"""GAN: a DCGAN on MNIST, two optimizers in one train_step, scored by a digit classifier.

What you will learn:
- a DCGAN: a generator (noise z -> transposed convolutions -> 28x28 image) and a discriminator
  (image -> strided convolutions -> one logit), both initialized from N(0, 0.02) as the notes
  say [000] and trained with Adam(2e-4, beta_1=0.5) (the DCGAN paper's settings);
- two optimizers in the custom `train_step` of a `keras.Model` (`tfcourse.gan.GAN`): a
  discriminator step on real and generated images, then a generator step with the
  non-saturating loss, trained by `model.fit` through `tfcourse.training.train` (the same model
  runs under MirroredStrategy on 2 devices: see tests/test_gan.py);
- a sample grid after every epoch and one fixed-noise grid (same z, one row per epoch);
- a quantitative score from a small MNIST classifier trained here: its confidence on generated
  digits, the balance of the classes it sees (entropy / log 10), and a Frechet distance between
  its penultimate features on generated and real test digits (an FID-like score), for real
  test digits, the trained generator and the untrained generator;
- why batch normalization suits GANs poorly [002 §20]: in training mode a BN generator's image
  for the same z changes with the other noise vectors in its batch (BN injects batch noise);
  the generator trained here has no BN and gives exactly the same image;
- the generator exported as a versioned SavedModel (`saved_models/14_gan/<version>/`).

Runtime: full run: README's lessons table has the measured time (the run of 2026-11-27 used one
thread beside other jobs, so it overstates an idle machine); `--quick`: under a minute of CPU time.
Expected: the classifier reaches test accuracy > 0.9; on real test digits its confidence is
> 0.9 and the class balance > 0.95; the trained generator's Frechet distance is below half the
untrained generator's, and its class balance is higher; the BN generator's image for a fixed z
changes with its batch companions in training mode (max pixel change > 1e-3) but not in
inference mode (0), and the trained BN-free generator's change is exactly 0; the reloaded
SavedModel reproduces the generator (difference < 1e-5). (`--quick` trains on 6,000 images.)
Notes followed: 000 (N(0, 0.02) initialization), 002 §20 (BN and generative models),
004 5.1 (GAN).
"""

# %% Setup
import keras
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfcourse._atomic import atomic_directory  # noqa: E402
from tfcourse.data import load_arrays, load_splits  # noqa: E402
from tfcourse.gan import GAN  # noqa: E402
from tfcourse.initializers import RandomNormal  # noqa: E402
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure  # noqa: E402
from tfcourse.optimizers import Adam  # noqa: E402
from tfcourse.training import next_version, train  # noqa: E402

args = lesson_parser(__doc__).parse_args()
keras.utils.set_random_seed(args.seed)
out = output_dir(args, "14_gan")
results = {}
TRAIN = 6_000 if args.quick else 60_000
GAN_EPOCHS = 4 if args.quick else 10
CLASSIFIER_EPOCHS = 2 if args.quick else 3
BATCH = 64
LATENT = 64
SCORED = 1_000 if args.quick else 5_000  # images per Frechet distance / confidence estimate

data = load_splits("mnist", batch_size=BATCH, normalization="scale", validation_size=0,
                   train_limit=TRAIN, shuffle_seed=args.seed, drop_remainder=True)  # fmt: skip
test_images, test_labels = load_arrays("mnist", "test")
test_images = test_images.astype("float32") / 255.0


# %% 1. The judge: a small MNIST classifier whose penultimate layer gives the features
# A GAN has no loss that says how good its images are, so we train a classifier and ask it.
def build_classifier():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu", name="features"),
        keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip


classifier = train(build_classifier, data.train, epochs=CLASSIFIER_EPOCHS, global_batch_size=BATCH,
                   optimizer="adam", seed=args.seed).model  # fmt: skip
features_model = keras.Model(classifier.inputs, classifier.get_layer("features").output)
results["classifier_test_accuracy"] = float(
    np.mean(np.argmax(classifier.predict(test_images, verbose=0), axis=1) == test_labels)
)
print(f"judge classifier test accuracy: {results['classifier_test_accuracy']:.4f}")


def frechet_distance(features_a, features_b):
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), the FID formula on our features.

    tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of S_a S_b (real
    and >= 0 for two covariance matrices, up to round-off, which we clip).
    """
    mean_a, mean_b = features_a.mean(0), features_b.mean(0)
    cov_a, cov_b = np.cov(features_a, rowvar=False), np.cov(features_b, rowvar=False)
    eigenvalues = np.linalg.eigvals(cov_a @ cov_b).real.clip(min=0)
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(eigenvalues).sum())


def judge(images, reference_features):
    """Classifier confidence, class balance and Frechet distance of a set of images."""
    probabilities = classifier.predict(images, verbose=0, batch_size=500)
    counts = np.bincount(probabilities.argmax(1), minlength=10) / len(images)
    entropy = -np.sum(counts[counts > 0] * np.log(counts[counts > 0]))
    return {
        "confidence": float(probabilities.max(1).mean()),
        # 1 = all ten digits equally often, 0 = one digit only (+ 0.0 turns -0.0 into 0.0)
        "class_balance": float(entropy / np.log(10)) + 0.0,
        "frechet_distance": frechet_distance(features_model.predict(images, verbose=0, batch_size=500),
                                             reference_features),  # fmt: skip
    }


# Real digits against real digits: two disjoint halves of the test set give the floor.
reference_features = features_model.predict(test_images[:SCORED], verbose=0, batch_size=500)
for key, value in judge(test_images[-SCORED:], reference_features).items():
    results[f"real_test_{key}"] = value


# %% 2. The DCGAN: N(0, 0.02) weights [000], no batch normalization [002 §20]
# The generator upsamples with stride-2 transposed convolutions; the discriminator mirrors it.
def build_generator(seed, batch_norm=False):
    init = RandomNormal(stddev=0.02, seed=seed)

    def norm():
        return [keras.layers.BatchNormalization()] if batch_norm else []

    return keras.Sequential([
        keras.Input((LATENT,)),
        keras.layers.Dense(7 * 7 * 64, kernel_initializer=init), *norm(), keras.layers.LeakyReLU(0.2),
        keras.layers.Reshape((7, 7, 64)),
        keras.layers.Conv2DTranspose(32, 4, strides=2, padding="same", kernel_initializer=init),
        *norm(), keras.layers.LeakyReLU(0.2),
        keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="sigmoid", kernel_initializer=init),
    ], name="generator")  # fmt: skip


def build_discriminator(seed):
    init = RandomNormal(stddev=0.02, seed=seed)
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 4, strides=2, padding="same", kernel_initializer=init), keras.layers.LeakyReLU(0.2),
        keras.layers.Conv2D(64, 4, strides=2, padding="same", kernel_initializer=init), keras.layers.LeakyReLU(0.2),
        keras.layers.Flatten(),
        keras.layers.Dense(1, kernel_initializer=init),
    ], name="discriminator")  # fmt: skip


def build_gan():
    return GAN(build_generator(args.seed), build_discriminator(args.seed + 1), latent_dim=LATENT, seed=args.seed)


untrained_generator = build_generator(args.seed)  # the same initial weights the GAN starts from
results["generator_initial_kernel_std"] = float(np.std(untrained_generator.layers[0].kernel.numpy()))
for key, value in judge(untrained_generator.predict(
        np.random.RandomState(args.seed).normal(size=(SCORED, LATENT)).astype("float32"), verbose=0),
        reference_features).items():  # fmt: skip
    results[f"untrained_generator_{key}"] = value


# %% 3. Training: two optimizers, one train_step, model.fit; a grid after every epoch
# `train` compiles with one Adam; the GAN copies it, so each network has its own moments.
fixed_noise = np.random.RandomState(args.seed + 100).normal(size=(64, LATENT)).astype("float32")


def image_grid(images, rows, columns, title, path):
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.6, rows * 0.6))
    for axis, image in zip(np.ravel(axes), images):
        axis.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
        axis.axis("off")
    fig.suptitle(title)
    save_figure(fig, path)


class SampleGrids(keras.callbacks.Callback):
    """After each epoch: an 8x8 grid of samples from the fixed noise, and one row for the strip."""

    def on_train_begin(self, logs=None):
        self.rows = []

    def on_epoch_end(self, epoch, logs=None):
        images = self.model.generator(fixed_noise, training=False).numpy()
        image_grid(images, 8, 8, f"epoch {epoch + 1}", out / f"samples_epoch_{epoch + 1:02d}.png")
        self.rows.append(images[:10])
        print(f"epoch {epoch + 1}: d_loss {logs['d_loss']:.3f}  g_loss {logs['g_loss']:.3f}", flush=True)


grids = SampleGrids()
run = train(build_gan, data.train, epochs=GAN_EPOCHS, global_batch_size=BATCH, seed=args.seed,
            optimizer=lambda: Adam(learning_rate=2e-4, beta_1=0.5), loss=None, metrics=(),
            callbacks=[grids])  # fmt: skip
gan = run.model
image_grid(np.concatenate(grids.rows), len(grids.rows), 10, "the same 10 noise vectors, one row per epoch",
           out / "fixed_noise_grid.png")  # fmt: skip
results["epochs"] = GAN_EPOCHS
results["final_d_loss"], results["final_g_loss"] = run.history["d_loss"][-1], run.history["g_loss"][-1]
results["generator_adam_learning_rate"] = float(gan.g_optimizer.learning_rate.numpy())
results["generator_adam_beta_1"] = float(gan.g_optimizer.beta_1)
results["discriminator_adam_beta_1"] = float(gan.d_optimizer.beta_1)
results["optimizer_steps_generator"] = int(gan.g_optimizer.iterations.numpy())
results["optimizer_steps_discriminator"] = int(gan.d_optimizer.iterations.numpy())


# %% 4. The score: trained vs untrained generator vs real digits
# Lower Frechet distance and higher balance are better; confidence alone rewards one sharp digit.
noise = np.random.RandomState(args.seed + 200).normal(size=(SCORED, LATENT)).astype("float32")
generated = gan.generator.predict(noise, verbose=0, batch_size=500)
for key, value in judge(generated, reference_features).items():
    results[f"trained_generator_{key}"] = value
print(f"{'':20s} {'confidence':>10s} {'balance':>8s} {'Frechet':>8s}")
for name in ("real_test", "trained_generator", "untrained_generator"):
    print(f"{name:20s} {results[f'{name}_confidence']:10.3f} {results[f'{name}_class_balance']:8.3f} "
          f"{results[f'{name}_frechet_distance']:8.2f}")  # fmt: skip


# %% 5. BN noise [002 §20]: in training mode a BN generator's image depends on its batch
# The same z with two different sets of companions; BN normalizes with each batch's statistics.
def change_with_companions(generator, training):
    rng = np.random.RandomState(args.seed + 300)
    z = rng.normal(size=(1, LATENT)).astype("float32")
    batch_a = np.concatenate([z, rng.normal(size=(15, LATENT)).astype("float32")])
    batch_b = np.concatenate([z, rng.normal(size=(15, LATENT)).astype("float32")])
    image_a = generator(batch_a, training=training).numpy()[0]
    image_b = generator(batch_b, training=training).numpy()[0]
    return float(np.abs(image_a - image_b).max())


bn_generator = build_generator(args.seed, batch_norm=True)
results["bn_generator_change_training_mode"] = change_with_companions(bn_generator, training=True)
results["bn_generator_change_inference_mode"] = change_with_companions(bn_generator, training=False)
results["trained_generator_change_training_mode"] = change_with_companions(gan.generator, training=True)
print(f"same z, other companions: BN generator (training mode) changes by "
      f"{results['bn_generator_change_training_mode']:.3g}; ours by "
      f"{results['trained_generator_change_training_mode']:.3g}")  # fmt: skip


# %% 6. Export the generator as a versioned SavedModel and reload it
# `model.export` writes the TF Serving layout; writing to a temp folder then renaming is atomic.
model_root = args.saved_models_dir / "14_gan"
version_dir = model_root / str(next_version(model_root))
with atomic_directory(version_dir) as tmp:
    gan.generator.export(str(tmp), verbose=False)
reloaded = tf.saved_model.load(str(version_dir))
served = reloaded.serve(tf.constant(fixed_noise)).numpy()
results["saved_model"] = str(version_dir)
results["saved_model_max_abs_diff"] = float(np.abs(served - gan.generator(fixed_noise, training=False).numpy()).max())

report(results, out / "results.json", title="GAN")
