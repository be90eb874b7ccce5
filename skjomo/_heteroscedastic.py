"""HeteroscedasticMultilevelImputer: cluster-specific level-1 covariances."""

from ._base import BaseJointImputer
from ._docs import fill_docstring
from ._multilevel import _TwoLevelParameters


@fill_docstring
class HeteroscedasticMultilevelImputer(_TwoLevelParameters, BaseJointImputer):
    """Two-level joint-model imputation with cluster-specific covariances.

    The model of :class:`MultilevelJointImputer` (random intercepts and
    slopes, level-2 outcomes and covariates, categorical outcomes) with, by
    default, a level-1 covariance ``Omega_j`` for every cluster ``j``
    (doc/model.rst):

    * ``cov_method="random"`` (default): ``Omega_j ~ IW(a, A)`` across
      clusters, with ``A ~ Wishart(p + 1, prior_scale)`` and ``a``
      (restricted to ``a > p``, as in jomo) with a chi-square prior on
      ``a_prior`` degrees of freedom; ``a`` and ``A`` are sampled, ``a``
      first with ``A`` integrated out (an independence Metropolis-Hastings
      step with its exact proposal density), then ``A``.
    * ``cov_method="fixed"``: each ``Omega_j`` has its own inverse-Wishart
      prior ``IW(prior_df, prior_scale)``; clusters share nothing.
    * ``cov_method="common"``: one ``Omega`` for all clusters, exactly
      :class:`MultilevelJointImputer`.

    Rows may come in any order: every step groups rows by cluster, and
    every row is imputed with its own cluster's covariance.

    Parameters
    ----------
    %(multilevel_parameters)s
    %(run_parameters)s

    Attributes
    ----------
    %(multilevel_attributes)s

    See Also
    --------
    MultilevelJointImputer : The same model, a common covariance by default.

    Notes
    -----
    Differences from R's jomo: rows need not be sorted by cluster, missing
    values use their own cluster's covariance, real degrees of freedom, and
    the proposal density of ``a`` is exact. With ``cov_method="fixed"`` a
    cluster never seen in fit has no covariance, so ``transform`` refuses
    its rows; with ``"random"`` it draws one from the fitted ``IW(a, A)``.
    With categorical level-1 outcomes, "random" pools (through ``a`` and
    ``A``) the regressions of the continuous outcomes on the latents and
    their residual covariance, with the law these have under ``IW(a, A)``;
    with one categorical outcome this is ``IW(a, A)`` restricted to the
    fixed latent block. With several, the covariances between latents of
    different categorical outcomes are cluster-specific with the prior of
    the "fixed" method (``prior_df``, ``prior_scale``): a hierarchical prior
    on them has an intractable normalising constant. See doc/model.rst.

    Examples
    --------
    >>> from skjomo import HeteroscedasticMultilevelImputer
    >>> from skjomo.datasets import load_jspmiss
    >>> data = load_jspmiss()[["school", "english", "ravens", "sex"]]
    >>> imputer = HeteroscedasticMultilevelImputer(
    ...     cluster_col="school", covariate_cols=["sex"], cov_method="random",
    ...     n_burn=100, n_between=10, random_state=0)
    >>> imputer.fit(data).cluster_covariances_.shape
    (47, 2, 2)
    """

    def __init__(
        self,
        cluster_col=None,
        *,
        formula=None,
        roles=None,
        group_col=None,
        cov_method="random",
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
