"""HeteroscedasticMultilevelImputer: cluster-specific level-1 covariances."""

import warnings

import numpy as np

from ._gibbs._chain import constrained_identity
from ._gibbs._wishart import split_constrained_inverse_wishart, work_space
from ._multilevel import MultilevelJointImputer
from ._schema import _plain

_METHODS = {"fixed": 1, "random": 2}
# Metropolis sweeps over the latent cross-block covariances of a new cluster
_NEW_CLUSTER_SWEEPS = 200


class HeteroscedasticMultilevelImputer(MultilevelJointImputer):
    """Two-level joint-model imputation with cluster-specific covariances.

    As :class:`MultilevelJointImputer` (random intercepts and slopes,
    level-2 outcomes and covariates, categorical outcomes), but every
    cluster ``j`` has its own level-1 covariance ``Omega_j``
    (jomo-samplers.md §8):

    * ``cov_method="fixed"``: each ``Omega_j`` has its own inverse-Wishart
      prior ``IW(prior_df, prior_scale)``; clusters share nothing.
    * ``cov_method="random"``: ``Omega_j ~ IW(a, A)`` across clusters, with
      ``A ~ Wishart(p + 1, prior_scale)`` and ``a`` (restricted to
      ``a > p``, as in jomo) with a chi-square prior on ``a_prior`` degrees
      of freedom; ``a`` and ``A`` are sampled, ``a`` first with ``A``
      integrated out (an independence Metropolis-Hastings step with its
      exact proposal density), then ``A``.

    Rows may come in any order: every step groups rows by cluster, and
    every row is imputed with its own cluster's covariance.

    Parameters
    ----------
    cluster_col : column label
        Column holding the clusters.
    cov_method : {"random", "fixed"}, default="random"
        How the cluster covariances are modelled.
    a_start : float, default=None
        Starting value of ``a`` ("random"); ``None`` means ``p + 50``.
    a_prior : float, default=None
        Degrees of freedom of the chi-square prior of ``a`` ("random");
        ``None`` means ``p``.
    **other parameters
        As :class:`MultilevelJointImputer`: ``outcome_cols``,
        ``covariate_cols``, ``random_slope_cols``, ``level2_cols``,
        ``level2_covariate_cols``, ``categorical_cols``, ``exclude_cols``,
        ``n_burn``, ``n_between``, ``n_imputations``, ``prior_df`` (with
        "random", used only for the covariances between latents of different
        categorical outcomes), ``prior_scale`` (with "random", the scale of
        the Wishart prior of ``A`` and of that latent prior; by default the
        level-1 default with its continuous entries times 100 times the
        number of continuous outcomes, a negligible pull on ``a``; see
        doc/model.rst),
        ``level2_prior_df``, ``level2_prior_scale``, ``beta_start``,
        ``cov_start`` (one matrix for all clusters, or one per cluster),
        ``level2_cov_start``, ``random_effects_start``, ``n_chains``,
        ``latent_bounds``, ``keep_chains``, ``warm_start``, ``verbose``,
        ``random_state``, ``n_jobs``.

    Attributes
    ----------
    cluster_covariances_ : ndarray of shape (n_clusters, p, p)
        Posterior means of the cluster covariances, in the order of
        :attr:`cluster_labels_`; rows and columns as :attr:`omega_`.
    omega_ : pandas.DataFrame
        Posterior mean of the average of the cluster covariances.
    a_ : float or None
        Posterior mean of ``a`` ("random").
    beta_, sigma_, beta2_, random_effects_, cluster_labels_, trace_ : object
        As :class:`MultilevelJointImputer`; ``trace_["a"]`` holds the draws
        of ``a``.

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

    def __init__(self, cluster_col=None, cov_method="random", outcome_cols=None,
                 covariate_cols=None, random_slope_cols=None, level2_cols=None,
                 level2_covariate_cols=None, categorical_cols=None, exclude_cols=None,
                 n_burn=1000, n_between=100, n_imputations=5, prior_df=None,
                 prior_scale=None, level2_prior_df=None, level2_prior_scale=None,
                 beta_start=None, cov_start=None, level2_cov_start=None,
                 random_effects_start=None, a_start=None, a_prior=None, n_chains=1,
                 latent_bounds=None, keep_chains="imputation", warm_start=False,
                 verbose=0, random_state=None, n_jobs=None):
        super().__init__(
            cluster_col=cluster_col, outcome_cols=outcome_cols,
            covariate_cols=covariate_cols, random_slope_cols=random_slope_cols,
            level2_cols=level2_cols, level2_covariate_cols=level2_covariate_cols,
            categorical_cols=categorical_cols, exclude_cols=exclude_cols, n_burn=n_burn,
            n_between=n_between, n_imputations=n_imputations, prior_df=prior_df,
            prior_scale=prior_scale, level2_prior_df=level2_prior_df,
            level2_prior_scale=level2_prior_scale, beta_start=beta_start,
            cov_start=cov_start, level2_cov_start=level2_cov_start,
            random_effects_start=random_effects_start, n_chains=n_chains,
            latent_bounds=latent_bounds, keep_chains=keep_chains, warm_start=warm_start,
            verbose=verbose, random_state=random_state, n_jobs=n_jobs)
        self.cov_method = cov_method
        self.a_start = a_start
        self.a_prior = a_prior

    def _covariance_options(self, schema, codes, n_clusters, fit):
        if self.cov_method not in _METHODS:
            raise ValueError(f"cov_method must be 'fixed' or 'random'; got {self.cov_method!r}.")
        p = schema.n_latent_columns
        if (fit and self.cov_method == "random" and len(schema.categorical) > 1
                and self.prior_df is not None and not self.prior_df > 0):
            raise ValueError(
                "With cov_method='random' and several categorical level-1 outcomes, "
                "prior_df sets the prior of the covariances between their latents and must "
                f"be positive; got {self.prior_df!r}.")
        if fit and self.cov_method == "fixed":
            sizes = np.bincount(codes, minlength=n_clusters)
            prior_df = float(p) if self.prior_df is None else float(self.prior_df)
            improper = [self.cluster_labels_[j] for j in np.flatnonzero(prior_df + sizes <= p - 1)]
            if improper:
                raise ValueError(
                    f"With cov_method='fixed' and prior_df={self.prior_df!r}, the covariance of "
                    f"clusters {[_plain(c) for c in improper][:10]} has an improper posterior "
                    f"(prior_df + rows of the cluster must exceed p - 1 = {p - 1}); raise "
                    "prior_df or use cov_method='random'.")
            small = [self.cluster_labels_[j] for j in np.flatnonzero(sizes < p)]
            if small:
                warnings.warn(
                    f"Clusters {[_plain(s) for s in small][:10]} "
                    f"have fewer rows than the {p} level-1 outcomes; with "
                    "cov_method='fixed' their covariance is driven by its prior "
                    "(consider cov_method='random', which pools clusters).",
                    UserWarning, stacklevel=5)
        if fit and self.cov_method == "random" and self.a_prior is not None:
            if not self.a_prior > 0:
                raise ValueError(f"a_prior must be positive; got {self.a_prior!r}.")
        return {"cov_method": _METHODS[self.cov_method], "a_prior": self.a_prior}

    _cov_start_per_cluster = True

    def _check_starts(self, m, p):
        super()._check_starts(m, p)
        if self.a_start is not None and not self.a_start > p:
            raise ValueError(f"a_start must exceed p = {p}; got {self.a_start!r}.")

    def _initial_state(self, encoded, chain):
        n_clusters = encoded.model.gram.shape[0]
        if self.cov_start is not None and np.ndim(self.cov_start) == 3 and (
                np.shape(self.cov_start)[0] != n_clusters):
            raise ValueError(f"cov_start holds {np.shape(self.cov_start)[0]} matrices; one "
                             f"per cluster means {n_clusters}.")
        state = super()._initial_state(encoded, chain)
        if self.a_start is not None:
            state.a[0] = float(self.a_start)
        return state

    def _covariances_for_draw(self, encoded, draw, rng):
        draws = self.parameter_draws_
        known = draws["cov"][draw]
        n_new = encoded.model.gram.shape[0] - known.shape[0]
        if n_new == 0:
            return known
        if self.cov_method == "fixed":
            raise ValueError(
                "The data have clusters not seen in fit. With cov_method='fixed' each "
                "cluster's covariance is estimated from its own rows only, so there is "
                "none for a new cluster; use cov_method='random', which draws it from "
                "the fitted inverse-Wishart distribution.")
        # the prior of a cluster covariance given a and A (doc/model.rst): the
        # latent cross-block covariances from their own prior by a long
        # Metropolis run from zero, the rest exactly from IW(a, A)
        model = encoded.model
        start = constrained_identity(known.shape[1], model.n_free, np.diff(model.block_ptr))
        new = np.repeat(start[None], n_new, axis=0)
        for matrix in new:
            split_constrained_inverse_wishart(
                rng, model.prior_df, model.prior_scale, float(draws["a"][draw]),
                draws["hyper_scale"][draw], model.n_free, model.block_ptr, matrix.copy(), matrix,
                model.mh_scale, _NEW_CLUSTER_SWEEPS, work_space(known.shape[1]))
        return np.concatenate([known, new])

    def _chain_groups(self):
        groups = super()._chain_groups()
        if self.cov_method == "random":
            groups["a"] = ("a", None)
        return groups

    def _model_description(self):
        return super()._model_description() + [
            ("Level-1 covariance", f"one per cluster, cov_method={self.cov_method!r}")]

    def _summarize_draws(self):
        super()._summarize_draws()
        n_recorded = self.trace_["beta"].shape[0] * self.trace_["beta"].shape[1]
        self.cluster_covariances_ = sum(s.cov_sum for s in self._final_states) / n_recorded
        self.a_ = float(self.trace_["a"].mean()) if self.cov_method == "random" else None
