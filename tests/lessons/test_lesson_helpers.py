"""`tfcourse.lessons`: the command line in a script and under a Jupyter kernel, the
environment defaults, paths relative to the working directory, and lesson discovery."""

import sys
import types
from pathlib import Path

import matplotlib
import pytest

from tfcourse import lessons

ROOT = Path(__file__).resolve().parents[2]
KERNEL_ARGV = ["ipykernel_launcher.py", "-f", "/tmp/kernel-1234.json"]


@pytest.fixture
def fake_kernel(monkeypatch):
    """Make `in_notebook()` true: IPython's shell with a `kernel`, as ipykernel sets up."""
    shell = types.SimpleNamespace(kernel=object())
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    ipython.version_info = (9, 0)  # matplotlib reads it
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setattr(sys, "argv", KERNEL_ARGV)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("TFCOURSE_QUICK", "TFCOURSE_SEED", "TFCOURSE_OUTPUT_ROOT", "TFCOURSE_SAVED_MODELS_DIR", "MPLBACKEND"):
        monkeypatch.delenv(name, raising=False)


def test_kernel_arguments_are_ignored_under_a_kernel(fake_kernel):
    assert lessons.in_notebook()
    args = lessons.lesson_parser("Doc.").parse_args()
    assert args.quick is False and args.seed == 0


def test_kernel_arguments_fail_in_a_script(monkeypatch):
    # Negative control: outside a kernel the same argv is an error, as before.
    monkeypatch.setattr(sys, "argv", KERNEL_ARGV)
    assert not lessons.in_notebook()
    with pytest.raises(SystemExit):
        lessons.lesson_parser("Doc.").parse_args()


@pytest.mark.parametrize("value, quick", [("1", True), ("true", True), ("0", False), ("", False)])
def test_quick_from_the_environment(fake_kernel, monkeypatch, value, quick):
    monkeypatch.setenv("TFCOURSE_QUICK", value)
    monkeypatch.setenv("TFCOURSE_SEED", "3")
    args = lessons.lesson_parser("Doc.").parse_args()
    assert args.quick is quick and args.seed == 3


def test_command_line_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TFCOURSE_SAVED_MODELS_DIR", str(tmp_path / "env"))
    args = lessons.lesson_parser("Doc.").parse_args(["--quick", "--saved-models-dir", str(tmp_path / "flag")])
    assert args.quick and args.saved_models_dir == tmp_path / "flag"


def test_default_folders_are_relative_to_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    args = lessons.lesson_parser("Doc.").parse_args([])
    assert args.saved_models_dir == Path("saved_models")
    folder = lessons.output_dir(args, "99_demo")
    assert folder.resolve() == tmp_path / "outputs" / "99_demo" and folder.is_dir()
    monkeypatch.setenv("TFCOURSE_OUTPUT_ROOT", str(tmp_path / "elsewhere"))
    assert lessons.output_dir(args, "99_demo") == tmp_path / "elsewhere" / "99_demo"
    assert "REPO_ROOT" not in vars(lessons), "no path derived from the package's install location"


def test_script_backend_is_agg_and_kernel_backend_is_left_alone(fake_kernel, monkeypatch):
    calls = []
    monkeypatch.setattr(matplotlib, "use", lambda name, **kw: calls.append(name))
    lessons.lesson_parser("Doc.")
    assert calls == []  # under a kernel: its inline backend stays
    monkeypatch.delitem(sys.modules, "IPython")  # a script again
    lessons.lesson_parser("Doc.")
    assert calls == ["Agg"]


def test_save_figure_writes_a_png_and_shows_it_under_a_kernel(fake_kernel, monkeypatch, tmp_path):
    import matplotlib.pyplot as plt

    shown = []
    display = types.ModuleType("IPython.display")
    display.Image = lambda data, format: ("image", format, data)
    display.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = lessons.save_figure(fig, tmp_path / "f.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    assert shown == [("image", "png", path.read_bytes())]
    assert not plt.fignum_exists(fig.number), "closed, so the inline backend does not show it twice"


def test_discover_lessons_from_the_working_directory_or_a_folder(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT / "tests")  # a subfolder: the nearest parent's lessons/ is found
    found = lessons.discover_lessons()
    assert [name for name, _, _ in found][0] == "00_quickstart"
    assert all(path.parent == ROOT / "lessons" for _, path, _ in found)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "01_first.py").write_text('"""First lesson.\n\nMore."""\n')
    assert lessons.discover_lessons(tmp_path / "mine") == [("01_first", tmp_path / "mine" / "01_first.py", "First lesson.")]
    monkeypatch.chdir(tmp_path)
    assert lessons.discover_lessons() == []  # no lessons/ here or above: nothing, not the install's
