"""tfcourse: a Keras 3 / TensorFlow companion to a deep-learning course.

`import tfcourse` is light: it imports neither Keras nor TensorFlow, so the `tfcourse` command
answers `--help`, `lessons` and `data info` at once. Subpackages load on first use
(`tfcourse.layers`, `tfcourse.training`, ...).

Keras can still load `.keras` files that use tfcourse optimizers, initializers and layers with
no `custom_objects` once `tfcourse` is imported (schedules and callbacks too): their modules register them with
`keras.saving` when imported, and `import tfcourse` imports them as soon as Keras is loaded
(at once if Keras already is, otherwise right after `import keras` finishes, through a
one-shot import hook). `tfcourse.register_serializables()` does the same explicitly.
"""

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

_SERIALIZABLE_PACKAGES = ("callbacks", "initializers", "layers", "optimizers", "schedules")
_SUBMODULES = frozenset(
    {"callbacks", "cli", "data", "diagnostics", "fast_mnist", "gan", "initializers", "layers", "lessons", "models",
     "optimizers", "predict", "projector", "schedules", "search", "seq2seq", "serving", "training"}
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_serializables():
    """Import tfcourse's optimizers, initializers and layers, registering them with keras.saving.

    Introduced in lesson L00. Called by `import tfcourse` once Keras is loaded:

        for package in ("initializers", "layers", "optimizers"):
            import tfcourse.<package>      # @keras.saving.register_keras_serializable("tfcourse")
    """
    for name in _SERIALIZABLE_PACKAGES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            # Keras on another backend with no TensorFlow installed (the GPU benchmark host of
            # benchmarks/fast_mnist_keras.py): the Keras-only modules (models, schedules,
            # fast_mnist's recipes) must still import there.
            if error.name != "tensorflow":
                raise


class _LoaderThenRegister(importlib.abc.Loader):
    """Runs Keras's own loader, then `register_serializables`; anything else goes to Keras's loader."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        register_serializables()

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _RegisterWhenKerasLoads(importlib.abc.MetaPathFinder):
    """A one-shot finder: wraps the loader of the top-level `keras` package the first time."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("keras")
        if spec is not None and spec.loader is not None:
            spec.loader = _LoaderThenRegister(spec.loader)
        return spec


if "keras" in sys.modules:
    register_serializables()
elif not any(isinstance(finder, _RegisterWhenKerasLoads) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterWhenKerasLoads())
