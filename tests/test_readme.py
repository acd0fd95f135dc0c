"""README's generated sections match the benchmark JSON and the lessons folder."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def render(load_script):
    return load_script(ROOT / "benchmarks" / "render_readme.py")


def test_readme_tables_are_generated_not_typed(render):
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


def test_machine_line_names_xla_flags_only_when_a_run_set_them(render):
    machine = {"date_utc": "2026-11-27 14:00", "backend": "jax", "jax": "0.11.2", "keras": "3.15.1", "cpu_count": 16,
               "gpus": ["NVIDIA H100 80GB HBM3"]}  # fmt: skip
    plain = render.machine_line("fast_mnist_keras", [machine])
    assert "XLA_FLAGS" not in plain and "jax 0.11.2" in plain
    flagged = render.machine_line("fast_mnist_keras", [{**machine, "xla_flags": "--xla_gpu_autotune_level=2"}])
    assert flagged == plain[:-2] + ", XLA_FLAGS `--xla_gpu_autotune_level=2`._"


def test_machine_line_spans_the_runs_a_continued_result_holds(render):
    first = {"date_utc": "2026-11-27 13:47", "keras": "3.15.1", "cpu_count": 16}
    later = {**first, "date_utc": "2026-11-28 09:10"}
    assert "on 2026-11-27 13:47 to 2026-11-28 09:10 UTC" in render.machine_line("fast_mnist_keras", [first, later])
    assert "on 2026-11-28 09:10 UTC" in render.machine_line("fast_mnist_keras", [later])  # control: one run


def test_rendered_results_date_the_runs_a_continued_result_holds(render, tmp_path, monkeypatch):
    import json

    table = {"columns": ["run"], "rows": [["record"]]}
    document = {"readme_table": table, "machine": {"date_utc": "2026-11-28 09:10"},
                "previous_machines": [{"date_utc": "2026-11-27 13:47"}]}  # fmt: skip
    (tmp_path / "fast_mnist_keras.json").write_text(json.dumps(document))
    monkeypatch.setattr(render, "RESULTS", tmp_path)
    assert "on 2026-11-27 13:47 to 2026-11-28 09:10 UTC" in render.render_results("fast_mnist_keras")
    del document["previous_machines"]  # control: a run of its own is dated alone
    (tmp_path / "fast_mnist_keras.json").write_text(json.dumps(document))
    assert "on 2026-11-28 09:10 UTC" in render.render_results("fast_mnist_keras")
