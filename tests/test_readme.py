"""README's generated sections match the benchmark JSON and the lessons folder."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _render_module():
    spec = importlib.util.spec_from_file_location("render_readme", ROOT / "benchmarks" / "render_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_tables_are_generated_not_typed():
    render = _render_module()
    text = (ROOT / "README.md").read_text()
    assert "<!-- BEGIN lesson_list -->" in text and "<!-- BEGIN input_pipeline -->" in text
    assert render.render(text) == text, "run: python benchmarks/render_readme.py"


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert "make demo" in head and "make test" in head
    makefile = (ROOT / "Makefile").read_text()
    assert "\ndemo:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
