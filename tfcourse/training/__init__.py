"""Training engine: tf.distribute strategies, `train`, the custom loop, export (lesson L11).

    from tfcourse.training import train, export
    result = train(build_model, (x, y), epochs=3, global_batch_size=64, strategy="auto")
    path = export(result.model, "mnist_cnn")        # saved_models/mnist_cnn/<version>/

On several machines set TF_CONFIG on each and call `train(..., strategy="multi_worker")`
(or "auto"): it runs tfcourse's custom loop, because Keras 3.15 `model.fit` fails under
MultiWorkerMirroredStrategy (keras-team/keras#20585).
"""

from tfcourse.training.backup import TrainingBackup
from tfcourse.training.custom_loop import custom_fit, per_example_loss
from tfcourse.training.determinism import enable_determinism
from tfcourse.training.export import export, next_version  # the shim module, then its function
from tfcourse.training.fit import TrainResult, train
from tfcourse.training.setup import cpu_has_native_bfloat16, resolve_mixed_precision
from tfcourse.training.strategy import (
    cluster_size,
    get_strategy,
    is_chief,
    is_multi_worker,
    per_replica_batch_size,
    resolve_strategy_name,
    with_shard_policy,
)
from tfcourse.training.summaries import EpochSummaries
from tfcourse.training.xla_choice import XlaChoice, choose_jit_compile

__all__ = [
    "EpochSummaries",
    "TrainResult",
    "TrainingBackup",
    "XlaChoice",
    "choose_jit_compile",
    "cluster_size",
    "cpu_has_native_bfloat16",
    "custom_fit",
    "enable_determinism",
    "export",
    "get_strategy",
    "is_chief",
    "is_multi_worker",
    "next_version",
    "per_example_loss",
    "per_replica_batch_size",
    "resolve_mixed_precision",
    "resolve_strategy_name",
    "train",
    "with_shard_policy",
]
