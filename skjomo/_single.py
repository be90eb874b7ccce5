"""JointModelImputer: single-level joint-model imputation."""

from ._base import RUN_CONSTRAINTS, BaseJointImputer
from ._docs import fill_docstring
from ._role_sources import role_arguments
from ._spec import ModelSpec


@fill_docstring
class JointModelImputer(BaseJointImputer):
    """Multiple imputation under a single-level joint latent-normal model.

    Every outcome column (continuous, binary or categorical) is modelled
    jointly: continuous columns directly, a categorical column with ``K``
    categories through ``K - 1`` latent normals whose covariance block is
    fixed (doc/sampler.rst, "Latent normals"). Given the fully observed covariates
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
    formula : str, default=None
        The model as a formula, ``"y1 + y2 + C(y3) ~ x1 * x2 + I(x3**2)"``
        (doc/formula.rst): outcomes on the left (``C()`` marks a numeric one
        categorical), fully observed predictors on the right with
        interactions and transformations (formulaic syntax). It states every
        role; the role parameters must then be left at ``None``. Columns it
        does not name are left out of the model.
    %(group_parameter)s
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
        "Priors"; jomo's default is the identity). Rows and columns follow
        :attr:`omega_`.
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
    random_seed_ : int
        Seed drawn from ``random_state``.
    n_iter_ : int
        Iterations run per chain.
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.
    groups_ : dict
        With ``group_col``: the fitted imputer of each group, by group label
        (the other fitted attributes are then on these imputers).

    See Also
    --------
    skjomo.datasets.load_jspmiss : Data set used in the examples.

    Notes
    -----
    Differences from R's jomo (doc/model.rst): the inverse-Wishart prior is
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

    _parameter_constraints = RUN_CONSTRAINTS

    def __init__(
        self,
        outcome_cols=None,
        *,
        formula=None,
        roles=None,
        group_col=None,
        covariate_cols=None,
        categorical_cols=None,
        exclude_cols=None,
        n_burn=1000,
        n_between=100,
        n_imputations=5,
        prior_df=None,
        prior_scale=None,
        beta_start=None,
        cov_start=None,
        latent_bounds=None,
        n_chains=1,
        keep_chains="imputation",
        warm_start=False,
        verbose=0,
        random_state=None,
        n_jobs=None,
        n_threads=1,
    ):
        self.outcome_cols = outcome_cols
        self.formula = formula
        self.roles = roles
        self.group_col = group_col
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
        self.n_threads = n_threads

    def _model_spec(self):
        roles, excluded = role_arguments(self)
        return ModelSpec.from_parameters(
            **roles,
            excluded=excluded,
            prior_df=self.prior_df,
            prior_scale=self.prior_scale,
            beta_start=self.beta_start,
            cov_start=self.cov_start,
            latent_bounds=self.latent_bounds,
        )
