"""The version-folder layout TF Serving watches: `<root>/<name>/<integer version>/` (lesson L11).

    next_version(model_root)  = 1 + max(integer folder names under model_root), 1 if none
    resolve_model_dir(folder) = folder itself if it holds saved_model.pb,
                                else its highest integer version folder holding one
"""

import re
from pathlib import Path

VERSION_PATTERN = re.compile(r"\d+")
CLASS_NAMES_FILE = Path("assets.extra") / "class_names.txt"


class PredictError(ValueError):
    """A bad model folder or image path, with a message that says what to fix (lesson L11)."""


def _integer_folders(model_root):
    return [p for p in Path(model_root).glob("*") if p.is_dir() and VERSION_PATTERN.fullmatch(p.name)]


def next_version(model_root):
    """1 + the largest integer version folder under `model_root` (1 if none) (lesson L11)."""
    return max((int(p.name) for p in _integer_folders(model_root)), default=0) + 1


def resolve_model_dir(model):
    """`saved_models/<name>` -> its highest integer version folder; a version folder as is (L11)."""
    model = Path(model)
    if not model.is_dir():
        raise PredictError(f"model folder not found: {model}")
    if (model / "saved_model.pb").is_file():
        return model
    versions = [p for p in _integer_folders(model) if (p / "saved_model.pb").is_file()]
    if not versions:
        raise PredictError(
            f"{model} holds no SavedModel: expected saved_model.pb or integer version folders "
            "(as written by tfcourse.serving.export)"
        )
    return max(versions, key=lambda p: int(p.name))


def read_class_names(version_dir):
    """The class names stored beside an exported SavedModel, or None for older exports (L11).

    They are plain UTF-8 text, one name per line, in `<version>/assets.extra/class_names.txt`
    (the SavedModel folder for files that higher-level tools read), so no tfcourse is needed.
    """
    path = Path(version_dir) / CLASS_NAMES_FILE
    if not path.is_file():
        return None
    return tuple(path.read_text(encoding="utf-8").splitlines())
