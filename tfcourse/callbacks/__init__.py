"""Training callbacks from the course notes, written on the public `keras.callbacks.Callback` API.

Introduced in lessons L03 (decay, plateau) and L05 (early stopping, monitors, averaging).
They use only `self.model`, `logs`, `model.optimizer.learning_rate` and `model.stop_training`,
so they work under `model.fit` and under any loop that drives `keras.callbacks.CallbackList`.

    LearningRateDecay(schedule)        a tfcourse.schedules schedule, applied per epoch
    ReduceLROnPlateau(...)             Keras's arguments; "halve when val error stalls"
    EarlyStopping(...)                 Keras's arguments, restores best weights
    SanityCheck(num_classes)           first loss vs ln(C); loss stuck at chance
    UpdateRatioMonitor()               ||update|| / ||w|| per variable (~1e-3)
    ActivationMonitor(probe_x)         per-layer mean/std/dead-ReLU table, histograms
    NaNGuard()                         stop on NaN/inf loss, restore last good weights
    TrainingCurves(path)               train vs validation curves PNG
    FilterImages(path)                 first-layer conv filters PNG
    WeightAveraging(mode, k)           average of the last k epochs / SWA, BN recomputed
    ensemble_predict(models, x)        mean prediction of models or checkpoints
"""

from tfcourse.callbacks.activation_monitor import ActivationMonitor, activation_statistics
from tfcourse.callbacks.early_stopping import EarlyStopping
from tfcourse.callbacks.ensemble import ensemble_predict
from tfcourse.callbacks.filter_images import FilterImages, filter_grid
from tfcourse.callbacks.learning_rate_decay import LearningRateDecay
from tfcourse.callbacks.nan_guard import NaNGuard
from tfcourse.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from tfcourse.callbacks.sanity_check import SanityCheck
from tfcourse.callbacks.training_curves import TrainingCurves
from tfcourse.callbacks.update_ratio import UpdateRatioMonitor
from tfcourse.callbacks.weight_averaging import WeightAveraging, recompute_batch_norm_statistics

__all__ = [
    "ActivationMonitor",
    "EarlyStopping",
    "FilterImages",
    "LearningRateDecay",
    "NaNGuard",
    "ReduceLROnPlateau",
    "SanityCheck",
    "TrainingCurves",
    "UpdateRatioMonitor",
    "WeightAveraging",
    "activation_statistics",
    "ensemble_predict",
    "filter_grid",
    "recompute_batch_norm_statistics",
]
