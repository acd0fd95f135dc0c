"""Every public library symbol has a docstring that names the lesson introducing it."""

import importlib
import inspect
import re

import pytest

MODULES = [
    "tfcourse.optimizers", "tfcourse.initializers", "tfcourse.layers", "tfcourse.training",
    "tfcourse.data", "tfcourse.models", "tfcourse.serving", "tfcourse.predict", "tfcourse.lessons",
    "tfcourse.diagnostics", "tfcourse.search", "tfcourse.gan", "tfcourse.schedules", "tfcourse.callbacks",
    "tfcourse.fast_mnist", "tfcourse.seq2seq", "tfcourse.data.dates", "tfcourse.data.text_corpus", "tfcourse.projector",
]


def _public_symbols():
    for name in MODULES:
        module = importlib.import_module(name)
        for symbol in getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]:
            obj = getattr(module, symbol)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__.startswith("tfcourse"):
                yield f"{name}.{symbol}", obj


@pytest.mark.parametrize("qualified, obj", list(_public_symbols()), ids=lambda v: v if isinstance(v, str) else "")
def test_docstring_names_its_lesson(qualified, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{qualified} has no docstring"
    assert re.search(r"\bL\d\d\b", doc), f"{qualified}'s docstring names no lesson (e.g. 'lesson L03')"
