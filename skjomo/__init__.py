"""skjomo: joint-modelling multiple imputation for scikit-learn and pandas."""

from ._heteroscedastic import HeteroscedasticMultilevelImputer
from ._multilevel import MultilevelJointImputer
from ._single import JointModelImputer
from .imputation_list import AnalysisList, ImputationList
from ._pipeline import MultipleImputationPipeline, StatsmodelsModel
from ._substantive import SubstantiveModelImputer

__version__ = "0.1.0.dev0"

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
]
