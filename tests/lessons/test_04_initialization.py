"""Lesson L04 reproduces the initialization claims and its errata (quick mode), run the way a
student opens it: converted to a notebook and executed through a Jupyter kernel, with its figures
shown inline. (The quickstart runs as a notebook too; every other lesson's test runs the script.)
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def notebook_run(tmp_path_factory, notebook_runner):
    notebook = notebook_runner.to_notebook(ROOT / "lessons" / "04_initialization.py")
    assert sum(cell.cell_type == "code" for cell in notebook.cells) > 3, "one cell per # %% section"
    workdir = tmp_path_factory.mktemp("notebook")
    executed = notebook_runner.execute(notebook, workdir, quick=True, timeout=600)
    assert not list(notebook_runner.outputs_of(executed, "error"))
    return executed, workdir / "outputs" / "04_initialization", workdir / "saved_models"


def test_figures_show_inline_and_are_saved(notebook_run, notebook_runner):
    executed, out, _ = notebook_run
    saved = sorted(p.name for p in out.glob("*.png"))
    assert saved, "the figures are also saved as files"
    # One inline image/png per saved figure: shown once, not twice (inline backend) nor zero (Agg).
    assert notebook_runner.image_count(executed) == len(saved)
    png = next(o for o in notebook_runner.outputs_of(executed) if "image/png" in o.get("data", {}))
    assert len(png["data"]["image/png"]) > 10_000  # base64 of a real plot, not an empty canvas
    assert "== L04 Initialization ==" in notebook_runner.stdout_of(executed)


def test_initialization_lesson_quick_run(notebook_run):
    _, out, models = notebook_run
    r = json.loads((out / "results.json").read_text())

    def var(name, layer):
        return r[f"{name}_var_layer{layer}"]

    # N(0, 0.01): the variance shrinks by fan_in * 0.01**2 = 0.05 per layer, collapsing.
    assert abs(r["normal_0.01_tanh_mean_ratio_per_layer"] - 0.05) < 0.005
    assert var("normal_0.01_tanh", 10) < 1e-11
    # N(0, 0.02): 500 * 0.02**2 = 0.2 per layer
    assert all(0.15 < var("normal_0.02_tanh", i + 1) / var("normal_0.02_tanh", i) < 0.25 for i in range(2, 10))
    # the notes' magnitude (~1e-25 at layer 8) when fan_in * Var(w) = 1e-3
    assert 1e-26 < var("notes_scale_tanh", 8) < 1e-23
    # 1/fan_in (the notes' "Xavier" = LeCun) and Glorot coincide for square layers; tanh compresses
    assert all(abs(var("glorot_tanh", i) / var("lecun_tanh", i) - 1) < 0.05 for i in range(1, 11))
    assert 0.3 < var("lecun_tanh", 1) < 0.5 and 0.03 < var("lecun_tanh", 10) < 0.1
    assert all(0.5 < var("he_relu", i) < 2.0 for i in range(1, 11))
    assert var("lecun_relu", 10) < 0.1 * var("he_relu", 10)

    # Errata: "variance 0.02" literally (std 0.141) saturates tanh; std 0.02 does not.
    assert r["normal_variance_0.02_tanh_layer10_saturated_fraction"] > 0.25
    assert r["normal_0.02_tanh_layer10_saturated_fraction"] == 0.0
    # np.random.rand as printed: units become copies; on ReLU the variance explodes.
    assert r["notes_rand_xavier_tanh_layer10_mean_unit_correlation"] > 0.99
    assert r["notes_rand_he_relu_layer10_mean_unit_correlation"] > 0.99
    assert r["lecun_tanh_layer10_mean_unit_correlation"] < 0.3 and r["he_relu_layer10_mean_unit_correlation"] < 0.3
    assert var("notes_rand_he_relu", 10) > 1e10
    # The notes' "correct" table (0.25 at layer 8) lies between tanh with 1/fan_in and He-ReLU.
    table8 = r["notes_corrected_table_layer8_variance"]
    assert var("lecun_tanh", 8) < 0.5 * table8 and var("he_relu", 8) > 2 * table8

    # All-zero init: symmetry never breaks, training goes nowhere
    assert r["mlp_zeros_tanh_distinct_hidden_units"] == 1
    assert r["mlp_zeros_sigmoid_distinct_hidden_units"] == 1
    assert r["mlp_zeros_tanh_val_accuracy"] < 0.2 and r["mlp_zeros_sigmoid_val_accuracy"] < 0.2
    assert r["mlp_glorot_uniform_tanh_distinct_hidden_units"] == 64
    assert r["mlp_glorot_uniform_tanh_val_accuracy"] > 0.7

    for figure in ("variance_per_layer", "activation_histograms"):
        assert (out / f"{figure}.png").stat().st_size > 10_000
    assert (Path(r["saved_model"]) / "saved_model.pb").is_file()
    assert Path(r["saved_model"]).parent == models / "04_initialization"
