"""From a model statement and encoded data to the sampler's configuration.

:func:`sampler_model` checks the priors of a :class:`~skjomo._spec.ModelSpec`
against the data's dimensions and assembles the sampler's ``Model``;
:func:`sampler_starts` checks the starting values. Defaults are stated in
doc/model.rst ("Priors").
"""

import warnings

import numpy as np

from ._checks import check_design
from ._gibbs._chain import build_model
from ._gibbs._driver import Starts
from ._priors import data_scales
from ._schema import _plain


def _symmetric_positive_definite(matrix):
    return np.allclose(matrix, np.swapaxes(matrix, -1, -2)) and not np.any(
        np.linalg.eigvalsh(matrix) <= 0
    )


def _inverse_wishart_prior(df, scale, dim, n, df_name, scale_name, dim_name, count_name, default):
    """Checked ``(df, scale)`` of an inverse-Wishart prior of a ``dim``-square
    covariance estimated from ``n`` (residual) observations; ``default`` is
    the scale used when ``scale`` is None."""
    df = float(dim) if df is None else df
    if not np.isfinite(df) or df + n <= dim - 1:
        raise ValueError(
            f"{df_name} + {count_name} must exceed {dim_name} - 1 = {dim - 1} ({dim_name} is the "
            f"dimension of the covariance) for a proper posterior; got {df_name}={df!r}."
        )
    if scale is None:
        return float(df), default
    scale = np.asarray(scale, dtype=np.float64)
    if scale.shape != (dim, dim):
        raise ValueError(f"{scale_name} must have shape ({dim}, {dim}); got {scale.shape}.")
    if not _symmetric_positive_definite(scale):
        raise ValueError(f"{scale_name} must be symmetric positive definite.")
    return float(df), scale


def _latent_bounds(bounds):
    if bounds is None:
        return None
    try:
        lower, upper = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(
            f"latent_bounds must be None or a pair (lower, upper); got {bounds!r}."
        ) from None
    if not lower < 0 < upper:
        raise ValueError(
            "latent_bounds must satisfy lower < 0 < upper so that every "
            f"category keeps a region; got {bounds!r}."
        )
    return lower, upper


def _check_cluster_covariances(spec, codec, encoded, p):
    """Checks of the cluster-specific covariance methods at fit."""
    if (
        spec.cov_method == "random"
        and len(codec.schema.categorical) > 1
        and spec.prior_df is not None
        and not spec.prior_df > 0
    ):
        raise ValueError(
            "With cov_method='random' and several categorical level-1 outcomes, "
            "prior_df sets the prior of the covariances between their latents and must "
            f"be positive; got {spec.prior_df!r}."
        )
    if spec.cov_method == "fixed":
        sizes = np.bincount(encoded.cluster, minlength=encoded.n_clusters)
        prior_df = float(p) if spec.prior_df is None else float(spec.prior_df)
        labels = codec.cluster_labels
        improper = [labels[j] for j in np.flatnonzero(prior_df + sizes <= p - 1)]
        if improper:
            raise ValueError(
                f"With cov_method='fixed' and prior_df={spec.prior_df!r}, the covariance of "
                f"clusters {[_plain(c) for c in improper][:10]} has an improper posterior "
                f"(prior_df + rows of the cluster must exceed p - 1 = {p - 1}); raise "
                "prior_df or use cov_method='random'."
            )
        small = [labels[j] for j in np.flatnonzero(sizes < p)]
        if small:
            warnings.warn(
                f"Clusters {[_plain(s) for s in small][:10]} "
                f"have fewer rows than the {p} level-1 outcomes; with "
                "cov_method='fixed' their covariance is driven by its prior "
                "(consider cov_method='random', which pools clusters).",
                UserWarning,
                stacklevel=5,
            )
    if spec.cov_method == "random" and spec.a_prior is not None and not spec.a_prior > 0:
        raise ValueError(f"a_prior must be positive; got {spec.a_prior!r}.")


