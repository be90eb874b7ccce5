"""MultilevelJointImputer: two-level joint-model imputation."""

from ._base import MULTILEVEL_CONSTRAINTS, BaseJointImputer
from ._docs import fill_docstring
from ._role_sources import role_arguments
from ._spec import ModelSpec


class _TwoLevelParameters:
    """``__init__`` storage and model statement of the two-level imputers.

    Mixed into :class:`MultilevelJointImputer` and
    :class:`~skjomo.HeteroscedasticMultilevelImputer`, which differ only in
    the default ``cov_method`` and their documentation.
    """

    _parameter_constraints = MULTILEVEL_CONSTRAINTS

    def _store(self, params):
        for name, value in params.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    def _model_spec(self):
        if self.cluster_col is None and self.formula is None and self.roles is None:
            raise ValueError(
                "cluster_col is required: name the column holding the clusters "
                "(or give a formula with a (1 | cluster) term)."
            )
        roles, excluded = role_arguments(self)
        return ModelSpec.from_parameters(
            **roles,
            excluded=excluded,
            cov_method=self.cov_method,
            prior_df=self.prior_df,
            prior_scale=self.prior_scale,
            level2_prior_df=self.level2_prior_df,
            level2_prior_scale=self.level2_prior_scale,
            a_prior=self.a_prior,
            beta_start=self.beta_start,
            cov_start=self.cov_start,
            level2_cov_start=self.level2_cov_start,
            random_effects_start=self.random_effects_start,
            a_start=self.a_start,
            latent_bounds=self.latent_bounds,
        )


@fill_docstring
class MultilevelJointImputer(_TwoLevelParameters, BaseJointImputer):
    """Multiple imputation under a two-level joint latent-normal model.

    Rows (level 1) are nested in clusters given by ``cluster_col``. Every
    level-1 outcome (continuous, binary or categorical through latent
    normals) follows

    ``y_i = B' x_i + U_j' z_i + e_i,  e_i ~ N(0, Omega)``,

    with cluster random effects ``u_j = vec(U_j)`` (random intercepts, plus
    random slopes on ``random_slope_cols``) and, optionally, outcomes
    measured on clusters (``level2_cols``): ``y2_j = B2' x2_j + eps2_j``
    where ``(u_j, eps2_j) ~ N(0, Sigma)`` jointly (doc/model.rst). Flat
    priors on ``B`` and ``B2``; inverse-Wishart priors on ``Omega`` and
    ``Sigma``, restricted to fixed latent blocks. Level-2 values missing for
    a cluster are imputed once and copied to every row of the cluster.

    The level-1 covariance is common to all clusters by default;
    ``cov_method="fixed"`` or ``"random"`` makes it cluster-specific (the
    model of :class:`HeteroscedasticMultilevelImputer`, which differs only
    in its default).

    Parameters
    ----------
    %(multilevel_parameters)s
    %(run_parameters)s

    Attributes
    ----------
    %(multilevel_attributes)s

    See Also
    --------
    HeteroscedasticMultilevelImputer : The same model, cluster-specific
        covariances by default.
    JointModelImputer : Single-level data.

    Notes
    -----
    Differences from R's jomo (doc/model.rst): real priors with real
    degrees of freedom, exact latent draws, exact covariance draws with
    fixed latent blocks, the level-2 fixed effects drawn from their exact
    full conditional given the random effects, and level-2 values validated
    to be constant within clusters (jomo reads the first row of each
    cluster).

    Examples
    --------
    >>> from skjomo import MultilevelJointImputer
    >>> from skjomo.datasets import load_jspmiss
    >>> data = load_jspmiss()[["school", "english", "ravens", "sex"]]
    >>> imputer = MultilevelJointImputer(cluster_col="school", covariate_cols=["sex"],
    ...                                  n_burn=100, n_between=10, random_state=0)
    >>> completed = imputer.fit(data).sample(2)
    >>> imputer.random_effects_.shape
    (47, 2)
    """

    def __init__(
        self,
        cluster_col=None,
        *,
        formula=None,
        roles=None,
        group_col=None,
        cov_method="common",
        outcome_cols=None,
        covariate_cols=None,
        random_slope_cols=None,
        level2_cols=None,
        level2_covariate_cols=None,
        categorical_cols=None,
        exclude_cols=None,
        n_burn=1000,
        n_between=100,
        n_imputations=5,
        prior_df=None,
        prior_scale=None,
        level2_prior_df=None,
        level2_prior_scale=None,
        beta_start=None,
        cov_start=None,
        level2_cov_start=None,
        random_effects_start=None,
        a_start=None,
        a_prior=None,
        latent_bounds=None,
        n_chains=1,
        keep_chains="imputation",
        warm_start=False,
        verbose=0,
        random_state=None,
        n_jobs=None,
        n_threads=1,
    ):
        self._store(locals())
