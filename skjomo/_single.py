"""JointModelImputer: single-level joint-model imputation."""

import numpy as np

from ._base import BaseJointImputer, Encoded
from ._checks import check_design
from ._docs import fill_docstring
from ._gibbs._chain import build_model
from ._priors import default_scales
from ._schema import Schema


@fill_docstring
class JointModelImputer(BaseJointImputer):
    """Multiple imputation under a single-level joint latent-normal model.

    Every outcome column (continuous, binary or categorical) is modelled
    jointly: continuous columns directly, a categorical column with ``K``
    categories through ``K - 1`` latent normals whose covariance block is
    fixed (jomo-samplers.md §2.2-2.3). Given the fully observed covariates
    ``x_i`` (with an intercept),

    ``y_i = B' x_i + e_i,  e_i ~ N(0, Omega)``,

    with a flat prior on ``B`` and an inverse-Wishart prior on ``Omega``,
    restricted to the matrices whose latent blocks equal their fixed value.
    The posterior is sampled by Gibbs sampling; missing values are drawn
    from their conditional distribution given the observed values.

    Parameters
    ----------
    outcome_cols : list of column labels, default=None
        Columns of the joint model. ``None`` takes every column that is not a
        covariate or excluded.
    covariate_cols : list of column labels, default=None
        Fully observed predictors of every outcome (jomo's ``X``). An
        intercept is always included; categorical covariates are dummy coded
        with the first category as reference.
    categorical_cols : list of column labels, default=None
        Numeric columns to treat as categorical. Pandas categorical, object,
        string and boolean columns are categorical anyway.
    exclude_cols : list of column labels, default=None
        Columns left out of the model; they pass through untouched.
    n_burn : int, default=1000
        Iterations before the first imputation.
    n_between : int, default=100
        Iterations between successive imputations.
    n_imputations : int, default=5
        Imputations drawn by ``fit`` and returned by :meth:`sample` by default.
    prior_df : float, default=None
        Degrees of freedom of the inverse-Wishart prior of ``Omega``; ``None``
        means the dimension ``p`` of ``Omega`` (continuous columns plus
        ``K - 1`` per categorical), the default of the jomo article. Values
        up to ``p - 1`` give improper priors, allowed while the posterior is
        proper (``prior_df + n_samples - n_covariates > p - 1``):
        ``prior_df=-1`` reproduces the prior implied by R jomo for
        continuous outcomes, ``prior_df=-(p + 1)`` with a negligible
        ``prior_scale`` the flat prior jomo uses with categorical outcomes.
    prior_scale : array-like of shape (p, p), default=None
        Scale matrix of that prior, used as given. ``None`` means a
        scale-free diagonal from the data: the observed variance of each
        continuous outcome, 1 for latents (one pseudo-row; doc/model.rst,
        "Priors"). Rows and columns follow :attr:`omega_`.
    beta_start : array-like of shape (n_covariates + 1, p), default=None
        Starting fixed effects; ``None`` means zeros.
    cov_start : array-like of shape (p, p), default=None
        Starting covariance; ``None`` means the default prior scale. Latent
        blocks are overwritten with their fixed value.
    %(run_parameters)s

    Attributes
    ----------
    beta_ : pandas.DataFrame of shape (n_covariates + 1, p)
        Posterior mean of the fixed effects over the iterations after
        burn-in; rows are covariates, columns outcomes (latents named
        ``column[category]``).
    omega_ : pandas.DataFrame of shape (p, p)
        Posterior mean of the level-1 covariance.
    parameter_draws_ : dict of ndarray
        Parameter draws at each imputation (``"beta"``, ``"cov"``), used by
        :meth:`transform`; the first axis indexes imputations.
    trace_ : dict of ndarray
        Every draw after burn-in: ``"beta"`` of shape (n_chains, n_draws,
        n_covariates + 1, p) and ``"cov"`` of shape (n_chains, n_draws, p, p).
    imputed_values_ : ndarray
        Completed latent-scale rows of the incomplete training rows, per
        imputation.
    schema_ : Schema
        Column roles and kinds found in fit.
    random_seed_ : int
        Seed drawn from ``random_state``.
    n_iter_ : int
        Iterations run per chain.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    See Also
    --------
    skjomo.datasets.load_jspmiss : Data set used in the examples.

    Notes
    -----
    Differences from R's jomo (spec/README.md): the inverse-Wishart prior is
    a real prior also when categorical columns are present, with real
    degrees of freedom (the level-1 posterior has ``N + p`` degrees of
    freedom where jomo uses ``N - 1``); latents of observed categories are
    drawn from their exact truncated conditional; the covariance with fixed
    latent blocks is drawn exactly (a Metropolis step is used only for
    covariances between latents of two categorical columns).

    Examples
    --------
    >>> from skjomo import JointModelImputer
    >>> from skjomo.datasets import load_jspmiss
    >>> data = load_jspmiss()[["english", "ravens", "fluent", "sex"]]
    >>> imputer = JointModelImputer(covariate_cols=["sex"], n_burn=200,
    ...                             n_between=20, random_state=0)
    >>> completed = imputer.fit(data).sample(n_imputations=3)
    >>> len(completed), int(completed[0].isna().sum().sum())
    (3, 0)
    """

    def __init__(self, outcome_cols=None, covariate_cols=None, categorical_cols=None,
                 exclude_cols=None, n_burn=1000, n_between=100, n_imputations=5,
                 prior_df=None, prior_scale=None, beta_start=None, cov_start=None,
                 latent_bounds=None, n_chains=1, keep_chains="imputation", warm_start=False,
                 verbose=0, random_state=None, n_jobs=None):
        self.outcome_cols = outcome_cols
        self.covariate_cols = covariate_cols
        self.categorical_cols = categorical_cols
        self.exclude_cols = exclude_cols
        self.n_burn = n_burn
        self.n_between = n_between
        self.n_imputations = n_imputations
        self.prior_df = prior_df
        self.prior_scale = prior_scale
        self.beta_start = beta_start
        self.cov_start = cov_start
        self.latent_bounds = latent_bounds
        self.n_chains = n_chains
        self.keep_chains = keep_chains
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    # one starting covariance per cluster is allowed (heteroscedastic models)
    _cov_start_per_cluster = False

    def _encode(self, frame, fit):
        if fit:
            self.schema_ = Schema(frame, outcome_cols=self.outcome_cols,
                                  covariate_cols=self.covariate_cols,
                                  categorical_cols=self.categorical_cols,
                                  exclude_cols=self.exclude_cols)
        schema = self.schema_
        schema.check_frame(frame)
        values, missing, codes = schema.encode_outcomes(frame)
        p = values.shape[1]
        design = schema.design(frame)
        if fit:
            self._data_scales = default_scales(values, len(schema.continuous))
            prior_df, prior_scale = self._prior(p, schema.latent_labels,
                                                design.shape[0] - design.shape[1])
            self._check_design(design, schema)
            self._check_starts(design.shape[1], p)
        else:
            prior_df, prior_scale = float(p), np.eye(p)
        cat_start, cat_size = schema.categorical_layout()
        model, dynamic = build_model(design, values, missing, codes, cat_start, cat_size,
                                     prior_df, prior_scale,
                                     latent_bounds=self._latent_bounds(), fit=fit)
        return Encoded(model=model, dynamic=dynamic, values=values[dynamic],
                       missing=missing)

    def _prior(self, p, labels, residual_df):
        prior_df = float(p) if self.prior_df is None else self.prior_df
        if not np.isfinite(prior_df) or prior_df + residual_df <= p - 1:
            raise ValueError(
                f"prior_df + n_samples - n_covariates must exceed p - 1 = {p - 1} "
                f"(p is the dimension of the covariance) for a proper posterior; "
                f"got prior_df={self.prior_df!r}."
            )
        if self.prior_scale is None:
            return float(prior_df), self._data_scales["prior"]
        scale = np.asarray(self.prior_scale, dtype=np.float64)
        if scale.shape != (p, p):
            raise ValueError(
                f"prior_scale must have shape ({p}, {p}) (rows and columns "
                f"{labels}); got {scale.shape}."
            )
        if not np.allclose(scale, scale.T) or np.any(np.linalg.eigvalsh(scale) <= 0):
            raise ValueError("prior_scale must be symmetric positive definite.")
        return float(prior_df), scale

    def _latent_bounds(self):
        if self.latent_bounds is None:
            return None
        try:
            lower, upper = (float(b) for b in self.latent_bounds)
        except (TypeError, ValueError):
            raise ValueError("latent_bounds must be None or a pair (lower, upper); "
                             f"got {self.latent_bounds!r}.") from None
        if not lower < 0 < upper:
            raise ValueError("latent_bounds must satisfy lower < 0 < upper so that every "
                             f"category keeps a region; got {self.latent_bounds!r}.")
        return lower, upper

    def _check_design(self, design, schema):
        check_design(design, schema.covariate_design_names)

    def _check_starts(self, m, p):
        if self.beta_start is not None and np.shape(self.beta_start) != (m, p):
            raise ValueError(f"beta_start must have shape ({m}, {p}); "
                             f"got {np.shape(self.beta_start)}.")
        if self.cov_start is not None:
            cov = np.asarray(self.cov_start, dtype=np.float64)
            stacked = self._cov_start_per_cluster and cov.ndim == 3
            if cov.shape[-2:] != (p, p) or not (cov.ndim == 2 or stacked):
                raise ValueError(f"cov_start must have shape ({p}, {p}); got {cov.shape}.")
            if (not np.allclose(cov, np.swapaxes(cov, -1, -2))
                    or np.any(np.linalg.eigvalsh(cov) <= 0)):
                raise ValueError("cov_start must be symmetric positive definite.")