def sampler_model(spec, codec, encoded, fit):
    """The sampler's ``Model`` of an encoded frame and its dynamic rows.

    At fit the priors and the design are checked; for new rows
    (``fit=False``) the priors are irrelevant (parameters are fixed) and
    placeholders of the right shape are used.
    """
    p = encoded.values.shape[1]
    q = 0 if encoded.z is None else encoded.z.shape[1]
    level2 = encoded.level2 or {}
    d = p * q + (level2["values2"].shape[1] if level2 else 0)
    if fit:
        scales = data_scales(spec, codec, encoded)
        prior_df, prior_scale = _inverse_wishart_prior(
            spec.prior_df,
            spec.prior_scale,
            p,
            encoded.x.shape[0] - encoded.x.shape[1],
            "prior_df",
            "prior_scale",
            "p",
            "n_samples - n_covariates",
            scales["prior"],
        )
        check_design(encoded.x, codec.design_names)
        if codec.spec.level2_covariates:  # the joint model's (compatible imputation)
            check_design(level2["x2"], codec.level2_design_names, "level-2 covariates")
        if spec.multilevel:
            prior2_df, prior2_scale = _inverse_wishart_prior(
                spec.level2_prior_df,
                spec.level2_prior_scale,
                d,
                encoded.n_clusters,
                "level2_prior_df",
                "level2_prior_scale",
                "d",
                "n_clusters",
                scales["sigma"],
            )
            _check_cluster_covariances(spec, codec, encoded, p)
        else:
            prior2_df, prior2_scale = None, None
    else:
        prior_df, prior_scale, prior2_df, prior2_scale = float(p), np.eye(p), float(d), np.eye(d)
    multilevel = {}
    if spec.multilevel:
        multilevel = dict(
            z=encoded.z,
            cluster=encoded.cluster,
            n_clusters=encoded.n_clusters,
            prior2_df=prior2_df,
            prior2_scale=prior2_scale,
            cov_method=spec.cov_method_code,
            a_prior=spec.a_prior,
            **level2,
        )
    analysis = None
    if codec.analysis is not None:
        analysis = codec.analysis.sampler_arrays(encoded.analysis)
    return build_model(
        encoded.x,
        encoded.values,
        encoded.missing,
        encoded.codes,
        encoded.cat_start,
        encoded.cat_size,
        prior_df,
        prior_scale,
        latent_bounds=_latent_bounds(spec.latent_bounds),
        fit=fit,
        analysis=analysis,
        **multilevel,
    )


def sampler_starts(spec, model, scales):
    """Checked starting values of ``spec`` for ``model``; the covariances not
    given start at the data-based ``scales`` of :func:`skjomo._priors.data_scales`."""
    m, p = model.x.shape[1], model.static_k.shape[1]
    n_clusters, q = model.gram.shape[0], model.z.shape[1]
    d = model.prior2_scale.shape[0]
    per_cluster = spec.cov_method != "common"
    if spec.beta_start is not None and np.shape(spec.beta_start) != (m, p):
        raise ValueError(f"beta_start must have shape ({m}, {p}); got {np.shape(spec.beta_start)}.")
    if spec.cov_start is not None:
        cov = np.asarray(spec.cov_start, dtype=np.float64)
        stacked = per_cluster and cov.ndim == 3
        if cov.shape[-2:] != (p, p) or not (cov.ndim == 2 or stacked):
            raise ValueError(f"cov_start must have shape ({p}, {p}); got {cov.shape}.")
        if not _symmetric_positive_definite(cov):
            raise ValueError("cov_start must be symmetric positive definite.")
        if stacked and cov.shape[0] != n_clusters:
            raise ValueError(
                f"cov_start holds {cov.shape[0]} matrices; one per cluster means {n_clusters}."
            )
    if spec.a_start is not None and not spec.a_start > p:
        raise ValueError(f"a_start must exceed p = {p}; got {spec.a_start!r}.")
    u = None
    if spec.random_effects_start is not None:
        start = np.asarray(spec.random_effects_start, dtype=np.float64)
        if start.shape != (n_clusters, p * q):
            raise ValueError(
                f"random_effects_start must have shape ({n_clusters}, {p * q}); got {start.shape}."
            )
        u = start.reshape(n_clusters, p, q)
    if spec.level2_cov_start is not None and np.shape(spec.level2_cov_start) != (d, d):
        raise ValueError(
            f"level2_cov_start must have shape ({d}, {d}); got {np.shape(spec.level2_cov_start)}."
        )
    cov = scales["cov"] if spec.cov_start is None else spec.cov_start
    sigma = scales.get("sigma") if spec.level2_cov_start is None else spec.level2_cov_start
    return Starts(
        beta=spec.beta_start,
        cov=cov,
        u=u,
        sigma=sigma,
        a=None if spec.a_start is None else float(spec.a_start),
    )
