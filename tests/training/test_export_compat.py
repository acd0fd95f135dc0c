"""The old import paths of export and predict re-export `tfcourse.serving`'s names (one release, L11)."""

import tfcourse.predict
import tfcourse.serving
import tfcourse.training
import tfcourse.training.export  # noqa: F401  (the module, shadowed by the function on the package)


def test_old_paths_are_the_serving_names():
    import sys

    legacy_export = sys.modules["tfcourse.training.export"]
    assert legacy_export.export is tfcourse.serving.export
    assert legacy_export.next_version is tfcourse.serving.next_version
    assert tfcourse.training.export is tfcourse.serving.export
    assert tfcourse.training.next_version is tfcourse.serving.next_version
    for name in ("PredictError", "Prediction", "load_image", "load_model", "predict", "resolve_model_dir",
                 "to_mnist"):
        assert getattr(tfcourse.predict, name) is getattr(tfcourse.serving, name), name
