"""Read IDX files, the format of MNIST and Fashion-MNIST (used by `tfcourse data prepare`).

IDX layout: a 4-byte magic number 0x00 0x00 <dtype code> <number of dimensions>, then one
big-endian uint32 per dimension, then the values. Images are magic 2051 (uint8, 3 dims),
labels 2049 (uint8, 1 dim).
"""

import gzip
import zlib

import numpy as np

from tfcourse.data.errors import DataSourceError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def parse_idx(data, *, expected_magic, expected_shape, source_name="<bytes>"):
    """Parse uncompressed IDX `data` into a uint8 array, checking magic, shape and length."""
    if len(data) < 4:
        raise DataSourceError(f"{source_name}: truncated IDX header ({len(data)} bytes).")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise DataSourceError(
            f"{source_name}: bad IDX magic number {magic}; expected {expected_magic}."
        )
    ndim = data[3]
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataSourceError(f"{source_name}: truncated IDX header ({len(data)} bytes).")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if shape != tuple(expected_shape):
        raise DataSourceError(
            f"{source_name}: IDX shape {shape}; expected {tuple(expected_shape)}."
        )
    expected_size = header_size + int(np.prod(shape))
    if len(data) != expected_size:
        raise DataSourceError(
            f"{source_name}: {len(data)} bytes; expected {expected_size} for shape {shape} "
            "(the file is truncated or has trailing data)."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def read_idx_gz(path, *, expected_magic, expected_shape):
    """Read a gzip-compressed IDX file; return (array, uncompressed bytes)."""
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise DataSourceError(f"{path}: cannot decompress ({error}).") from error
    array = parse_idx(
        data, expected_magic=expected_magic, expected_shape=expected_shape, source_name=str(path)
    )
    return array, data
