"""Training-practice diagnostics from the notes' chapter on training [001] (lesson L10).

    from tfcourse.diagnostics import gradient_check, hessian_eigenvalues, sanity_check
    report = gradient_check(model, x, y, loss="sparse_categorical_crossentropy")
    print(report)            # per-variable table; report.passed, report.max_error
"""

from tfcourse.diagnostics.gradient_check import GradientCheckReport, gradient_check, relative_error, verdict
from tfcourse.diagnostics.hessian import HessianReport, classify_critical_point, hessian_eigenvalues
from tfcourse.diagnostics.sanity import SanityReport, sanity_check

__all__ = [
    "GradientCheckReport",
    "HessianReport",
    "SanityReport",
    "classify_critical_point",
    "gradient_check",
    "hessian_eigenvalues",
    "relative_error",
    "sanity_check",
    "verdict",
]
