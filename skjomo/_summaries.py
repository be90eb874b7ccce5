"""Fitted summaries of a model: labelled posterior means, chain groups, report.

Which summaries exist follows from the :class:`~skjomo._spec.ModelSpec`:
every model has ``beta_`` and ``omega_``; a two-level model adds
``sigma_``, ``beta2_``, ``random_effects_`` and ``cluster_labels_``; the
cluster-specific covariance methods add ``cluster_covariances_``, and
"random" adds ``a_``; an analysis model (compatible imputation) adds
``theta_``, for the linear model ``residual_variance_``, and for a
two-level analysis model ``psi_``.
"""

import pandas as pd

from ._analysis_mixed import random_effect_columns


def posterior_means(spec, codec, run):
    """Fitted attributes (name -> value) from a :class:`ChainRun`."""
    trace = run.trace
    labels, design = codec.latent_labels, codec.design_names
    out = {
        "beta_": pd.DataFrame(trace["beta"].mean(axis=(0, 1)), index=design, columns=labels),
        "omega_": pd.DataFrame(trace["cov"].mean(axis=(0, 1)), index=labels, columns=labels),
    }
    if codec.analysis is not None:
        out["theta_"] = pd.Series(
            trace["theta"].mean(axis=(0, 1)), index=codec.analysis.parameter_names, name="theta"
        )
        if spec.analysis.family == "lm":
            out["residual_variance_"] = float(trace["sigma2"].mean())
        if spec.analysis.random is not None:
            names = random_effect_columns(codec.analysis)[1]
            out["psi_"] = pd.DataFrame(trace["psi"].mean(axis=(0, 1)), index=names, columns=names)
    if not spec.multilevel:
        return out
    u_labels = codec.random_effect_labels
    level2_labels = codec.level2_labels
    sigma_labels = u_labels + level2_labels
    out["sigma_"] = pd.DataFrame(
        trace["sigma"].mean(axis=(0, 1)), index=sigma_labels, columns=sigma_labels
    )
    out["beta2_"] = None
    if spec.has_level2:
        out["beta2_"] = pd.DataFrame(
            trace["beta2"].mean(axis=(0, 1)), index=codec.level2_design_names, columns=level2_labels
        )
    u_mean = run.random_effects_mean
    out["random_effects_"] = pd.DataFrame(
        u_mean.reshape(u_mean.shape[0], -1), index=codec.cluster_labels, columns=u_labels
    )
    out["cluster_labels_"] = codec.cluster_labels
    if spec.cov_method != "common":
        out["cluster_covariances_"] = run.covariance_mean
    if spec.cov_method == "random":
        out["a_"] = float(trace["a"].mean())
    return out


def chain_groups(spec, codec):
    """Traced parameter groups: public name -> (trace key, axis labels)."""
    labels = codec.latent_labels
    groups = {"beta": ("beta", [codec.design_names, labels]), "omega": ("cov", [labels, labels])}
    if spec.multilevel:
        sigma_labels = codec.random_effect_labels + codec.level2_labels
        groups["sigma"] = ("sigma", [sigma_labels, sigma_labels])
        groups["u_mean"] = ("u_mean", [codec.random_effect_labels])
        if spec.has_level2:
            groups["beta2"] = ("beta2", [codec.level2_design_names, codec.level2_labels])
    if spec.cov_method == "random":
        groups["a"] = ("a", None)
    if codec.analysis is not None:
        groups["theta"] = ("theta", [codec.analysis.parameter_names])
        if spec.analysis.family == "lm":
            groups["sigma2"] = ("sigma2", None)
        if spec.analysis.random is not None:
            names = random_effect_columns(codec.analysis)[1]
            groups["psi"] = ("psi", [names, names])
    return groups


def model_description(spec, codec):
    """Rows (name, value) describing the fitted model for ``summary()``."""
    schema = codec.schema
    kinds = [
        f"{c.name}" + ("" if c.kind == "continuous" else f" ({len(c.categories)} categories)")
        for c in schema.outcomes
    ]
    rows = []
    if codec.analysis is not None:
        analysis = codec.analysis
        family = {
            "lm": "linear",
            "logit": "logistic",
            "ordinal": "proportional-odds logistic",
            "cox": "Cox proportional hazards",
        }[spec.analysis.family]
        if spec.analysis.random is not None:
            family += " mixed model"
        rows += [
            ("Analysis model", f"{spec.analysis.formula} ({family})"),
            (
                "Imputed compatibly",
                ", ".join(
                    map(str, [c for c in analysis.variables if c in analysis.joint_outcomes])
                ),
            ),
        ]
    if spec.multilevel:
        rows.append(("Cluster variable", f"{spec.cluster} ({len(codec.cluster_labels)} clusters)"))
    rows += [
        ("Outcomes", ", ".join(map(str, kinds))),
        ("Fixed effect predictors", " ".join(map(str, codec.design_names))),
    ]
    if spec.multilevel:
        rows.append(("Random effect predictors", " ".join(codec.random_effect_predictors)))
        if spec.has_level2:
            rows += [
                ("Level-2 outcomes", " ".join(map(str, codec.schema2.outcome_names))),
                ("Level-2 predictors", " ".join(map(str, codec.level2_design_names))),
            ]
        if spec.cov_method != "common":
            rows.append(("Level-1 covariance", f"one per cluster, cov_method={spec.cov_method!r}"))
    return rows


# Acceptance rates of the compatible-imputation steps outside this range are
# reported as a warning (doc/smc.rst, "Acceptance rates").
ACCEPTANCE_RANGE = {
    "analysis-model covariates": (0.1, 1.0),
    "analysis-model coefficients": (0.2, 1.0),
    "analysis-model random effects": (0.2, 1.0),
}


def acceptance_table(acceptance):
    """Lines reporting the acceptance rate of each Metropolis-Hastings step."""
    if not acceptance:
        return []
    lines = ["Metropolis-Hastings acceptance rates (after burn-in):"]
    lines += [f"  {step:<40}{rate:.3f}" for step, rate in acceptance.items()]
    return lines


def low_acceptance(acceptance):
    """Steps whose acceptance rate falls outside :data:`ACCEPTANCE_RANGE`."""
    return {
        step: rate
        for step, rate in acceptance.items()
        if step in ACCEPTANCE_RANGE
        and not ACCEPTANCE_RANGE[step][0] <= rate <= ACCEPTANCE_RANGE[step][1]
    }
