"""skjomo: joint-modelling multiple imputation for scikit-learn and pandas."""

from ._heteroscedastic import HeteroscedasticMultilevelImputer
from ._multilevel import MultilevelJointImputer
from ._single import JointModelImputer
from ._substantive import SubstantiveModelImputer
from .pipeline import MultipleImputationPipeline, StatsmodelsModel

__version__ = "0.1.0.dev0"

__all__ = [
    "HeteroscedasticMultilevelImputer",
    "JointModelImputer",
    "MultilevelJointImputer",
    "MultipleImputationPipeline",
    "StatsmodelsModel",
    "SubstantiveModelImputer",
    "__version__",
]
