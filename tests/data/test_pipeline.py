"""`load_splits`: shapes, scaling, split sizes, determinism, augmentation, validation."""

import numpy as np
import pytest
import tensorflow as tf

from tfcourse.data import load_arrays, load_splits


def _first_batch(dataset):
    images, labels = next(iter(dataset))
    return images.numpy(), labels.numpy()


def _count(dataset):
    return sum(int(labels.shape[0]) for _, labels in dataset)


def test_shapes_dtypes_and_sizes():
    splits = load_splits("mnist", batch_size=500)
    images, labels = _first_batch(splits.train)
    assert images.shape == (500, 28, 28, 1) and images.dtype == np.float32
    assert labels.dtype == np.int64
    assert (_count(splits.train), _count(splits.validation), _count(splits.test)) == (50_000, 10_000, 10_000)
    info = splits.info
    assert (info.num_train, info.num_validation, info.num_test) == (50_000, 10_000, 10_000)
    assert info.steps_per_epoch == 100
    assert info.class_names == tuple(str(i) for i in range(10))
    train, validation, test, unpacked_info = splits  # unpacks like a tuple
    assert unpacked_info is info


def test_scale_standardize_and_raw():
    raw_images, _ = load_arrays("mnist", "train")
    scaled = _first_batch(load_splits("mnist", batch_size=10_000, shuffle_seed=None).train)[0]
    np.testing.assert_allclose(scaled, raw_images[:10_000] / np.float32(255.0), rtol=1e-6)
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    unscaled = _first_batch(load_splits("mnist", batch_size=64, normalization=None, shuffle_seed=None).train)[0]
    np.testing.assert_array_equal(unscaled, raw_images[:64].astype(np.float32))

    splits = load_splits("mnist", batch_size=50_000, normalization="standardize")
    standardized = _first_batch(splits.train)[0].astype(np.float64)
    # The seeds' (x - mu) / sigma with mu, sigma of the training images: mean 0, std 1.
    assert standardized.mean() == pytest.approx(0.0, abs=1e-5)
    assert standardized.std() == pytest.approx(1.0, abs=1e-5)
    expected_mean = (raw_images[:50_000] / 255.0).mean()
    assert splits.info.mean == pytest.approx(expected_mean, rel=1e-12)


def test_validation_is_the_classic_last_10000_and_test_is_unshuffled():
    images, labels = load_arrays("mnist", "train")
    splits = load_splits("mnist", batch_size=10_000, normalization=None)
    val_images, val_labels = _first_batch(splits.validation)
    np.testing.assert_array_equal(val_labels, labels[50_000:])
    np.testing.assert_array_equal(val_images, images[50_000:].astype(np.float32))
    test_labels = _first_batch(splits.test)[1]
    np.testing.assert_array_equal(test_labels, load_arrays("mnist", "test")[1])
    # Training never sees a validation image: the shuffled train split is exactly the first 50,000.
    train_labels = np.concatenate([batch[1].numpy() for batch in splits.train])
    assert np.bincount(train_labels).tolist() == np.bincount(labels[:50_000]).tolist()


def test_shuffle_is_seeded_reshuffled_each_epoch_and_reproducible():
    def epochs(seed, count=2):
        dataset = load_splits("mnist", batch_size=256, shuffle_seed=seed).train
        return [np.concatenate([labels.numpy() for _, labels in dataset]) for _ in range(count)]

    first, again = epochs(7), epochs(7)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1])  # a new order every epoch
    assert not np.array_equal(first[0], epochs(8, count=1)[0])
    assert sorted(first[0].tolist()) == sorted(first[1].tolist())  # a permutation, nothing lost


def test_flatten_limit_validation_size_and_fashion_mnist():
    splits = load_splits("fashion_mnist", batch_size=32, flatten=True, train_limit=100, validation_size=0)
    images, _ = _first_batch(splits.train)
    assert images.shape == (32, 784)
    assert splits.validation is None
    assert _count(splits.train) == 100 and splits.info.num_train == 100
    assert splits.info.class_names[0] == "T-shirt/top"
    assert _count(load_splits("mnist", validation_size=5_000, batch_size=1000).validation) == 5_000
    dropped = load_splits("mnist", batch_size=64, train_limit=100, drop_remainder=True)
    assert _count(dropped.train) == 64


