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


def test_readme_library_example_runs():
    text = (ROOT / "README.md").read_text()
    example = text.split("## Using the library", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(example, "README.md: Using the library", "exec"), namespace)
    import numpy as np

    model = namespace["model"]
    assert model(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 10)
    assert type(model.optimizer).__module__.startswith("tfcourse.optimizers")
