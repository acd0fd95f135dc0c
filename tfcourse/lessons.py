"""What every lesson script shares: its command line, where it writes, how it reports.

A lesson (see `lessons/`) calls `lesson_parser(__doc__)`, runs its `# %%` sections, and
ends with `report(...)`, which prints the key numbers and writes them as JSON beside the
figures. `discover_lessons()` backs `tfcourse lessons`.
"""

import argparse
import ast
import io
import json
from pathlib import Path

from tfcourse._atomic import atomic_write_bytes, atomic_write_text

__all__ = ["discover_lessons", "lesson_parser", "output_dir", "report", "save_figure"]

REPO_ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = REPO_ROOT / "lessons"


def lesson_parser(doc):
    """An `argparse` parser with the options every lesson takes (from lesson L00 on).

    --quick             a small, fast run for smoke tests (same code path, less data/epochs)
    --seed              global seed (`keras.utils.set_random_seed`)
    --output-dir        figures and results JSON (default: outputs/<lesson>)
    --saved-models-dir  where SavedModels are exported (default: saved_models/)
    """
    first_line = (doc or "").strip().splitlines()[0] if doc else None
    parser = argparse.ArgumentParser(
        description=first_line, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small fast run (smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="global random seed")
    parser.add_argument("--output-dir", type=Path, default=None, help="figures and results JSON")
    parser.add_argument(
        "--saved-models-dir", type=Path, default=REPO_ROOT / "saved_models", help="SavedModel exports"
    )
    return parser


def output_dir(args, lesson_name):
    """The lesson's output folder (created): `--output-dir` or outputs/<lesson_name>.

    Used by every lesson from L00 on.
    """
    folder = args.output_dir or (REPO_ROOT / "outputs" / lesson_name)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_figure(fig, path):
    """Save a matplotlib figure as PNG atomically and close it; returns the path.

    Used by every lesson from L00 on.
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
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


def discover_lessons(folder=LESSONS_DIR):
    """List lessons as (name, path, one-line summary), sorted by file name (lessons L00-L11).

    A lesson is any `NN_*.py` file in `lessons/`; its summary is the first line of its
    module docstring, read without importing (so listing is instant).
    """
    lessons = []
    for path in sorted(Path(folder).glob("[0-9][0-9]_*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else ""
        lessons.append((path.stem, path, summary))
    return lessons