def test_augment_applies_to_training_batches_only():
    calls = []

    def flip(images, labels):
        calls.append(1)
        return tf.image.flip_left_right(images), labels

    plain = load_splits("mnist", batch_size=16, shuffle_seed=None, train_limit=16)
    augmented = load_splits("mnist", batch_size=16, shuffle_seed=None, train_limit=16, augment=flip)
    np.testing.assert_array_equal(_first_batch(augmented.train)[0], _first_batch(plain.train)[0][:, :, ::-1])
    np.testing.assert_array_equal(_first_batch(augmented.test)[0], _first_batch(plain.test)[0])
    assert calls  # traced into the training pipeline


def test_trains_a_model_through_fit():
    import keras

    splits = load_splits("mnist", batch_size=128, flatten=True, train_limit=2048, validation_size=1000)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(splits.train, validation_data=splits.validation, epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.6


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "`batch_size` must be an integer >= 1. Received: batch_size=0"),
        ({"normalization": "minmax"}, "`normalization` must be one of 'scale', 'standardize', None"),
        ({"validation_size": 60_000}, r"`validation_size` must be in \[0, 59999\]. Received: validation_size=60000"),
        ({"validation_size": 10.5}, "`validation_size` must be an integer"),
        ({"train_limit": -5}, "`train_limit` must be an integer >= 1"),
        ({"augment": "flip"}, "`augment` must be a callable or None"),
    ],
)
def test_bad_arguments_name_the_argument_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_splits("mnist", **kwargs)


def test_unprepared_dataset_says_how_to_prepare(tmp_path):
    with pytest.raises(FileNotFoundError, match="tfcourse data prepare"):
        load_arrays("mnist", "train", data_dir=tmp_path)


def test_epoch_order_is_a_function_of_seed_and_epoch():
    """`epoch_stream`: epoch e's batches depend on (shuffle_seed, e) only, not on iterators opened."""
    from tfcourse.data import epoch_stream

    def labels_of_epochs(stream, epochs, steps=4):
        batches = iter(stream)
        return [np.concatenate([next(batches)[1].numpy() for _ in range(steps)]) for _ in range(epochs)]

    splits = load_splits("mnist", batch_size=16, train_limit=64, validation_size=0, shuffle_seed=5)
    for _ in range(3):  # open (and use) other iterators first: it must not matter
        next(iter(splits.train))
    from_start = labels_of_epochs(epoch_stream(splits.train), 3)
    fresh = load_splits("mnist", batch_size=16, train_limit=64, validation_size=0, shuffle_seed=5)
    from_epoch_2 = labels_of_epochs(epoch_stream(fresh.train, first_epoch=2), 1)
    np.testing.assert_array_equal(from_epoch_2[0], from_start[2])
    assert not np.array_equal(from_start[0], from_start[1])  # a new order every epoch
    assert sorted(from_start[0]) == sorted(from_start[1])  # a permutation of the same examples
    other_seed = load_splits("mnist", batch_size=16, train_limit=64, validation_size=0, shuffle_seed=6)
    assert not np.array_equal(labels_of_epochs(epoch_stream(other_seed.train), 1)[0], from_start[0])
    unshuffled = load_splits("mnist", batch_size=16, train_limit=64, validation_size=0, shuffle_seed=None)
    stored = load_arrays("mnist", "train")[1][:64]
    np.testing.assert_array_equal(labels_of_epochs(epoch_stream(unshuffled.train, 3), 1)[0], stored)
    # Any other dataset (here the same split, mapped) has no epoch-indexed order.
    assert epoch_stream(splits.train.map(lambda x, y: (x, y))) is None
    with pytest.raises(ValueError, match="`first_epoch` must be an integer >= 0"):
        epoch_stream(splits.train, -1)


def test_standardization_statistics_follow_the_training_subset():
    """mu, sigma are cached per process: each subset still gets its own (cache key = the images used)."""
    raw_images, _ = load_arrays("mnist", "train")
    for train_limit, validation_size in [(1_000, 10_000), (None, 10_000), (None, 20_000), (1_000, 10_000)]:
        info = load_splits("mnist", train_limit=train_limit, validation_size=validation_size).info
        used = raw_images[: min(train_limit or 60_000, 60_000 - validation_size)].astype(np.float64) / 255.0
        assert (info.mean, info.std) == (float(used.mean()), float(used.std()))
