"""MultilevelJointImputer: two-level joint-model imputation."""

import numpy as np
import pandas as pd

from ._base import Encoded
from ._checks import check_design
from ._docs import fill_docstring
from ._gibbs._chain import build_model, initial_state
from ._priors import default_scales
from ._schema import (Schema, _as_list, _fill, _float_values, _is_continuous_dtype, _plain,
                      argmax_category, cluster_codes, cluster_level_frame)
from ._single import JointModelImputer


@fill_docstring
class MultilevelJointImputer(JointModelImputer):
    """Multiple imputation under a two-level joint latent-normal model.

    Rows (level 1) are nested in clusters given by ``cluster_col``. Every
    level-1 outcome (continuous, binary or categorical through latent
    normals) follows

    ``y_i = B' x_i + U_j' z_i + e_i,  e_i ~ N(0, Omega)``,

    with a common level-1 covariance ``Omega``, cluster random effects
    ``u_j = vec(U_j)`` (random intercepts, plus random slopes on
    ``random_slope_cols``) and, optionally, outcomes measured on clusters
    (``level2_cols``): ``y2_j = B2' x2_j + eps2_j`` where
    ``(u_j, eps2_j) ~ N(0, Sigma)`` jointly (jomo-samplers.md §5 and §7).
    Flat priors on ``B`` and ``B2``; inverse-Wishart priors on ``Omega`` and
    ``Sigma``, restricted to fixed latent blocks. Level-2 values missing for
    a cluster are imputed once and copied to every row of the cluster.

    Parameters
    ----------
    cluster_col : column label
        Column holding the cluster of each row (any dtype; rows in any
        order; clusters of any size, including 1).
    outcome_cols : list of column labels, default=None
        Level-1 outcomes. ``None`` takes every column with no other role.
    covariate_cols : list of column labels, default=None
        Fully observed level-1 predictors with fixed effects (an intercept
        is always included).
    random_slope_cols : list of column labels, default=None
        Fully observed numeric predictors with random slopes (jomo's ``Z``
        besides the intercept). They are added to the fixed effects too, so
        the random slopes vary around a fixed slope.
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
    prior_df, prior_scale : float, array-like, default=None
        Inverse-Wishart prior of the level-1 covariance ``Omega`` (default:
        degrees of freedom ``p`` and the scale-free diagonal of
        :class:`JointModelImputer`).
    level2_prior_df, level2_prior_scale : float, array-like, default=None
        Inverse-Wishart prior of the level-2 covariance ``Sigma`` of the
        random effects and level-2 residuals; default degrees of freedom
        ``d = p q + p2`` and a scale-free diagonal scale from the data (one
        pseudo-cluster: the variance of the observed cluster means for a
        random intercept, divided by ``var(z_k)`` for a slope, the variance
        across clusters of a level-2 outcome, 1 for latents; doc/model.rst,
        "Priors"). jomo's default is the identity.
    beta_start : array-like, default=None
        Starting level-1 fixed effects (zeros).
    cov_start : array-like, default=None
        Starting level-1 covariance (the default level-1 prior scale).
    level2_cov_start : array-like of shape (d, d), default=None
        Starting level-2 covariance (the default level-2 prior scale).
    random_effects_start : array-like of shape (n_clusters, p * q), default=None
        Starting random effects (zeros), in the layout of
        :attr:`random_effects_`.
    %(run_parameters)s

    Attributes
    ----------
    beta_ : pandas.DataFrame
        Posterior mean of the level-1 fixed effects.
    omega_ : pandas.DataFrame
        Posterior mean of the level-1 covariance.
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
    parameter_draws_, trace_, imputed_values_, imputed_level2_ : dict, ndarray
        Draws kept for transform and diagnostics (see
        :class:`JointModelImputer`); ``trace_`` also has ``"sigma"`` and
        ``"beta2"``.

    Notes
    -----
    Differences from R's jomo (spec/README.md): real priors with real
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

    def __init__(self, cluster_col=None, outcome_cols=None, covariate_cols=None,
                 random_slope_cols=None, level2_cols=None, level2_covariate_cols=None,
                 categorical_cols=None, exclude_cols=None, n_burn=1000, n_between=100,
                 n_imputations=5, prior_df=None, prior_scale=None, level2_prior_df=None,
                 level2_prior_scale=None, beta_start=None, cov_start=None,
                 level2_cov_start=None, random_effects_start=None, n_chains=1,
                 latent_bounds=None, keep_chains="imputation", warm_start=False,
                 verbose=0, random_state=None, n_jobs=None):
        super().__init__(
            outcome_cols=outcome_cols, covariate_cols=covariate_cols,
            categorical_cols=categorical_cols, exclude_cols=exclude_cols, n_burn=n_burn,
            n_between=n_between, n_imputations=n_imputations, prior_df=prior_df,
            prior_scale=prior_scale, beta_start=beta_start, cov_start=cov_start,
            latent_bounds=latent_bounds, n_chains=n_chains, keep_chains=keep_chains,
            warm_start=warm_start, verbose=verbose, random_state=random_state, n_jobs=n_jobs)
        self.cluster_col = cluster_col
        self.random_slope_cols = random_slope_cols
        self.level2_cols = level2_cols
        self.level2_covariate_cols = level2_covariate_cols
        self.level2_prior_df = level2_prior_df
        self.level2_prior_scale = level2_prior_scale
        self.level2_cov_start = level2_cov_start
        self.random_effects_start = random_effects_start

    # -------------------------------------------------------------- schema
    def _roles(self, frame):
        if self.cluster_col is None:
            raise ValueError("cluster_col is required: name the column holding the clusters.")
        if frame.shape[1] == 1 and self.cluster_col in frame.columns:
            raise ValueError("The data has 1 feature(s), the cluster column; a minimum of 2 is "
                             "required (the cluster column and an outcome).")
        covariates = _as_list(self.covariate_cols, "covariate_cols")
        slopes = _as_list(self.random_slope_cols, "random_slope_cols")
        level2 = _as_list(self.level2_cols, "level2_cols")
        level2_covariates = _as_list(self.level2_covariate_cols, "level2_covariate_cols")
        if level2_covariates and not level2:
            raise ValueError("level2_covariate_cols needs level2_cols: they predict "
                             "level-2 outcomes.")
        for column in slopes:
            if column not in frame.columns:
                raise ValueError(f"Column {column!r} given as random slope is not in the data.")
            if frame[column].isna().any():
                raise ValueError(
                    f"Random-slope covariate {column!r} has missing values; random-slope "
                    "covariates must be fully observed.")
            if not _is_continuous_dtype(frame[column]):
                raise TypeError(f"Random-slope covariate {column!r} must be numeric; got dtype "
                                f"{frame[column].dtype}.")
            _float_values(frame[column], column, "random slope")
        reserved = {self.cluster_col: "cluster"}
        for role, names in (("level-2 outcome", level2),
                            ("level-2 covariate", [c for c in level2_covariates
                                                   if c not in covariates])):
            for column in names:
                if column in reserved:
                    raise ValueError(f"Column {column!r} is given two roles: "
                                     f"{reserved[column]} and {role}.")
                reserved[column] = role
        fixed = covariates + [c for c in slopes if c not in covariates]
        return fixed, slopes, level2, level2_covariates, reserved

    def _encode(self, frame, fit):
        if fit:
            fixed, slopes, level2, level2_covariates, reserved = self._roles(frame)
            self.schema_ = Schema(frame, outcome_cols=self.outcome_cols, covariate_cols=fixed,
                                  categorical_cols=self.categorical_cols,
                                  exclude_cols=self.exclude_cols, reserved=reserved)
            self._slopes = slopes
            self._level2_covariates = level2_covariates
            codes, self.cluster_labels_ = cluster_codes(frame[self.cluster_col])
            labels = self.cluster_labels_
        else:
            self.schema_.check_frame(frame)
            codes, labels = cluster_codes(frame[self.cluster_col], known=self.cluster_labels_)
        schema = self.schema_
        n_clusters = len(labels)  # clusters of fit first, then new ones
        values, missing, cat_codes = schema.encode_outcomes(frame)
        x = schema.design(frame)
        z = np.column_stack([np.ones(len(frame))]
                            + [_float_values(frame[c], c, "random slope") for c in self._slopes])
        level2 = self._encode_level2(frame, codes, labels, fit)
        p, q = values.shape[1], z.shape[1]
        d = p * q + (level2["values2"].shape[1] if level2 else 0)
        if fit:
            self._data_scales = default_scales(
                values, len(schema.continuous), codes, n_clusters, z,
                *((level2["values2"], len(self.schema2_.continuous)) if level2 else (None, 0)),
                hyperprior=getattr(self, "cov_method", None) == "random",
                names=schema.latent_labels)
            prior_df, prior_scale = self._prior(p, schema.latent_labels, x.shape[0] - x.shape[1])
            self._check_design(x, schema)
            self._check_starts(x.shape[1], p)
            prior2_df, prior2_scale = self._level2_prior(d, n_clusters)
        else:
            prior_df, prior_scale, prior2_df, prior2_scale = float(p), np.eye(p), float(d), np.eye(d)
        cat_start, cat_size = schema.categorical_layout()
        model, dynamic = build_model(
            x, values, missing, cat_codes, cat_start, cat_size, prior_df, prior_scale,
            z=z, cluster=codes, n_clusters=n_clusters, prior2_df=prior2_df,
            prior2_scale=prior2_scale, latent_bounds=self._latent_bounds(), fit=fit,
            **self._covariance_options(schema, codes, n_clusters, fit), **(level2 or {}))
        return Encoded(model=model, dynamic=dynamic, values=values[dynamic], missing=missing,
                       values2=level2["values2"] if level2 else None,
                       missing2=level2["missing2"] if level2 else None, cluster=codes)

    def _encode_level2(self, frame, codes, labels, fit):
        level2 = _as_list(self.level2_cols, "level2_cols")
        if not level2:
            return None
        n_clusters = len(labels)
        cluster_frame = cluster_level_frame(frame, level2 + self._level2_covariates, codes,
                                            labels, "Level-2")
        present = np.unique(codes)
        for column in self._level2_covariates:
            unobserved = present[cluster_frame[column].isna().to_numpy()[present]]
            if unobserved.size:
                raise ValueError(
                    f"Level-2 covariate {column!r} is missing on every row of cluster "
                    f"{_plain(labels[unobserved[0]])!r}; level-2 covariates must be observed "
                    "for every cluster.")
        if fit:
            # observed level-2 values of the clusters of fit (they are data in transform)
            self._level2_fit = {c: cluster_frame[c].to_numpy(dtype=object) for c in level2}
            self.schema2_ = Schema(cluster_frame, outcome_cols=level2,
                                   covariate_cols=self._level2_covariates,
                                   categorical_cols=[c for c in _as_list(self.categorical_cols,
                                                                         "categorical_cols")
                                                     if c in level2])
        values2, missing2, codes2 = self.schema2_.encode_outcomes(cluster_frame)
        absent = np.setdiff1d(np.arange(n_clusters), codes)
        if absent.size:  # clusters without rows in this frame: nothing to impute
            missing2[absent] = False
        if self._level2_covariates:
            x2 = np.zeros((n_clusters, len(self.schema2_.covariate_design_names)))
            x2[present] = self.schema2_.design(cluster_frame.iloc[present])
            if fit:
                check_design(x2, self.schema2_.covariate_design_names, "level-2 covariates")
            x2[absent, 0] = 1.0
        else:
            x2 = np.ones((n_clusters, 1))
        cat2_start, cat2_size = self.schema2_.categorical_layout()
        return dict(x2=x2, values2=values2, missing2=missing2, codes2=codes2,
                    cat2_start=cat2_start, cat2_size=cat2_size)

    def _level2_prior(self, d, n_clusters):
        prior_df = float(d) if self.level2_prior_df is None else self.level2_prior_df
        if not np.isfinite(prior_df) or prior_df + n_clusters <= d - 1:
            raise ValueError(
                f"level2_prior_df + n_clusters must exceed d - 1 = {d - 1} (d is the "
                f"dimension of the level-2 covariance); got {self.level2_prior_df!r}.")
        if self.level2_prior_scale is None:
            return float(prior_df), self._data_scales["sigma"]
        scale = np.asarray(self.level2_prior_scale, dtype=np.float64)
        if scale.shape != (d, d):
            raise ValueError(f"level2_prior_scale must have shape ({d}, {d}); got {scale.shape}.")
        if not np.allclose(scale, scale.T) or np.any(np.linalg.eigvalsh(scale) <= 0):
            raise ValueError("level2_prior_scale must be symmetric positive definite.")
        return float(prior_df), scale

    def _covariance_options(self, schema, codes, n_clusters, fit):
        """Extra ``build_model`` options of the level-1 covariance (common here)."""
        return {}

    # ---------------------------------------------------------- sampling
    def _initial_state(self, encoded, chain):
        n_clusters = encoded.model.gram.shape[0]
        p, q = encoded.model.static_k.shape[1], encoded.model.z.shape[1]
        u = None
        if self.random_effects_start is not None:
            start = np.asarray(self.random_effects_start, dtype=np.float64)
            if start.shape != (n_clusters, p * q):
                raise ValueError(f"random_effects_start must have shape ({n_clusters}, "
                                 f"{p * q}); got {start.shape}.")
            u = start.reshape(n_clusters, p, q)
        d = encoded.model.prior2_scale.shape[0]
        if self.level2_cov_start is not None and np.shape(self.level2_cov_start) != (d, d):
            raise ValueError(f"level2_cov_start must have shape ({d}, {d}); "
                             f"got {np.shape(self.level2_cov_start)}.")
        return initial_state(encoded.model, encoded.values, encoded.values2,
                             beta=self.beta_start, cov=self._start("cov", self.cov_start), u=u,
                             sigma=self._start("sigma", self.level2_cov_start))

    def _new_clusters(self, encoded):
        mask = np.zeros(encoded.model.gram.shape[0], dtype=bool)
        mask[len(self.cluster_labels_):] = True
        return mask

    def _state_for_draw(self, encoded, draw, rng):
        draws = self.parameter_draws_
        n_clusters = encoded.model.gram.shape[0]
        known = draws["u"][draw]
        u = np.zeros((n_clusters,) + known.shape[1:])
        u[:known.shape[0]] = known
        return initial_state(encoded.model, encoded.values, encoded.values2,
                             beta=draws["beta"][draw],
                             cov=self._covariances_for_draw(encoded, draw, rng), u=u,
                             sigma=draws["sigma"][draw], beta2=draws["beta2"][draw])

    def _chain_groups(self):
        groups = super()._chain_groups()
        labels = self.sigma_.index.tolist()
        groups["sigma"] = ("sigma", [labels, labels])
        groups["u_mean"] = ("u_mean", [self.random_effects_.columns.tolist()])
        if self._has_level2:
            groups["beta2"] = ("beta2", [self.beta2_.index.tolist(),
                                         self.beta2_.columns.tolist()])
        return groups

    def _model_description(self):
        rows = [("Cluster variable", f"{self.cluster_col} ({len(self.cluster_labels_)} clusters)")]
        rows += super()._model_description()
        rows.append(("Random effect predictors",
                     " ".join(["(Intercept)"] + [str(c) for c in self._slopes])))
        if self._has_level2:
            rows += [("Level-2 outcomes", " ".join(map(str, self.schema2_.outcome_names))),
                     ("Level-2 predictors",
                      " ".join(map(str, self.schema2_.covariate_design_names)))]
        return rows

    def _covariances_for_draw(self, encoded, draw, rng):
        """Level-1 covariance(s) of stored draw ``draw`` for a new frame."""
        return self.parameter_draws_["cov"][draw]

    def _summarize_draws(self):
        super()._summarize_draws()
        outcomes = self.schema_.latent_labels
        predictors = ["(Intercept)"] + [str(c) for c in self._slopes]
        u_labels = [f"{t}|{k}" for t in outcomes for k in predictors]
        level2_labels = self.schema2_.latent_labels if self._has_level2 else []
        labels = u_labels + level2_labels
        self.sigma_ = pd.DataFrame(self.trace_["sigma"].mean(axis=(0, 1)), index=labels,
                                   columns=labels)
        self.beta2_ = None
        if self._has_level2:
            self.beta2_ = pd.DataFrame(self.trace_["beta2"].mean(axis=(0, 1)),
                                       index=self.schema2_.covariate_design_names,
                                       columns=level2_labels)
        n_recorded = self.trace_["beta"].shape[0] * self.trace_["beta"].shape[1]
        u_mean = sum(s.u_sum for s in self._final_states) / n_recorded
        self.random_effects_ = pd.DataFrame(u_mean.reshape(u_mean.shape[0], -1),
                                            index=self.cluster_labels_, columns=u_labels)

    @property
    def _has_level2(self):
        return bool(_as_list(self.level2_cols, "level2_cols"))

    def _impute_new(self, frame, draw, imputation):
        return super()._impute_new(self._with_known_level2(frame), draw, imputation)

    def _with_known_level2(self, frame):
        """``frame``, or a copy whose missing level-2 outcome cells hold their
        cluster's value where it is known.

        A cluster's level-2 value is known when it is observed on another row
        of the cluster in ``frame`` or, for a cluster seen in fit, when it was
        observed in fit. Only the values of the other clusters are imputed.
        """
        if not self._has_level2:
            return frame
        self.schema_.check_frame(frame)
        columns = self.schema2_.outcome_names
        if not frame[columns].isna().any().any():
            return frame
        codes, labels = cluster_codes(frame[self.cluster_col], known=self.cluster_labels_)
        clusters = cluster_level_frame(frame, columns, codes, labels, "Level-2")
        n_fit = len(self.cluster_labels_)
        out = frame.copy()
        for column in columns:
            values = clusters[column].to_numpy(dtype=object, copy=True)  # writable
            unknown = pd.isna(values[:n_fit])
            values[:n_fit][unknown] = self._level2_fit[column][unknown]
            rows = frame[column].isna().to_numpy() & pd.notna(values[codes])
            if rows.any():
                out[column] = _fill(frame[column], rows, values[codes[rows]])
        return out

    def _decode(self, frame, encoded, completed, completed2):
        frame = self._with_known_level2(frame)
        out = self.schema_.decode(frame, completed, encoded.missing)
        if completed2 is None:
            return out
        for k, column in enumerate(self.schema2_.outcome_names):
            rows = frame[column].isna().to_numpy()
            if not rows.any():
                continue
            cluster_values = self._level2_values(completed2, k)
            out[column] = _fill(frame[column], rows, cluster_values[encoded.cluster[rows]])
        return out

    def _level2_values(self, completed2, k):
        """Values of level-2 outcome ``k`` per cluster from completed latents."""
        column = self.schema2_.outcomes[k]
        if column.kind == "continuous":
            position = [c.name for c in self.schema2_.continuous].index(column.name)
            return completed2[:, position]
        starts, sizes = self.schema2_.categorical_layout()
        index = [c.name for c in self.schema2_.categorical].index(column.name)
        latents = completed2[:, starts[index]:starts[index] + sizes[index]]
        return np.asarray(column.categories, dtype=object)[argmax_category(latents)]
