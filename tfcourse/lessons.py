"""What every lesson script shares: its command line, where it writes, how it reports.

A lesson (see `lessons/`) calls `lesson_parser(__doc__).parse_args()`, runs its `# %%`
sections, and ends with `report(...)`, which prints the key numbers and writes them as JSON
beside the figures. `discover_lessons()` backs `tfcourse lessons`.

The same file runs unchanged as a script and as a notebook (jupytext, `make notebooks`):
under a Jupyter kernel the parser ignores the kernel's own command line and reads its options
from the environment (`TFCOURSE_QUICK=1`, ...), and `save_figure` shows each figure inline
before saving it. Every default path is relative to the current working directory, never to
where the package is installed.
"""

import argparse
import ast
import io
import json
import os
import sys
from pathlib import Path

from tfcourse._atomic import atomic_write_bytes, atomic_write_text

__all__ = ["discover_lessons", "find_lessons_dir", "in_notebook", "lesson_parser", "output_dir", "report", "save_figure"]

# Environment variables read as the defaults of the options (a command-line flag wins). They are
# how a notebook, which has no command line, asks for a quick run or other folders.
QUICK_ENV = "TFCOURSE_QUICK"
SEED_ENV = "TFCOURSE_SEED"
OUTPUT_ROOT_ENV = "TFCOURSE_OUTPUT_ROOT"
SAVED_MODELS_ENV = "TFCOURSE_SAVED_MODELS_DIR"
_TRUE = {"1", "true", "yes", "on"}


def in_notebook():
    """True when running under a Jupyter kernel (notebook, VS Code, Colab). Used from lesson L00 on.

    kernel = IPython.get_ipython().kernel   (absent in a plain script or a terminal IPython)
    """
    if "IPython" not in sys.modules:  # a kernel always has IPython imported; a script rarely does
        return False
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


class _LessonArgumentParser(argparse.ArgumentParser):
    """`parse_args()` with no arguments reads nothing from argv under a kernel.

    A kernel's argv is `ipykernel_launcher.py -f <connection file>.json`: not the lesson's.
    """

    def parse_known_args(self, args=None, namespace=None):
        if args is None and in_notebook():
            args = []
        return super().parse_known_args(args, namespace)


def _use_lesson_backend():
    """Script: the file-only Agg backend (no windows, no display needed). Kernel: leave its
    inline backend alone, so figures show in the notebook. `MPLBACKEND` set by the user wins."""
    if in_notebook() or os.environ.get("MPLBACKEND"):
        return
    import matplotlib

    matplotlib.use("Agg")


def lesson_parser(doc):
    """An `argparse` parser with the options every lesson takes (from lesson L00 on).

    --quick             a small, fast run for smoke tests (same code path, less data/epochs);
                        default: $TFCOURSE_QUICK (1/true/yes/on)
    --seed              global seed (`keras.utils.set_random_seed`); default $TFCOURSE_SEED or 0
    --output-dir        figures and results JSON (default: $TFCOURSE_OUTPUT_ROOT/<lesson>, with
                        TFCOURSE_OUTPUT_ROOT defaulting to outputs/ in the working directory)
    --saved-models-dir  where SavedModels are exported (default: $TFCOURSE_SAVED_MODELS_DIR or
                        saved_models/ in the working directory)

    Under a Jupyter kernel `parse_args()` ignores the kernel's argv, so only the environment
    sets these. Creating the parser also picks the figure backend: Agg in a script, the
    kernel's inline backend in a notebook.
    """
    _use_lesson_backend()
    first_line = (doc or "").strip().splitlines()[0] if (doc or "").strip() else None
    parser = _LessonArgumentParser(
        description=first_line, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    quick_default = os.environ.get(QUICK_ENV, "").strip().lower() in _TRUE
    parser.add_argument("--quick", action="store_true", default=quick_default, help="small fast run (smoke test)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get(SEED_ENV, 0)), help="global random seed")
    parser.add_argument("--output-dir", type=Path, default=None, help="figures and results JSON")
    parser.add_argument(
        "--saved-models-dir",
        type=Path,
        default=Path(os.environ.get(SAVED_MODELS_ENV) or "saved_models"),
        help="SavedModel exports",
    )
    return parser


def output_dir(args, lesson_name):
    """The lesson's output folder (created): `--output-dir` or <output root>/<lesson_name>.

    output root = $TFCOURSE_OUTPUT_ROOT or outputs/, relative to the working directory.
    Used by every lesson from L00 on.
    """
    root = Path(os.environ.get(OUTPUT_ROOT_ENV) or "outputs")
    folder = Path(args.output_dir or (root / lesson_name))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_figure(fig, path):
    """Save a matplotlib figure as PNG atomically and close it; returns the path.

    In a notebook the same PNG is first shown inline (as an image/png output), so a figure
    appears once, whatever backend the lesson runs under. Used by every lesson from L00 on.
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    if in_notebook():
        from IPython.display import Image, display

        display(Image(data=buffer.getvalue(), format="png"))
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def report(results, path=None, title="Results"):
    """Print `results` (a flat dict of name -> number/string) and write them as JSON.

    Used by every lesson from L00 on.
    """
    width = max((len(str(k)) for k in results), default=0)
    print(f"\n== {title} ==")
    for key, value in results.items():
        shown = f"{value:.6g}" if isinstance(value, float) else value
        print(f"{str(key):<{width}}  {shown}")
    if path is not None:
        atomic_write_text(path, json.dumps(results, indent=2, default=str) + "\n")
    return results


def find_lessons_dir(start=None):
    """The `lessons/` folder in `start` (default: the working directory) or the nearest parent
    that has one; None if there is none. Used by `tfcourse lessons` (lesson L00 on)."""
    start = Path(start or Path.cwd()).resolve()
    for folder in [start, *start.parents]:
        candidate = folder / "lessons"
        if candidate.is_dir() and any(candidate.glob("[0-9][0-9]_*.py")):
            return candidate
    return None


def discover_lessons(folder=None):
    """List lessons as (name, path, one-line summary), sorted by file name (lessons L00-L11).

    A lesson is any `NN_*.py` file in `folder` (default: `find_lessons_dir()`, the `lessons/`
    folder of the working directory or its nearest parent); its summary is the first line of
    its module docstring, read without importing (so listing is instant).
    """
    folder = folder if folder is not None else find_lessons_dir()
    if folder is None:
        return []
    lessons = []
    for path in sorted(Path(folder).glob("[0-9][0-9]_*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else ""
        lessons.append((path.stem, path, summary))
    return lessons
