"""Input pipelines for the lessons, on top of `tfds.load` (introduced in lesson L01).

`load_splits("mnist", batch_size=128)` gives batched train / validation / test
`tf.data.Dataset`s of (float32 images, int64 labels):

    images = uint8 pixels from the prepared TFDS dataset
    scale:        x = images / 255                      -> [0, 1]
    standardize:  x = (images / 255 - mu) / sigma       (mu, sigma from the training images)
    validation  = the last `validation_size` images of TFDS's train split (the classic
                  50,000 / 10,000 split of MNIST for the default 10,000)

Resumable order: a training epoch's order is a pure function of (shuffle_seed, epoch):

    order(epoch) = stateless_shuffle(range(N), seed=(shuffle_seed, epoch))

`tfcourse.training.train` reads the batches of epoch e straight from that function
(`epoch_stream(splits.train, first_epoch=e)`), so a run restarted from a backup at epoch e
sees exactly the batches the uninterrupted run saw, however many iterators either process
opened. Iterated on its own (`for batch in splits.train`, `model.fit(splits.train)`), the
dataset reshuffles on every pass (k-th pass of this object = a new seeded order).

Speed: each split is decoded from TFDS once (later processes read the decoded uint8 arrays
back from `tfcourse.data.decoded_cache`) and held in memory as uint8 (~47 MB for 60,000
images: what `cache()` would hold, without a first slow epoch). Each
training epoch shuffles indices with the seed and gathers whole batches, then scales the
batch in one vectorized op, so a 2-core CPU spends microseconds per batch on input
(`benchmarks/input_pipeline.py` measures it against the models' step rate).
"""

import dataclasses
import functools
from typing import Callable, Optional

import numpy as np

from tfcourse._validation import check_in_range, check_int, check_one_of, check_positive_int
from tfcourse.data.decoded_cache import cached_split
from tfcourse.data.preparation import DATASETS, resolve_data_dir

NORMALIZATIONS = ("scale", "standardize", None)


