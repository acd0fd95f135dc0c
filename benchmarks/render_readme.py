"""Fill README.md's generated sections from benchmark JSON and the lessons folder.

    python benchmarks/render_readme.py          # rewrite README.md in place
    python benchmarks/render_readme.py --check  # exit 1 if README.md is out of date

A section is the text between `<!-- BEGIN name -->` and `<!-- END name -->`:
`lesson_list` lists `lessons/NN_*.py` with their one-line summaries and links to their figures
in docs/figures/<lesson>/ (written by `benchmarks/figures.py`); any other name is the
`readme_table` of `benchmarks/results/<name>.json` (or of every JSON file in the folder
`benchmarks/results/<name>/`, joined in file order), with the machine it was measured on; the
`lessons` table also shows each lesson's key figure (the first in docs/figures/<lesson>/).
No number in those sections is typed by hand.
"""

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfcourse.lessons import discover_lessons  # noqa: E402

README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"
FIGURES = ROOT / "docs" / "figures"
SECTION = re.compile(r"(<!-- BEGIN (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END (?P=name) -->)", re.S)


def markdown_table(columns, rows):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def lesson_figures(stem):
    """docs/figures/<stem>/*.png (written by benchmarks/figures.py), most telling first."""
    return sorted((FIGURES / stem).glob("*.png"))


def figure_links(stem):
    return " · ".join(
        f"[{png.stem.split('_', 1)[-1].replace('_', ' ')}]({png.relative_to(ROOT).as_posix()})"
        for png in lesson_figures(stem)
    )


def render_lessons():
    rows = [[f"`lessons/{path.name}`", summary, figure_links(stem) or "—"]
            for stem, path, summary in discover_lessons(ROOT / "lessons")]
    return markdown_table(["lesson", "what it shows", "figures"], rows)


def with_thumbnails(columns, rows):
    """The lessons table with each lesson's key figure (the first of docs/figures/<stem>/) beside
    its first row."""
    cells = []
    for row in rows:
        stem = row[0].strip("`")
        figures = lesson_figures(stem) if stem else []
        cells.append(f'<img src="{figures[0].relative_to(ROOT).as_posix()}" width="260">' if figures else "")
    return columns + ["key figure"], [row + [cell] for row, cell in zip(rows, cells)]


def machine_line(name, machines):
    dates = sorted(m.get("date_utc", "?") for m in machines)
    when = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    machine = machines[-1]
    return (
        f"_Measured by `benchmarks/{name}.py` on {when} UTC: "
        + (f"TF {machine['tensorflow']}, " if "tensorflow" in machine else f"no TensorFlow, {machine.get('backend', '?')} "
           f"{machine.get(machine.get('backend'), '?')}, ")
        + f"Keras {machine.get('keras', '?')}, "
        f"{machine.get('cpu_count', '?')} CPU cores"
        + (f", GPUs {', '.join(machine['gpus'])}" if machine.get("gpus") else ", no GPU")
        + (f", XLA_FLAGS `{machine['xla_flags']}`" if machine.get("xla_flags") else "")
        + "._"
    )


def render_results(name):
    folder, path = RESULTS / name, RESULTS / f"{name}.json"
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else [path] if path.is_file() else []
    if not paths:
        return f"_Not measured yet: run `python benchmarks/{name}.py`._"
    documents = [json.loads(p.read_text()) for p in paths]
    if not all(d.get("readme_table") for d in documents):
        return f"_`{name}` has a result without a `readme_table`._"
    columns = documents[0]["readme_table"]["columns"]
    rows = [row for d in documents for row in d["readme_table"]["rows"]]
    if name == "lessons":
        columns, rows = with_thumbnails(columns, rows)
    machines = [m for d in documents for m in (*d.get("previous_machines", []), d.get("machine", {}))]
    return markdown_table(columns, rows) + "\n\n" + machine_line(name, machines)


def render(text):
    def replace(match):
        name = match.group("name")
        body = render_lessons() if name == "lesson_list" else render_results(name)
        return f"{match.group(1)}{body}\n{match.group(4)}"

    return SECTION.sub(replace, text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    args = parser.parse_args()
    current = README.read_text()
    updated = render(current)
    if args.check:
        if updated != current:
            print("README.md is out of date: run python benchmarks/render_readme.py")
            return 1
        return 0
    README.write_text(updated)
    print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
