"""The decoded-split cache: same arrays as TFDS's decoding, invalidated by re-preparing, atomic, optional."""

import shutil

import numpy as np
import pytest

from tfcourse.data import decoded_cache, pipeline
from tfcourse.data.decoded_cache import cache_key, cache_path, cached_split
from tfcourse.data.preparation import dataset_path


class CountingDecode:
    def __init__(self, images, labels):
        self.arrays, self.calls = (images, labels), 0

    def __call__(self):
        self.calls += 1
        return self.arrays


@pytest.fixture
def prepared(tmp_path):
    """A data folder holding a prepared-looking `mnist` (two small files)."""
    version = tmp_path / "mnist" / "3.0.1"
    version.mkdir(parents=True)
    (version / "dataset_info.json").write_text("{}")
    (version / "mnist-test.tfrecord-00000-of-00001").write_bytes(b"records")
    rng = np.random.default_rng(0)
    decode = CountingDecode(rng.integers(0, 256, (5, 28, 28, 1), dtype=np.uint8), np.arange(5, dtype=np.int64))
    return tmp_path, decode


def test_second_read_comes_from_the_file_not_the_decoder(prepared):
    data_dir, decode = prepared
    first = cached_split(data_dir, "mnist", "test", decode)
    second = cached_split(data_dir, "mnist", "test", decode)
    assert decode.calls == 1
    for got, want in zip(second, decode.arrays):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    for got, want in zip(first, decode.arrays):
        np.testing.assert_array_equal(got, want)
    assert cache_path(data_dir, "mnist", "test", cache_key(data_dir, "mnist", "test")).is_file()


def test_splits_have_their_own_files(prepared):
    data_dir, decode = prepared
    cached_split(data_dir, "mnist", "test", decode)
    cached_split(data_dir, "mnist", "test[:3]", decode)
    assert decode.calls == 2
    assert len(list((data_dir / decoded_cache.CACHE_FOLDER).glob("*.npz"))) == 2


def test_re_preparing_the_dataset_invalidates_and_removes_the_old_file(prepared):
    data_dir, decode = prepared
    cached_split(data_dir, "mnist", "test", decode)
    old = cache_path(data_dir, "mnist", "test", cache_key(data_dir, "mnist", "test"))
    (data_dir / "mnist" / "3.0.1" / "mnist-test.tfrecord-00000-of-00001").write_bytes(b"other records")
    new_arrays = (np.zeros((2, 28, 28, 1), np.uint8), np.array([7, 8]))
    decode.arrays = new_arrays
    images, labels = cached_split(data_dir, "mnist", "test", decode)
    assert decode.calls == 2
    np.testing.assert_array_equal(labels, [7, 8])
    assert not old.exists()
    assert [p.name for p in (data_dir / decoded_cache.CACHE_FOLDER).glob("*.npz")] == [
        cache_path(data_dir, "mnist", "test", cache_key(data_dir, "mnist", "test")).name]


def test_a_corrupt_file_is_decoded_again_and_replaced(prepared):
    data_dir, decode = prepared
    path = cache_path(data_dir, "mnist", "test", cache_key(data_dir, "mnist", "test"))
    path.parent.mkdir()
    path.write_bytes(b"PK\x03\x04 truncated")
    images, _ = cached_split(data_dir, "mnist", "test", decode)
    assert decode.calls == 1
    np.testing.assert_array_equal(images, decode.arrays[0])
    cached_split(data_dir, "mnist", "test", decode)
    assert decode.calls == 1  # the replacement is read


def test_an_unwritable_cache_folder_still_gives_the_arrays(prepared):
    data_dir, decode = prepared
    (data_dir / decoded_cache.CACHE_FOLDER).write_text("a file where the folder would go")
    for _ in range(2):
        images, _ = cached_split(data_dir, "mnist", "test", decode)
        np.testing.assert_array_equal(images, decode.arrays[0])
    assert decode.calls == 2


def test_unprepared_dataset_goes_to_the_decoder_and_writes_nothing(tmp_path):
    def decode():
        raise FileNotFoundError("not prepared")

    with pytest.raises(FileNotFoundError, match="not prepared"):
        cached_split(tmp_path, "mnist", "test", decode)
    assert not (tmp_path / decoded_cache.CACHE_FOLDER).exists()


def test_load_arrays_through_the_cache_equals_tfds_decoding(tmp_path):
    """A copy of the prepared MNIST: the first load writes the file, the second reads it; both equal TFDS's."""
    shutil.copytree(dataset_path("mnist"), tmp_path / "mnist" / dataset_path("mnist").name)
    by_tfds = pipeline._decode_with_tfds("mnist", "test", str(tmp_path))
    loads = []
    for _ in range(2):
        pipeline._decoded_split.cache_clear()  # a new process, as far as the in-memory cache knows
        loads.append(pipeline.load_arrays("mnist", "test", data_dir=tmp_path))
    pipeline._decoded_split.cache_clear()
    assert len(list((tmp_path / decoded_cache.CACHE_FOLDER).glob("mnist-test-*.npz"))) == 1
    for images, labels in loads:
        assert images.dtype == np.uint8 and images.shape == (10_000, 28, 28, 1) and labels.dtype == np.int64
        np.testing.assert_array_equal(images, by_tfds[0])
        np.testing.assert_array_equal(labels, by_tfds[1])
        assert not images.flags.writeable and not labels.flags.writeable
