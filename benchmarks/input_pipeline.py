"""Is input ever the bottleneck? Pipeline images/second vs what the models consume.

For the training pipeline of `tfcourse.data.load_splits` (MNIST, batch 128, shuffled,
scaled) this measures images per second delivered, then the images per second a 2-layer
MLP and a small CNN consume in `model.fit` when input costs nothing (one batch already
in memory, repeated). Target: pipeline >= 20x the CNN's consumption.

    python benchmarks/input_pipeline.py [--quick]

Writes benchmarks/results/input_pipeline.json.
"""

import argparse
import statistics
import time

import keras
import tensorflow as tf
from _common import write_results

from tfcourse.data import load_splits
from tfcourse.models import mnist_cnn, mnist_mlp

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()
repeats = 1 if args.quick else 5
BATCH = 128


def pipeline_rate(dataset):
    """Images per second over full epochs (after one warm-up epoch)."""
    rates = []
    for epoch in range(repeats + 1):
        start, seen = time.perf_counter(), 0
        for images, _ in dataset:
            seen += int(images.shape[0])
        if epoch:  # epoch 0 warms up tracing and the thread pools
            rates.append(seen / (time.perf_counter() - start))
    return statistics.median(rates)


def model_rate(model, flatten):
    """Images per second `fit` trains on when input is free."""
    shape = (BATCH, 784) if flatten else (BATCH, 28, 28, 1)
    batch = (tf.random.uniform(shape), tf.zeros((BATCH,), tf.int64))
    free_input = tf.data.Dataset.from_tensors(batch).repeat()
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=32,
    )
    steps = 4 if args.quick else 256
    model.fit(free_input, steps_per_epoch=steps if args.quick else 32, epochs=1, verbose=0)  # build and trace
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(free_input, steps_per_epoch=steps, epochs=1, verbose=0)
        rates.append(steps * BATCH / (time.perf_counter() - start))
    return statistics.median(rates)


mlp = mnist_mlp((256,))
cnn = mnist_cnn(dropout=0)

LIMIT = 2_048 if args.quick else None  # --quick: a smoke run on a slice of the training set
images_pipeline = pipeline_rate(load_splits("mnist", batch_size=BATCH, train_limit=LIMIT).train)
flat_pipeline = pipeline_rate(load_splits("mnist", batch_size=BATCH, flatten=True, train_limit=LIMIT).train)
mlp_rate = model_rate(mlp, flatten=True)
cnn_rate = model_rate(cnn, flatten=False)
ratios = {"mlp": flat_pipeline / mlp_rate, "cnn": images_pipeline / cnn_rate}
for name, value in ratios.items():
    print(f"pipeline / {name} consumption: {value:.1f}x")

write_results(
    "input_pipeline",
    {
        "quick": args.quick,
        "batch_size": BATCH,
        "pipeline_images_per_s": {"images": images_pipeline, "flat": flat_pipeline},
        "model_images_per_s": {"mlp_2layer": mlp_rate, "small_cnn": cnn_rate},
        "pipeline_over_model": ratios,
        "target_pipeline_over_cnn": 20.0,
        "meets_target": ratios["cnn"] >= 20.0,
        "readme_table": {
            "columns": ["model", "model consumes (img/s)", "pipeline delivers (img/s)", "headroom"],
            "rows": [
                ["2-layer MLP (784-256-10)", f"{mlp_rate:,.0f}", f"{flat_pipeline:,.0f}", f"{ratios['mlp']:.1f}x"],
                ["small CNN (2 conv)", f"{cnn_rate:,.0f}", f"{images_pipeline:,.0f}", f"{ratios['cnn']:.1f}x"],
            ],
        },
    },
)
