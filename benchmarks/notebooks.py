"""Run every lesson as a Jupyter notebook through a real kernel; record runtime and figures.

    python benchmarks/notebooks.py --write-only   # `make notebooks`: notebooks/<lesson>.ipynb
    python benchmarks/notebooks.py [--quick] [--only 04_initialization ...]   # `make notebooks-run`

Each `lessons/NN_*.py` is converted with jupytext (percent format, `# %%` cells) and executed
with nbclient in a fresh kernel whose working directory is a temporary folder; the lesson's
options come from the environment (`TFCOURSE_QUICK`, `TFCOURSE_OUTPUT_ROOT`,
`TFCOURSE_SAVED_MODELS_DIR`), as a student's notebook has no command line. The executed
notebooks are written to `notebooks/executed/` (git-ignored). A lesson that raises fails the run.
The JSON (`benchmarks/results/notebooks.json`; with `--quick`, a fresh temporary folder unless
`--results-dir` is given) gives per lesson the seconds and the number of inline figures.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
NOTEBOOKS = ROOT / "notebooks"


def lesson_paths(only=None):
    paths = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))
    return [p for p in paths if not only or p.stem in only]


def to_notebook(lesson_path):
    """The lesson script as an nbformat notebook (jupytext percent format)."""
    import jupytext

    return jupytext.read(lesson_path, fmt="py:percent")


def write_notebook(lesson_path, folder=NOTEBOOKS):
    import jupytext

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lesson_path.stem}.ipynb"
    jupytext.write(to_notebook(lesson_path), path, fmt="ipynb")
    return path


def execute(notebook, workdir, *, quick=True, timeout=900, extra_env=None):
    """Execute `notebook` in a fresh python3 kernel with cwd `workdir`; returns it executed.

    The kernel gets TFCOURSE_QUICK and puts outputs/ and saved_models/ under `workdir`;
    the working tree is on its PYTHONPATH, so it imports this checkout's `tfcourse`.
    """
    from nbclient import NotebookClient

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TFCOURSE_QUICK": "1" if quick else "0",
        "TFCOURSE_OUTPUT_ROOT": str(workdir / "outputs"),
        "TFCOURSE_SAVED_MODELS_DIR": str(workdir / "saved_models"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **(extra_env or {}),
    }
    env.pop("MPLBACKEND", None)  # the kernel's inline backend, as in Jupyter
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env=env)
    return notebook


def outputs_of(notebook, output_type=None):
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output_type is None or output.get("output_type") == output_type:
                yield output


def image_count(notebook):
    """How many image/png outputs (inline figures) the executed notebook holds."""
    return sum("image/png" in output.get("data", {}) for output in outputs_of(notebook))


def stdout_of(notebook):
    return "".join(o.get("text", "") for o in outputs_of(notebook, "stream") if o.get("name") == "stdout")


def run_notebooks(paths, workdir, *, quick, results_dir):
    """Execute each lesson at `paths` as a notebook (its outputs under workdir/<stem>/), save the
    executed notebooks to notebooks/executed/, write notebooks.json to `results_dir`; returns
    {stem: executed notebook}. A lesson that raises stops the run with its error."""
    import nbformat
    from _common import write_results

    rows, measured, executed_notebooks = [], {}, {}
    for path in paths:
        start = time.perf_counter()
        notebook = execute(to_notebook(path), Path(workdir) / path.stem, quick=quick)
        seconds = time.perf_counter() - start
        executed = NOTEBOOKS / "executed" / f"{path.stem}.ipynb"
        executed.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, executed)
        executed_notebooks[path.stem] = notebook
        measured[path.stem] = {"seconds": round(seconds, 1), "inline_figures": image_count(notebook)}
        rows.append([f"`{path.stem}`", f"{seconds:.0f} s", image_count(notebook)])
        print(f"{path.stem}: {seconds:.0f} s, {image_count(notebook)} inline figures", flush=True)
    write_results("notebooks", {
        "quick": quick,
        "lessons": measured,
        "readme_table": {"columns": ["lesson", "runtime as a notebook", "inline figures"], "rows": rows},
    }, results_dir=results_dir)
    return executed_notebooks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-only", action="store_true", help="only write notebooks/<lesson>.ipynb")
    parser.add_argument("--quick", action="store_true", help="run the lessons in quick mode")
    parser.add_argument("--only", nargs="+", metavar="STEM", help="these lessons only (e.g. 04_initialization)")
    parser.add_argument("--results-dir", type=Path, default=None, help="where notebooks.json goes")
    args = parser.parse_args()
    paths = lesson_paths(args.only)
    if not paths:
        parser.error(f"no lesson matches {args.only}")
    if args.write_only:
        for path in paths:
            print(f"wrote {write_notebook(path).relative_to(ROOT)}")
        return 0

    from _common import results_dir_for

    with tempfile.TemporaryDirectory() as tmp:
        run_notebooks(paths, Path(tmp), quick=args.quick, results_dir=args.results_dir or results_dir_for(args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
