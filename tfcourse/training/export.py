"""Deprecated home of `export` and `next_version`: use `tfcourse.serving` (lesson L11).

Kept for one release; the names below are `tfcourse.serving`'s own.
"""

from tfcourse.serving.images import IMAGE_SIZE
from tfcourse.serving.saved_model import export
from tfcourse.serving.versions import next_version

__all__ = ["IMAGE_SIZE", "export", "next_version"]
