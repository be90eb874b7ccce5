"""Parameter descriptions shared by the imputers' docstrings.

The run-control parameters mean the same in every estimator; their
numpydoc text is written once here and substituted into each class
docstring at the ``%(run_parameters)s`` marker.
"""

GROUP_PARAMETER = """\
    roles : dict, default=None
        The roles as a mapping from column to role (mitml's ``type``
        vector), e.g. ``{"y": "outcome", "x": "predictor", "g": "cluster"}``.
        Roles: ``"outcome"``, ``"categorical outcome"``, ``"predictor"``
        (fixed effect), ``"random predictor"`` (fixed and random effect),
        ``"cluster"``, ``"level-2 outcome"``, ``"categorical level-2
        outcome"``, ``"level-2 predictor"``, ``"group"`` (as ``group_col``)
        and ``"excluded"``; columns not named are left out of the model.
        An alternative to ``formula`` and to the role parameters.
    group_col : column label, default=None
        Impute within groups: a separate model (a clone of this imputer,
        the group column left out) is fitted to the rows of each level of
        this column, as mitml's ``group`` does; nothing is shared between
        groups. Fitted models are in ``groups_``; completed data come back
        in the original row order and index; new rows are imputed by their
        group's model (doc/formula.rst)."""

RUN_PARAMETERS = """\
    latent_bounds : tuple (lower, upper), default=None
        Bounds on the latent normals of observed categories. ``None`` (the
        default) samples the latent-normal model exactly; ``(-3, 4)``
        reproduces the truncation R's jomo applies (a truncated probit, see
        the user guide).
    n_chains : int, default=1
        Independent chains; imputations are spread over them.
    keep_chains : {"imputation", "all"}, default="imputation"
        Draws kept in :attr:`chains_`: those after burn-in, or also the
        burn-in (for choosing ``n_burn``). Memory: 8 bytes x ``n_chains`` x
        iterations kept x (number of traced parameters), e.g. about 1 MB for
        two chains of 10,000 iterations of a model with 12 parameters.
    warm_start : bool, default=False
        When fitted before, ``fit`` continues every chain from its final
        state (and random stream) instead of starting afresh: run a first fit
        to inspect convergence, then continue.
    verbose : int, default=0
        1 prints which sampler ran and how many iterations (and shows a
        progress bar in a terminal when tqdm is installed); 2 forces the bar.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampler. The same seed gives the same imputations
        whatever ``n_jobs``.
    n_jobs : int, default=None
        Number of chains (and groups of ``group_col``) run at once, through
        joblib; ``None`` leaves it to joblib's active backend (one at a time
        by default, every worker of a dask cluster inside
        ``joblib.parallel_backend("dask")``: doc/distributed.rst). A single
        chain runs in the calling process. Results do not depend on it.
    n_threads : int, default=1
        Number of threads of each chain: the per-cluster and per-row steps
        of an iteration (sufficient statistics, random effects, residual
        cross-products, row means, missing values) run in parallel within
        the chain, for ``fit``, ``sample`` and ``transform``. The imputations
        are bit-for-bit those of one thread. Meant for large data (tens of
        thousands of rows) on otherwise idle cores; the latents of
        categorical variables stay serial (doc/benchmarks.rst, "Threads
        within a chain"). ``n_jobs`` chains each use ``n_threads`` threads,
        so keep ``n_jobs * n_threads`` within the number of cores. The first
        fit with more than one thread compiles a threaded chain once."""


