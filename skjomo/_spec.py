"""The statement of an imputation model.

A :class:`ModelSpec` says what is modelled: the role of every column, the
level-1 covariance method, the priors of both levels, the starting values,
the latent bounds and the hyper-prior of ``a``. Each estimator builds one
from its parameters (``_model_spec``); the frame codec, the sampler's
configuration and the fitted summaries all follow from it.
"""

from dataclasses import dataclass, field

import numpy as np

# level-1 covariance methods and their codes in the sampler's Model
COV_METHODS = {"common": 0, "fixed": 1, "random": 2}


def as_tuple(value, name):
    """Column labels of a role parameter as a tuple (``None`` -> empty).

    A single label (str, int) is one column; a label given twice is an error.
    """
    if value is None:
        return ()
    if isinstance(value, (str, int, np.integer)) or not np.iterable(value):
        return (value,)
    values = tuple(value)
    if len(set(values)) != len(values):
        raise ValueError(f"{name} names a column more than once: {list(values)}.")
    return values


@dataclass(frozen=True)
class ModelSpec:
    """What an imputation model is (roles, covariance method, priors, starts).

    Attributes
    ----------
    outcomes : tuple or None
        Level-1 outcome columns; ``None`` means every column without another
        role.
    covariates : tuple
        Fully observed level-1 predictors with fixed effects, as given (the
        random-slope columns are added to the fixed effects).
    categorical : tuple
        Numeric columns to treat as categorical.
    excluded : tuple
        Columns left out of the model.
    cluster : column label or None
        Cluster column; ``None`` for a single-level model.
    random_slopes : tuple
        Fully observed numeric predictors with random slopes.
    level2_outcomes, level2_covariates : tuple
        Outcomes measured on clusters and their fully observed predictors.
    cov_method : {"common", "fixed", "random"}
        One level-1 covariance, one per cluster, or cluster covariances from
        an inverse-Wishart with sampled degrees of freedom and scale.
    prior_df, prior_scale : float or None, array-like or None
        Inverse-Wishart prior of the level-1 covariance (for "random": the
        scale of the Wishart prior of ``A``; ``prior_df`` then serves only the
        covariances between latents of different categorical outcomes).
    level2_prior_df, level2_prior_scale : float or None, array-like or None
        Inverse-Wishart prior of the level-2 covariance.
    a_prior : float or None
        Degrees of freedom of the chi-square prior of ``a`` ("random").
    beta_start, cov_start, level2_cov_start, random_effects_start, a_start
        Starting values (``None``: the defaults).
    latent_bounds : tuple or None
        Bounds on the latent normals of observed categories.
    formula : ImputationFormula or None
        The parsed formula that stated the roles (its ``design`` holds the
        derived fixed-effect terms materialised by formulaic), or ``None``.
    analysis : AnalysisFormula or None
        The analysis model of substantive-model-compatible imputation
        (doc/smc.rst); its partially observed covariates become the joint
        model's outcomes and its fully observed ones its predictors.
    """

    outcomes: tuple = None
    covariates: tuple = ()
    categorical: tuple = ()
    excluded: tuple = ()
    cluster: object = None
    random_slopes: tuple = ()
    level2_outcomes: tuple = ()
    level2_covariates: tuple = ()
    cov_method: str = "common"
    prior_df: float = None
    prior_scale: object = field(default=None, repr=False)
    level2_prior_df: float = None
    level2_prior_scale: object = field(default=None, repr=False)
    a_prior: float = None
    beta_start: object = field(default=None, repr=False)
    cov_start: object = field(default=None, repr=False)
    level2_cov_start: object = field(default=None, repr=False)
    random_effects_start: object = field(default=None, repr=False)
    a_start: float = None
    latent_bounds: tuple = None
    formula: object = None
    analysis: object = None

    @classmethod
    def from_parameters(
        cls,
        outcomes=None,
        covariates=None,
        categorical=None,
        excluded=None,
        random_slopes=None,
        level2_outcomes=None,
        level2_covariates=None,
        **settings,
    ):
        """A spec from estimator parameters (role lists may be ``None`` or a label)."""
        return cls(
            outcomes=None if outcomes is None else as_tuple(outcomes, "outcome_cols"),
            covariates=as_tuple(covariates, "covariate_cols"),
            categorical=as_tuple(categorical, "categorical_cols"),
            excluded=as_tuple(excluded, "exclude_cols"),
            random_slopes=as_tuple(random_slopes, "random_slope_cols"),
            level2_outcomes=as_tuple(level2_outcomes, "level2_cols"),
            level2_covariates=as_tuple(level2_covariates, "level2_covariate_cols"),
            **settings,
        )

    @property
    def multilevel(self):
        """Whether rows are nested in clusters."""
        return self.cluster is not None

    @property
    def has_level2(self):
        """Whether some outcome is measured on clusters."""
        return bool(self.level2_outcomes)

    @property
    def fixed_effects(self):
        """Predictors with fixed effects: the covariates, then the random
        slopes not among them."""
        return self.covariates + tuple(c for c in self.random_slopes if c not in self.covariates)

    @property
    def cov_method_code(self):
        """Code of the covariance method in the sampler's model."""
        return COV_METHODS[self.cov_method]

    def describe(self):
        """One line saying what the model fits."""
        if not self.multilevel:
            return "single-level joint model"
        covariance = {
            "common": "a common level-1 covariance",
            "fixed": "one level-1 covariance per cluster",
            "random": "cluster level-1 covariances drawn from IW(a, A)",
        }
        return f"two-level joint model with {covariance[self.cov_method]}"
