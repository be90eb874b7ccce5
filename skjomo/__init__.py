"""skjomo: joint-modelling multiple imputation for scikit-learn and pandas."""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
