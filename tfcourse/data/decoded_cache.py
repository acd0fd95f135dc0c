"""Decoded splits kept as uint8 arrays on disk, so a new process skips TFDS's PNG decoding.

Introduced in lesson L00 (every `load_splits` / `load_arrays` call reads through it).

TFDS stores each MNIST image PNG-encoded; `tfds.load(..., batch_size=-1)` decodes all 60,000
training images in every new process (~3.4 s of CPU on the 2-core machine; every lesson run
and every training child of the tests pays it). The decoded arrays are written once, next
to the prepared datasets, and read back in milliseconds:

    key  = sha256(format, name, split, [(file, size, mtime) for the files of <data_dir>/<name>/*/])
    file = <data_dir>/.tfcourse-decoded/<name>-<split>-<key[:16]>.npz   (images uint8, labels int64)

Re-preparing a dataset changes its files, hence the key: the old file is never read again
(and is removed when the new one is written). Writes are atomic (temporary file, then
rename); an unreadable cache file is decoded again and replaced; a read-only data folder
just decodes every time.
"""

import hashlib
import io
import re
import zipfile
from pathlib import Path

import numpy as np

from tfcourse._atomic import atomic_write_bytes

CACHE_FOLDER = ".tfcourse-decoded"
_FORMAT = 1


def cache_key(data_dir, name, split):
    """Hex digest naming the prepared files of `name` (names, sizes, mtimes) and `split`; None if unprepared."""
    files = sorted(p for p in (Path(data_dir) / name).glob("*/*") if p.is_file())
    if not files:
        return None
    digest = hashlib.sha256(f"{_FORMAT}\n{name}\n{split}\n".encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(data_dir)}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_path(data_dir, name, split, key):
    return Path(data_dir) / CACHE_FOLDER / f"{_prefix(name, split)}{key[:16]}.npz"


def _prefix(name, split):
    return f"{name}-{re.sub(r'[^A-Za-z0-9]+', '_', split)}-"


def cached_split(data_dir, name, split, decode):
    """(images, labels) of `split`: from the cache file if it is current, else `decode()` and store them."""
    key = cache_key(data_dir, name, split)
    if key is None:
        return decode()  # not prepared: decode() raises the error that says how to prepare it
    path = cache_path(data_dir, name, split, key)
    try:
        with np.load(path, allow_pickle=False) as stored:
            return stored["images"], stored["labels"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        pass  # missing, or unreadable: decode again
    images, labels = decode()
    buffer = io.BytesIO()
    np.savez(buffer, images=images, labels=labels)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:
        return images, labels  # a read-only data folder: keep decoding each time
    for stale in path.parent.glob(f"{_prefix(name, split)}*.npz"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return images, labels
