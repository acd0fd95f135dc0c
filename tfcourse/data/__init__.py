"""Real MNIST and Fashion-MNIST offline, through TFDS (introduced in lesson L01).

- `prepare(name)`: write the dataset as a prepared TFDS dataset from its offline source
  (CLI: `tfcourse data prepare`); afterwards plain `tfds.load(name)` works offline.
- `load_splits(name, batch_size=...)`: batched, normalized train / validation / test pipelines.
- `load_arrays(name, split)`: a split as uint8 NumPy arrays.
- `tfcourse.data.dates`: the seeded synthetic dates task of lesson L16 (text -> ISO date).
"""

from tfcourse.data.errors import DataSourceError
from tfcourse.data.pipeline import DatasetSplits, SplitsInfo, class_names, epoch_stream, load_arrays, load_splits
from tfcourse.data.preparation import DATASETS, PrepareResult, dataset_path, prepare, resolve_data_dir

__all__ = [
    "DATASETS",
    "DataSourceError",
    "DatasetSplits",
    "PrepareResult",
    "SplitsInfo",
    "class_names",
    "dataset_path",
    "epoch_stream",
    "load_arrays",
    "load_splits",
    "prepare",
    "resolve_data_dir",
]
