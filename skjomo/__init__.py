"""skjomo: joint-modelling multiple imputation for scikit-learn and pandas.

The estimators and submodules are imported on first use (PEP 562), so that
``import skjomo`` stays fast: scikit-learn, scipy, numba and statsmodels are
loaded only by the code that needs them.
"""

import importlib

__version__ = "0.1.0.dev0"

_ESTIMATORS = {
    "HeteroscedasticMultilevelImputer": "._heteroscedastic",
    "JointModelImputer": "._single",
    "MultilevelJointImputer": "._multilevel",
    "MultipleImputationPipeline": ".pipeline",
    "StatsmodelsModel": ".pipeline",
}
_SUBMODULES = ("datasets", "diagnostics", "pipeline", "pooling")

__all__ = [
    "HeteroscedasticMultilevelImputer",
    "JointModelImputer",
    "MultilevelJointImputer",
    "MultipleImputationPipeline",
    "StatsmodelsModel",
    "__version__",
]


def __getattr__(name):
    if name in _ESTIMATORS:
        value = getattr(importlib.import_module(_ESTIMATORS[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module("." + name, __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_ESTIMATORS) | set(_SUBMODULES))
