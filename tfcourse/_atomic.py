"""Write-then-rename helpers, so an interrupted write never leaves a half-written result."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_directory(final_path, *, overwrite=False):
    """Yield a temporary directory beside `final_path`; rename it into place on success.

    On an exception the temporary directory is removed and `final_path` is untouched.
    With `overwrite=False` an existing `final_path` raises `FileExistsError` before any work.
    """
    final_path = Path(final_path)
    if final_path.exists() and not overwrite:
        raise FileExistsError(f"{final_path} already exists; refusing to overwrite it.")
    final_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final_path.name}.tmp-", dir=final_path.parent))
    try:
        yield tmp
        if final_path.exists():
            if not overwrite:
                raise FileExistsError(f"{final_path} appeared while writing; refusing to overwrite it.")
            shutil.rmtree(final_path)
        os.replace(tmp, final_path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_bytes(path, data):
    """Write `data` to `path` through a temporary file in the same directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text):
    atomic_write_bytes(path, text.encode("utf-8"))
