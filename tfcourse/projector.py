"""The TensorBoard embedding projector's two files: vectors.tsv and metadata.tsv (lesson L15).

    vectors.tsv   one row per word: its D numbers separated by tabs
    metadata.tsv  one row per word: the word (single column, so no header row)

Row i of both files is the same word. Load them at projector.tensorflow.org ("Load") or
with TensorBoard's projector plugin. Each file is written to a temporary path and renamed,
so an interrupted export never leaves a half-written pair.
"""

from pathlib import Path

import numpy as np

from tfcourse._atomic import atomic_write_text

__all__ = ["read_projector_files", "write_projector_files"]

VECTORS_FILE = "vectors.tsv"
METADATA_FILE = "metadata.tsv"


def write_projector_files(folder, vectors, words, *, precision=6):
    """Write `vectors` (N, D) and `words` (N,) as vectors.tsv + metadata.tsv in `folder`.

    Introduced in lesson L15. Returns (vectors_path, metadata_path).

    Raises ValueError when the shapes disagree, a vector is not finite, or a word is empty
    or holds a tab or a line break (it would shift the projector's rows).
    """
    vectors = np.asarray(vectors)
    words = [str(word) for word in words]
    if vectors.ndim != 2 or vectors.shape[0] != len(words) or vectors.shape[0] == 0:
        raise ValueError(
            "`vectors` must be a non-empty (N, D) array with one row per word. "
            f"Received: vectors.shape={vectors.shape}, len(words)={len(words)}"
        )
    if not np.all(np.isfinite(vectors)):
        raise ValueError("`vectors` must be finite. Received: an array with NaN or inf values")
    bad = [word for word in words if not word or any(c in word for c in "\t\r\n")]
    if bad:
        raise ValueError(f"`words` must be non-empty and hold no tab or line break. Received: {bad[0]!r}")
    folder = Path(folder)
    rows = "".join("\t".join(f"{x:.{precision}g}" for x in row) + "\n" for row in vectors.tolist())
    vectors_path, metadata_path = folder / VECTORS_FILE, folder / METADATA_FILE
    atomic_write_text(vectors_path, rows)
    atomic_write_text(metadata_path, "".join(word + "\n" for word in words))
    return vectors_path, metadata_path


def read_projector_files(folder):
    """Read back (vectors float32 (N, D), words list) from `folder`. Introduced in lesson L15."""
    folder = Path(folder)
    lines = (folder / VECTORS_FILE).read_text().splitlines()
    vectors = np.array([[float(x) for x in line.split("\t")] for line in lines], dtype=np.float32)
    words = (folder / METADATA_FILE).read_text().splitlines()
    if len(words) != len(vectors):
        raise ValueError(f"{folder}: {len(vectors)} vectors but {len(words)} metadata rows.")
    return vectors, words
