"""skjomo: joint-modelling multiple imputation for scikit-learn and pandas.

The public classes and the submodules are imported on first use (PEP 562),
so that ``import skjomo`` stays fast: scikit-learn, scipy, numba and
statsmodels are loaded only by the code that needs them.
"""

import importlib as _importlib

__version__ = "0.1.0.dev0"

_PUBLIC = {
    "AnalysisList": "._imputation_list",
    "anova": "._imputation_list",
    "ImputationList": "._imputation_list",
    "HeteroscedasticMultilevelImputer": "._heteroscedastic",
    "JointModelImputer": "._single",
    "MultilevelJointImputer": "._multilevel",
    "MultipleImputationPipeline": "._pipeline",
    "StatsmodelsModel": "._pipeline",
    "SubstantiveModelImputer": "._substantive",
}
_SUBMODULES = ("datasets", "diagnostics", "pooling")

__all__ = [
    "AnalysisList",
    "ImputationList",
    "HeteroscedasticMultilevelImputer",
    "JointModelImputer",
    "MultilevelJointImputer",
    "MultipleImputationPipeline",
    "StatsmodelsModel",
    "SubstantiveModelImputer",
    "__version__",
    "anova",
]


def __getattr__(name):
    if name in _PUBLIC:
        value = getattr(_importlib.import_module(_PUBLIC[name], __name__), name)
    elif name in _SUBMODULES:
        value = _importlib.import_module("." + name, __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC) | set(_SUBMODULES))
