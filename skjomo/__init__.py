"""skjomo: joint-modelling multiple imputation for scikit-learn and pandas."""

from ._single import JointModelImputer

__version__ = "0.1.0.dev0"

__all__ = ["JointModelImputer", "__version__"]
