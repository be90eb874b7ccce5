"""skjomo: joint-modelling multiple imputation for scikit-learn and pandas."""

from ._multilevel import MultilevelJointImputer
from ._single import JointModelImputer
from .pipeline import MultipleImputationPipeline, StatsmodelsModel

__version__ = "0.1.0.dev0"

__all__ = [
    "JointModelImputer",
    "MultilevelJointImputer",
    "MultipleImputationPipeline",
    "StatsmodelsModel",
    "__version__",
]
