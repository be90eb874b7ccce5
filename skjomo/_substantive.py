"""SubstantiveModelImputer: imputation compatible with an analysis model."""

import warnings
from dataclasses import replace
from typing import ClassVar

from sklearn.utils._param_validation import StrOptions

from ._analysis_model import FAMILIES, parse_analysis_formula
from ._base import RUN_CONSTRAINTS, BaseJointImputer
from ._docs import fill_docstring
from ._spec import ModelSpec
from ._summaries import ACCEPTANCE_RANGE, low_acceptance


@fill_docstring
class SubstantiveModelImputer(BaseJointImputer):
    """Multiple imputation compatible with the analysis (substantive) model.

    The user states the model to be fitted to the completed data,
    ``f(y | x; theta)``, as a formula such as ``"y ~ x1 * x2 + I(x1**2)"``
    with its family (linear, logistic, ordinal or Cox regression). The partially observed
    covariates of the formula (and any auxiliary columns) follow the joint
    latent-normal model of :class:`JointModelImputer`, given the fully
    observed covariates; the joint density of the data is the product

    ``f(y | w(x); theta) p(x_mis, aux | x_obs; B, Omega)``,

    so every imputation of ``x`` is drawn from a model whose conditional of
    ``y`` given ``x`` is the analysis model itself, interactions and powers
    included (Goldstein, Carpenter & Browne 2014; Bartlett et al. 2015).
    Rubin's rules applied to the analysis model then give valid inferences
    where a joint normal model of ``(y, x)`` biases the interaction and
    non-linear terms (doc/smc.rst).

    A random-effects term makes the analysis model a linear mixed model,
    ``"y ~ x1 * w + (1 + x1 | school)"``: ``y_ij = w_ij' theta + z_ij' b_j
    + e_ij`` with cluster random effects ``b_j ~ N(0, Psi)`` on the terms
    left of the bar (random slopes of partially observed covariates
    included); with ``model="logit"`` a mixed logistic and with
    ``model="ordinal"`` a cumulative logit mixed model (jomo.clmm's
    counterpart, doc/smc.rst "Ordinal mixed model"). The covariates then
    follow the two-level joint model of
    :class:`MultilevelJointImputer` (random intercepts in the clusters of
    the term, level-1 covariance by ``cov_method``), and the acceptance
    ratio uses ``f(y_ij | w(x_ij); theta, b_j)`` (doc/smc.rst, "Two-level
    analysis models"). A covariate measured on clusters (``level2_cols``)
    is at level 2 of the joint model: one value per cluster, accepted with
    the likelihood of all the cluster's rows (doc/smc.rst, "Level-2
    covariates").

    One Gibbs iteration draws the joint-model parameters (the steps of
    :class:`JointModelImputer`), ``theta`` given the completed data (exact
    for the linear model; Metropolis-Hastings with a Newton-step (iteratively
    reweighted least squares) proposal for the logistic and ordinal models,
    and the same move on the partial likelihood followed by the Breslow
    baseline hazard for the Cox model), every missing
    covariate cell by Metropolis-Hastings with its joint-model conditional
    as proposal and ``f(y | w(x); theta)`` in the acceptance ratio, then
    missing outcomes from ``f(y | w(x); theta)``.

    Parameters
    ----------
    formula : str
        The analysis model, ``"outcome ~ terms"``: column names, ``C(col)``
        for a numeric column to treat as categorical (treatment dummies,
        first category the reference), interactions ``a:b`` and ``a * b``,
        and ``I(...)`` of products of positive integer powers of columns
        (``I(x**2)``, ``I(x1*x2**2)``). The terms are recomputed from every
        imputed value. An intercept is included unless ``- 1`` is given.
        A Cox model reads ``"Surv(time, event) ~ terms"``: the time column
        and the event column (1 = event, 0 = censored, or boolean), both
        fully observed; it has no intercept.
        One random-effects term ``(terms | cluster)`` (``model="lm"``,
        ``"logit"`` or ``"ordinal"``) makes it a mixed model with random effects on ``terms``
        (each also a fixed term; ``(x1 | g)`` includes the intercept,
        ``(0 + x1 | g)`` does not) in the clusters of column ``cluster``.
    model : {"lm", "logit", "ordinal", "cox"}, default="lm"
        Family of the analysis model:

        - ``"lm"``: linear regression with normal errors;
        - ``"logit"``: logistic regression of a binary outcome (0/1,
          boolean or two categories, the second the event);
        - ``"ordinal"``: proportional-odds (cumulative logit) regression,
          ``P(y <= k | x) = 1 / (1 + exp(-(alpha_k - w(x)' theta)))`` with
          cut-points ``alpha_1 < ... < alpha_{K-1}`` and no intercept in
          ``w(x)`` (the sign convention of statsmodels' ``OrderedModel``
          and R's ``MASS::polr``). The outcome is an ordered pandas
          Categorical (its order) or numeric (its sorted values); the
          categories are those observed, and imputed outcomes come back as
          the column's own values and dtype;
        - ``"cox"``: Cox proportional-hazards regression of a
          right-censored time (the analysis to pool is, e.g.,
          ``statsmodels`` ``PHReg`` with Breslow ties).
    cov_method : {"common", "fixed", "random"}, default="common"
        Level-1 covariance of the two-level joint model of the covariates
        (a formula with a random-effects term only): one for all clusters,
        one per cluster, or cluster covariances from an inverse-Wishart
        with sampled parameters (see :class:`MultilevelJointImputer`).
    level2_cols : "auto", list of column labels or None, default="auto"
        Covariates (and auxiliary columns) measured on clusters, in a
        two-level model. A partially observed one is a level-2 outcome of
        the joint model (the ``level2_cols`` of
        :class:`MultilevelJointImputer`): one value per cluster, drawn by
        Metropolis-Hastings with the likelihood of all the cluster's rows,
        so that it stays constant within the cluster; fully observed ones
        predict it (``level2_covariate_cols``). ``"auto"`` takes every
        column constant within every cluster where it is observed (and
        observed twice in some cluster); a list names them (each must be
        constant within clusters); ``None`` models every column at level 1.
        When every partially observed covariate is at level 2, the fully
        observed level-1 covariates of the formula become outcomes of the
        joint model (observed, nothing to impute), so that their cluster
        means inform the level-2 ones. The columns chosen are in
        ``level2_cols_``.
    categorical_cols : list of column labels, default=None
        Numeric columns to treat as categorical (formula covariates and
        auxiliary columns); non-numeric columns are categorical anyway.
    exclude_cols : list of column labels, default=None
        Columns left out of the model; they pass through untouched. Every
        other column not in the formula is an auxiliary variable of the
        joint model (it helps to impute the covariates; the analysis model
        assumes ``y`` independent of it given ``x``). The outcome (a Cox
        model's time and event) is not a variable of the joint model: it
        enters through the analysis model only.
    n_burn : int, default=1000
        Iterations before the first imputation.
    n_between : int, default=100
        Iterations between successive imputations.
    n_imputations : int, default=5
        Imputations drawn by ``fit`` and returned by :meth:`sample` by default.
    prior_df : float, default=None
        Degrees of freedom of the inverse-Wishart prior of the joint
        model's covariance ``Omega`` (see :class:`JointModelImputer`).
    prior_scale : array-like of shape (p, p), default=None
        Scale matrix of that prior; ``None`` means the identity.
    theta_start : array-like or pandas.Series, default=None
        Starting values of the analysis model's parameters, in the order of
        ``theta_`` (the design's columns, then for ``model="ordinal"`` the
        ``K - 1`` cut-points ``alpha_1 < ... < alpha_{K-1}``, named
        ``"a/b"`` for the cut between levels ``a`` and ``b``). A Series is
        matched by its index to these names, in any order. ``None`` starts
        at the fit of the analysis model to the starting data (complete
        outcomes, missing covariates at their starting values). With
        ``model="lm"`` the first iteration draws ``theta`` exactly given the
        completed data, so its starting value has no influence.
    %(run_parameters)s

    Attributes
    ----------
    theta_ : pandas.Series
        Posterior mean of the analysis model's coefficients, indexed by
        the columns of its design (``Intercept``, ``x1``, ``x1:x2``,
        ``C(g)[T.b]``, ...); log hazard ratios for the Cox model; followed
        for ``model="ordinal"`` by the cut-points (``"1/2"``, ``"2/3"``, ...).
    residual_variance_ : float
        Posterior mean of the residual variance (``model="lm"`` only).
    level2_cols_ : list
        The partially observed columns modelled at level 2 (two-level
        analysis models; empty otherwise).
    psi_ : pandas.DataFrame
        Posterior mean of the covariance ``Psi`` of the analysis model's
        random effects, labelled by their design columns (two-level
        analysis models only).
    beta_ : pandas.DataFrame
        Posterior mean of the joint model's regression of the partially
        observed covariates (and auxiliary columns) on the fully observed
        ones.
    omega_ : pandas.DataFrame
        Posterior mean of the joint model's covariance.
    acceptance_rates_ : dict
        Acceptance rates of the Metropolis-Hastings steps (covariate cells
        in rows with an observed outcome, and level-2 covariates' cells of
        every cluster; ``theta`` of the logistic, ordinal and Cox models; the
        clusters' random effects of the mixed logistic and ordinal models).
    random_seed_ : int
        Seed drawn from ``random_state``.
    n_iter_ : int
        Iterations run per chain.
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    See Also
    --------
    JointModelImputer : The joint model without an analysis model.
    MultilevelJointImputer : The two-level joint model without an analysis
        model.

    Notes
    -----
    Priors: flat on ``theta`` (and on the ordered cut-points of the ordinal
    model); ``p(sigma^2) ~ 1 / sigma^2`` for the linear model; the joint
    model's priors as in :class:`JointModelImputer`; ``Psi ~ IW(kz + 1, S0)`` with the scale-free
    ``S0 = 0.01 diag(var(y) / var(z_t))`` for the random effects of a
    two-level model, whose joint model of the covariates has the priors and
    fitted attributes (``sigma_``, ``random_effects_``, ...) of
    :class:`MultilevelJointImputer`.
    Cox model: ``theta`` is drawn from the partial-likelihood posterior
    (flat prior) and the baseline cumulative hazard set to its Breslow
    estimate at that ``theta`` in every iteration, as in Bartlett et al.
    (2015); missing times or event indicators are an error (survival
    outcomes are not imputed). Imputing new rows (``transform``,
    ``sample(X=...)``) uses the baseline hazard of the stored draw,
    evaluated at the new rows' times.
    A logistic or ordinal model with separated data has no proper posterior
    under the flat prior. An ordinal mixed model draws ``(theta, alpha)``
    given the random effects by an independence Metropolis-Hastings step
    with a multivariate-t proposal at the conditional's mode, and redraws
    the mean of the random effects jointly with the cut-points and fixed
    slopes (doc/smc.rst, "Ordinal mixed model"). Differences from R's
    ``jomo.lm`` / ``jomo.glm`` / ``jomo.polr`` / ``jomo.clmm``
    (doc/smc.rst): fully observed covariates are conditioned on rather than
    modelled as normal, the binary and ordinal models are logistic (not
    probit) regressions, missing ordinal outcomes of a mixed model are
    imputed (``jomo.clmm`` leaves them missing), and covariates are
    proposed from their joint-model conditional (an independence sampler)
    instead of a random walk.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skjomo import SubstantiveModelImputer
    >>> rng = np.random.default_rng(0)
    >>> x1, x2 = rng.normal(size=(2, 200))
    >>> y = 1 + x1 + x2 + x1 * x2 + rng.normal(size=200)
    >>> x1[rng.random(200) < 0.3] = np.nan
    >>> data = pd.DataFrame({"y": y, "x1": x1, "x2": x2})
    >>> imputer = SubstantiveModelImputer("y ~ x1 * x2", n_burn=200, n_between=20,
    ...                                   random_state=0)
    >>> completed = imputer.fit(data).sample(n_imputations=3)
    >>> list(imputer.theta_.index)
    ['Intercept', 'x1', 'x2', 'x1:x2']

    A random slope of the partially observed ``x1`` in 40 clusters:

    >>> data["school"] = np.repeat(np.arange(40), 5)
    >>> mixed = SubstantiveModelImputer("y ~ x1 * x2 + (1 + x1 | school)",
    ...                                 n_burn=200, n_between=20, random_state=0)
    >>> list(mixed.fit(data).psi_.columns)
    ['Intercept', 'x1']
    """

    _parameter_constraints: ClassVar[dict] = {
        **{
            k: v
            for k, v in RUN_CONSTRAINTS.items()
            if k not in ("outcome_cols", "covariate_cols", "beta_start", "cov_start")
        },
        "formula": [str],
        "model": [StrOptions(set(FAMILIES))],
        "cov_method": [StrOptions({"common", "fixed", "random"})],
        "level2_cols": [StrOptions({"auto"}), "array-like", str, None],
        "theta_start": ["array-like", None],
    }

    def __init__(
        self,
        formula,
        *,
        model="lm",
        cov_method="common",
        level2_cols="auto",
        categorical_cols=None,
        exclude_cols=None,
        n_burn=1000,
        n_between=100,
        n_imputations=5,
        prior_df=None,
        prior_scale=None,
        theta_start=None,
        latent_bounds=None,
        n_chains=1,
        keep_chains="imputation",
        warm_start=False,
        verbose=0,
        random_state=None,
        n_jobs=None,
        n_threads=1,
    ):
        self.formula = formula
        self.model = model
        self.cov_method = cov_method
        self.level2_cols = level2_cols
        self.categorical_cols = categorical_cols
        self.exclude_cols = exclude_cols
        self.n_burn = n_burn
        self.n_between = n_between
        self.n_imputations = n_imputations
        self.prior_df = prior_df
        self.prior_scale = prior_scale
        self.theta_start = theta_start
        self.latent_bounds = latent_bounds
        self.n_chains = n_chains
        self.keep_chains = keep_chains
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.n_threads = n_threads

    def _model_spec(self):
        analysis = replace(
            parse_analysis_formula(self.formula, self.model, self.theta_start),
            level2=self.level2_cols,
        )
        two_level = {}
        if analysis.random is not None:
            if self.model == "cox":
                raise ValueError(
                    f"A random-effects term {analysis.random.text!r} needs model='lm', "
                    f"'logit' or 'ordinal'; model={self.model!r} has no two-level version."
                )
            two_level = {"cluster": analysis.random.cluster, "cov_method": self.cov_method}
        elif self.cov_method != "common":
            raise ValueError(
                f"cov_method={self.cov_method!r} needs a two-level analysis model (a "
                "random-effects term '(1 | cluster)' in the formula)."
            )
        return ModelSpec.from_parameters(
            categorical=self.categorical_cols,
            excluded=self.exclude_cols,
            prior_df=self.prior_df,
            prior_scale=self.prior_scale,
            latent_bounds=self.latent_bounds,
            analysis=analysis,
            **two_level,
        )

    def fit(self, X, y=None):
        """Run the sampler to stationarity and keep the draws.

        Parameters
        ----------
        X : pandas.DataFrame of shape (n_samples, n_features)
            Data with missing values; the formula names its columns.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        super().fit(X, y)
        codec = getattr(self, "_codec", None)  # a grouped fit has one per group
        if codec is not None and codec.analysis is not None:
            self.level2_cols_ = list(codec.analysis.level2_outcomes)
        for step, rate in low_acceptance(self.acceptance_rates_).items():
            low, high = ACCEPTANCE_RANGE[step]
            warnings.warn(
                f"The Metropolis-Hastings step of the {step} accepted {rate:.1%} of its "
                f"proposals (outside [{low:.0%}, {high:.0%}]); the chain mixes slowly: "
                "raise n_between and n_burn and check chains_ (doc/smc.rst).",
                UserWarning,
                stacklevel=2,
            )
        return self
