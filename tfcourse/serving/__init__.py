"""Serving: export a classifier as a versioned SavedModel, classify image files with it (L11).

    from tfcourse.serving import export, predict
    path = export(model, "fashion_cnn", class_names=class_names("fashion_mnist"))
    for p in predict("saved_models/fashion_cnn", ["shoe.png"]):
        print(p.class_name, p.probability)           # e.g. "Ankle boot 0.91"

`export` reads the input shape, dtype and output kind (logits or softmax probabilities) from
the model; `predict` reads the image shape and class names back from the SavedModel.
"""

from tfcourse.serving.images import load_image, to_mnist
from tfcourse.serving.prediction import Prediction, image_shape, load_model, predict
from tfcourse.serving.saved_model import OUTPUT_KINDS, classifier_output, export
from tfcourse.serving.versions import PredictError, next_version, read_class_names, resolve_model_dir

__all__ = [
    "OUTPUT_KINDS",
    "PredictError",
    "Prediction",
    "classifier_output",
    "export",
    "image_shape",
    "load_image",
    "load_model",
    "next_version",
    "predict",
    "read_class_names",
    "resolve_model_dir",
    "to_mnist",
]