@dataclasses.dataclass(frozen=True)
class SplitsInfo:
    """Facts about a `DatasetSplits`: sizes, classes, normalization. Introduced in lesson L00."""

    name: str
    num_train: int
    num_validation: int
    num_test: int
    batch_size: int
    class_names: tuple
    normalization: Optional[str]
    mean: float  # of the training images on the [0, 1] scale
    std: float

    @property
    def steps_per_epoch(self):
        return -(-self.num_train // self.batch_size)


@dataclasses.dataclass(frozen=True)
class DatasetSplits:
    """`train`, `validation` (None when validation_size=0), `test` datasets and `info`.

    Introduced in lesson L00.
    """

    train: object
    validation: object
    test: object
    info: SplitsInfo

    def __iter__(self):  # allows `train, validation, test, info = load_splits(...)`
        return iter((self.train, self.validation, self.test, self.info))


@functools.lru_cache(maxsize=8)
def _decoded_split(name, split, data_dir):
    images, labels = cached_split(data_dir, name, split, lambda: _decode_with_tfds(name, split, data_dir))
    images.setflags(write=False)
    labels = labels.astype(np.int64)
    labels.setflags(write=False)
    return images, labels


def _decode_with_tfds(name, split, data_dir):
    import tensorflow_datasets as tfds

    try:
        return tfds.as_numpy(
            tfds.load(name, split=split, data_dir=data_dir, as_supervised=True, batch_size=-1,
                      download=False)
        )
    except (AssertionError, FileNotFoundError) as error:
        raise FileNotFoundError(
            f"Dataset `{name}` is not prepared in {data_dir}. Run: tfcourse data prepare "
            f"(or `make demo`)."
        ) from error


@functools.lru_cache(maxsize=16)
def _pixel_moments(name, data_dir, count):
    """Mean and std on the [0, 1] scale of the first `count` training images (computed once per process)."""
    pixels = _decoded_split(name, "train", data_dir)[0][:count].astype(np.float64) / 255.0
    return float(pixels.mean()), float(pixels.std())


def load_arrays(name="mnist", split="train", data_dir=None):
    """The split as NumPy: uint8 images (N, 28, 28, 1) and int64 labels (N,), read-only.

    Introduced in lesson L00.

    `split` takes TFDS's slicing syntax ("train[:50000]"). Cached per process.
    """
    check_one_of("name", name, DATASETS)
    return _decoded_split(name, split, str(resolve_data_dir(data_dir)))


def class_names(name, data_dir=None):
    """The dataset's class names, from TFDS's own builder metadata. Introduced in lesson L00."""
    check_one_of("name", name, DATASETS)
    return _builder_class_names(name, str(resolve_data_dir(data_dir)))


@functools.lru_cache(maxsize=8)
def _builder_class_names(name, data_dir):
    import tensorflow_datasets as tfds

    return tuple(tfds.builder(name, data_dir=data_dir).info.features["label"].names)


_EPOCH_BATCHES = "_tfcourse_epoch_batches"  # attribute of a train dataset: epoch -> its batches


def epoch_stream(dataset, first_epoch=0):
    """Endless batches of epochs first_epoch, first_epoch + 1, ... of an epoch-ordered dataset.

    Introduced in lesson L11 (exact resume). For `load_splits(...).train` (shuffled or not)
    epoch e's batches are a function of (shuffle_seed, e) alone (see the module docstring);
    returns None for any other dataset, whose order depends on its own iteration state.
    """
    epoch_batches = getattr(dataset, _EPOCH_BATCHES, None)
    if epoch_batches is None:
        return None
    import tensorflow as tf

    first_epoch = check_int("first_epoch", first_epoch, low=0)
    return tf.data.Dataset.counter(first_epoch).flat_map(epoch_batches).prefetch(tf.data.AUTOTUNE)


def _epoch_batches(images, labels, batch_size, normalize, *, seed, drop_remainder):
    """epoch -> that epoch's batches: order = stateless_shuffle(range(N), (seed, epoch))."""
    import tensorflow as tf

    images = tf.constant(images)
    labels = tf.constant(labels)
    count = int(images.shape[0])

    def batches(epoch):
        indices = tf.range(count, dtype=tf.int64)
        if seed is not None:
            key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
            indices = tf.random.experimental.stateless_shuffle(indices, seed=key)
        return (
            tf.data.Dataset.from_tensor_slices(indices)
            .batch(batch_size, drop_remainder=drop_remainder)
            .map(lambda index: normalize(tf.gather(images, index), tf.gather(labels, index)))
        )

    return batches


def _batches(images, labels, batch_size, normalize, *, seed=None, drop_remainder=False):
    import tensorflow as tf

    images = tf.constant(images)
    labels = tf.constant(labels)
    indices = tf.data.Dataset.range(int(images.shape[0]))
    if seed is not None:
        indices = indices.shuffle(int(images.shape[0]), seed=seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size, drop_remainder=drop_remainder)
    return batches.map(
        lambda index: normalize(tf.gather(images, index), tf.gather(labels, index)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )


def load_splits(
    name="mnist",
    *,
    batch_size=128,
    normalization="scale",
    validation_size=10_000,
    flatten=False,
    shuffle_seed=0,
    augment: Optional[Callable] = None,
    data_dir=None,
    train_limit=None,
    drop_remainder=False,
):
    """Batched train / validation / test pipelines of a prepared dataset.

    Introduced in lesson L00 (the quickstart); every lesson loads its data this way.

    Args:
        name: "mnist" or "fashion_mnist" (prepared by `tfcourse data prepare`).
        batch_size: examples per batch; under `tf.distribute` this is the global batch.
        normalization: "scale" (x / 255), "standardize" ((x / 255 - mu) / sigma, the
            training images' mean and std), or None (float32 0..255).
        validation_size: images carved from the end of the train split, 0..59,999.
        flatten: yield (B, 784) instead of (B, 28, 28, 1), for dense models.
        shuffle_seed: seed of the per-epoch training shuffle (reshuffled every epoch,
            same sequence of orders for the same seed; under `tfcourse.training.train`
            epoch e's order is a function of (shuffle_seed, e), see `epoch_stream`);
            None disables shuffling.
        augment: optional `fn(images, labels) -> (images, labels)` applied to each
            normalized training batch (never to validation or test).
        data_dir: TFDS data directory (default: `$TFDS_DATA_DIR` or ~/tensorflow_datasets).
        train_limit: keep only the first N training images (quick runs).
        drop_remainder: drop the last partial training batch.
    """
    import tensorflow as tf

    check_one_of("name", name, DATASETS)
    batch_size = check_positive_int("batch_size", batch_size)
    check_one_of("normalization", normalization, NORMALIZATIONS)
    check_in_range("validation_size", validation_size, 0, 59_999)
    if not isinstance(validation_size, int):
        raise ValueError(f"`validation_size` must be an integer. Received: validation_size={validation_size!r}")
    if train_limit is not None:
        train_limit = check_positive_int("train_limit", train_limit)
    if augment is not None and not callable(augment):
        raise ValueError(f"`augment` must be a callable or None. Received: augment={augment!r}")

    all_images, all_labels = load_arrays(name, "train", data_dir)
    test_images, test_labels = load_arrays(name, "test", data_dir)
    cut = len(all_images) - validation_size
    train_images, train_labels = all_images[:cut], all_labels[:cut]
    if train_limit is not None:
        train_images, train_labels = train_images[:train_limit], train_labels[:train_limit]

    mean, std = _pixel_moments(name, str(resolve_data_dir(data_dir)), len(train_images))
    shape = (-1, 784) if flatten else (-1, 28, 28, 1)

    def normalize(images, labels):
        x = tf.cast(images, tf.float32)
        if normalization == "scale":
            x = x / 255.0
        elif normalization == "standardize":
            x = (x / 255.0 - mean) / std
        return tf.reshape(x, shape), labels

    def normalize_and_augment(images, labels):
        images, labels = normalize(images, labels)
        return augment(images, labels) if augment is not None else (images, labels)

    train = _batches(
        train_images, train_labels, batch_size, normalize_and_augment,
        seed=shuffle_seed, drop_remainder=drop_remainder,
    ).prefetch(tf.data.AUTOTUNE)
    setattr(train, _EPOCH_BATCHES, _epoch_batches(
        train_images, train_labels, batch_size, normalize_and_augment,
        seed=shuffle_seed, drop_remainder=drop_remainder,
    ))  # fmt: skip
    # Evaluation batches are the same every epoch: normalize once, then replay from cache.
    validation = (
        _batches(all_images[cut:], all_labels[cut:], batch_size, normalize).cache().prefetch(tf.data.AUTOTUNE)
        if validation_size
        else None
    )
    test = _batches(test_images, test_labels, batch_size, normalize).cache().prefetch(tf.data.AUTOTUNE)
    info = SplitsInfo(
        name=name,
        num_train=len(train_images),
        num_validation=validation_size,
        num_test=len(test_images),
        batch_size=batch_size,
        class_names=class_names(name, data_dir),
        normalization=normalization,
        mean=mean,
        std=std,
    )
    return DatasetSplits(train, validation, test, info)