MULTILEVEL_PARAMETERS = """\
    cluster_col : column label
        Column holding the cluster of each row (any dtype; rows in any
        order; clusters of any size, including 1).
    formula : str or pair of str, default=None
        The model as a formula (doc/formula.rst), e.g.
        ``"y1 + y2 ~ x + (1 + z | cluster)"``: outcomes on the left (``C()``
        marks a numeric one categorical), fully observed predictors with
        fixed effects on the right (interactions, transformations and
        ``C()`` in formulaic syntax) and one random-effects term naming the
        cluster and the random slopes (a random intercept is always in the
        model). A pair ``("y ~ x + (1 | cluster)", "w ~ v")`` adds outcomes
        measured on clusters (left of the second formula) and their
        predictors. It states every role: ``cluster_col`` and the other role
        parameters must then be left at ``None``. Columns it does not name
        are left out of the model.
    %(group_parameter)s
    cov_method : {"common", "fixed", "random"}
        The level-1 covariance: ``"common"``, one ``Omega`` shared by all
        clusters; ``"fixed"``, one ``Omega_j`` per cluster with its own
        inverse-Wishart prior ``IW(prior_df, prior_scale)`` (clusters share
        nothing); ``"random"``, ``Omega_j ~ IW(a, A)`` across clusters with
        ``A ~ Wishart(p + 1, prior_scale)`` and ``a > p`` with a chi-square
        prior on ``a_prior`` degrees of freedom, ``a`` and ``A`` sampled
        (doc/model.rst).
    outcome_cols : list of column labels, default=None
        Level-1 outcomes. ``None`` takes every column with no other role.
    covariate_cols : list of column labels, default=None
        Fully observed level-1 predictors with fixed effects (an intercept
        is always included).
    random_slope_cols : list of column labels, default=None
        Fully observed numeric predictors with random slopes (besides the
        random intercept). They are added to the fixed effects too, so the
        random slopes vary around a fixed slope.
    level2_cols : list of column labels, default=None
        Outcomes measured on clusters (constant within a cluster where
        observed), continuous or categorical, possibly missing for whole
        clusters.
    level2_covariate_cols : list of column labels, default=None
        Fully observed cluster-level predictors of the level-2 outcomes
        (intercept included). A column may also be a level-1 covariate.
    categorical_cols : list of column labels, default=None
        Numeric columns to treat as categorical.
    exclude_cols : list of column labels, default=None
        Columns left out of the model; they pass through untouched.
    n_burn : int, default=1000
        Iterations before the first imputation.
    n_between : int, default=100
        Iterations between imputations.
    n_imputations : int, default=5
        Imputations drawn by ``fit``.
    prior_df : float, default=None
        Degrees of freedom of the inverse-Wishart prior of the level-1
        covariance (default: its dimension ``p``; see
        :class:`JointModelImputer`). With ``cov_method="random"`` it serves
        only the covariances between latents of different categorical
        outcomes.
    prior_scale : array-like of shape (p, p), default=None
        Scale of that prior, used as given; with ``cov_method="random"`` the
        scale of the Wishart prior of ``A``. ``None`` means a scale-free
        diagonal from the data (doc/model.rst, "Priors"): the observed
        variance of each continuous outcome (one pseudo-row), 1 for latents;
        with "random" its continuous entries times 100 times the number of
        continuous outcomes (a negligible pull on ``a``).
    level2_prior_df : float, default=None
        Degrees of freedom of the inverse-Wishart prior of the level-2
        covariance ``Sigma`` of the random effects and level-2 residuals
        (default: its dimension ``d = p q + p2``).
    level2_prior_scale : array-like of shape (d, d), default=None
        Scale of that prior, used as given. ``None`` means a scale-free
        diagonal from the data (one pseudo-cluster): for a random intercept
        the variance of the observed cluster means of its outcome, divided
        by ``var(z_k)`` for a slope, the variance across clusters of a
        level-2 outcome, 1 for latents. jomo's default is the identity.
    beta_start : array-like, default=None
        Starting level-1 fixed effects (zeros).
    cov_start : array-like, default=None
        Starting level-1 covariance (the default prior scale's diagonal
        without the "random" factor); with cluster-specific
        covariances one matrix for all clusters or one per cluster.
    level2_cov_start : array-like of shape (d, d), default=None
        Starting level-2 covariance (the default level-2 prior scale).
    random_effects_start : array-like of shape (n_clusters, p * q), default=None
        Starting random effects (zeros), in the layout of
        :attr:`random_effects_`.
    a_start : float, default=None
        Starting value of ``a`` (``cov_method="random"``); ``None`` means
        ``p + 50``.
    a_prior : float, default=None
        Degrees of freedom of the chi-square prior of ``a``
        (``cov_method="random"``); ``None`` means ``p``."""

MULTILEVEL_ATTRIBUTES = """\
    beta_ : pandas.DataFrame
        Posterior mean of the level-1 fixed effects.
    omega_ : pandas.DataFrame
        Posterior mean of the level-1 covariance (with cluster-specific
        covariances, of their average over clusters).
    sigma_ : pandas.DataFrame of shape (d, d)
        Posterior mean of the level-2 covariance; rows and columns are the
        random effects (``outcome|predictor``) then the level-2 outcomes.
    beta2_ : pandas.DataFrame or None
        Posterior mean of the level-2 fixed effects.
    random_effects_ : pandas.DataFrame of shape (n_clusters, p * q)
        Posterior means of the random effects, one row per cluster (index:
        cluster labels). Column ``outcome|predictor``; the vector ``u_j``
        lists, for each outcome in turn, its random intercept and slopes
        (the random-effect predictor index runs fastest, as in jomo).
    cluster_labels_ : pandas.Index
        Cluster labels in the order of the rows of :attr:`random_effects_`.
    cluster_covariances_ : ndarray of shape (n_clusters, p, p)
        Posterior means of the cluster covariances (``cov_method`` "fixed"
        or "random"), in the order of :attr:`cluster_labels_`; rows and
        columns as :attr:`omega_`.
    a_ : float
        Posterior mean of ``a`` (``cov_method="random"``).
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
        (the other fitted attributes are then on these imputers)."""


def fill_docstring(cls):
    """Class decorator: substitute the shared parameter descriptions.

    Under ``python -OO`` docstrings are stripped and there is nothing to fill.
    """
    if cls.__doc__ is not None:
        for marker, text in (
            ("run_parameters", RUN_PARAMETERS),
            ("multilevel_parameters", MULTILEVEL_PARAMETERS),
            ("multilevel_attributes", MULTILEVEL_ATTRIBUTES),
            ("group_parameter", GROUP_PARAMETER),
        ):
            cls.__doc__ = cls.__doc__.replace(f"    %({marker})s", text)
    return cls
