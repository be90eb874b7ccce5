"""Where the roles of the columns come from: one of three routes.

* ``formula=``: parsed by :mod:`skjomo._formula` (doc/formula.rst);
* ``roles=``: a mapping from column to role, the "type vector" of mitml's
  ``type`` argument (see :data:`ROLES`);
* the role parameters (``outcome_cols``, ``covariate_cols``, ...).

Setting two routes is an error. Each route gives the same role arguments of
:meth:`~skjomo._spec.ModelSpec.from_parameters`, so the same model stated
any way gives the same imputations.
"""

from ._formula import parse_formula

ROLE_PARAMETERS = (
    "outcome_cols",
    "covariate_cols",
    "categorical_cols",
    "cluster_col",
    "random_slope_cols",
    "level2_cols",
    "level2_covariate_cols",
)

# role name -> (role argument, two-level only)
ROLES = {
    "outcome": ("outcomes", False),
    "categorical outcome": ("outcomes", False),
    "predictor": ("covariates", False),
    "random predictor": ("random_slopes", True),
    "cluster": ("cluster", True),
    "group": ("group", False),
    "level-2 outcome": ("level2_outcomes", True),
    "categorical level-2 outcome": ("level2_outcomes", True),
    "level-2 predictor": ("level2_covariates", True),
    "excluded": ("excluded", False),
}


def _set_routes(estimator):
    """Names of the role routes the estimator's parameters use."""
    routes = []
    if getattr(estimator, "formula", None) is not None:
        routes.append("formula")
    if getattr(estimator, "roles", None) is not None:
        routes.append("roles")
    parameters = [n for n in ROLE_PARAMETERS if getattr(estimator, n, None) is not None]
    if parameters:
        routes.append(", ".join(parameters))
    return routes


def _from_mapping(estimator):
    """Role arguments of a ``roles`` mapping."""
    roles = estimator.roles
    if not hasattr(roles, "items"):
        raise TypeError(
            "roles must be a mapping from column to role, e.g. {'y': 'outcome', "
            f"'x': 'predictor', 'g': 'cluster'}}; got {type(roles).__name__}."
        )
    multilevel = hasattr(estimator, "cluster_col")
    out = {
        name: []
        for name in (
            "outcomes",
            "covariates",
            "random_slopes",
            "level2_outcomes",
            "level2_covariates",
            "categorical",
            "cluster",
            "group",
            "excluded",
        )
    }
    for column, role in roles.items():
        if role not in ROLES:
            raise ValueError(
                f"Unknown role {role!r} of column {column!r}; roles are {sorted(ROLES)}."
            )
        argument, two_level = ROLES[role]
        if two_level and not multilevel:
            raise ValueError(
                f"Role {role!r} of column {column!r} needs a two-level model: "
                "use MultilevelJointImputer."
            )
        out[argument].append(column)
        if role.startswith("categorical"):
            out["categorical"].append(column)
    for single in ("cluster", "group"):
        if len(out[single]) > 1:
            raise ValueError(
                f"roles names {len(out[single])} {single} columns {out[single]}; one is allowed."
            )
    if multilevel and not out["cluster"]:
        raise ValueError(
            "roles must name the cluster column of a two-level model ({column: 'cluster'})."
        )
    if not out["outcomes"]:
        raise ValueError("roles names no outcome.")
    cluster = out.pop("cluster")
    out.pop("group")
    excluded = out.pop("excluded")
    return dict(out, cluster=cluster[0] if cluster else None), excluded


def role_arguments(estimator):
    """Role arguments of the estimator's ModelSpec and the excluded columns."""
    routes = _set_routes(estimator)
    excluded = getattr(estimator, "exclude_cols", None)
    if len(routes) > 1:
        raise ValueError(
            f"The roles are set twice ({' and '.join(routes)}): a formula, a roles "
            "mapping and the role parameters are alternatives; use one."
        )
    if getattr(estimator, "roles", None) is not None:
        arguments, mapped = _from_mapping(estimator)
        return arguments, mapped + (
            [] if excluded is None else list([excluded] if isinstance(excluded, str) else excluded)
        )
    if getattr(estimator, "formula", None) is None:
        get = lambda name: getattr(estimator, name, None)
        return dict(
            outcomes=get("outcome_cols"),
            covariates=get("covariate_cols"),
            categorical=get("categorical_cols"),
            cluster=get("cluster_col"),
            random_slopes=get("random_slope_cols"),
            level2_outcomes=get("level2_cols"),
            level2_covariates=get("level2_covariate_cols"),
        ), excluded
    parsed = parse_formula(estimator.formula)
    multilevel = hasattr(estimator, "cluster_col")
    if parsed.cluster is not None and not multilevel:
        raise ValueError(
            f"The formula {str(parsed)!r} names a cluster ({parsed.cluster!r}); "
            f"{type(estimator).__name__} is single-level: use "
            "MultilevelJointImputer for clustered data."
        )
    if multilevel and parsed.cluster is None:
        raise ValueError(
            f"The formula {str(parsed)!r} names no cluster; a two-level model "
            "needs a random-effects term such as (1 | cluster)."
        )
    return parsed.roles(), excluded


def group_column(estimator):
    """The grouping column: ``group_col`` or the ``'group'`` of ``roles``."""
    roles = getattr(estimator, "roles", None)
    mapped = [c for c, r in roles.items() if r == "group"] if hasattr(roles, "items") else []
    group_col = getattr(estimator, "group_col", None)  # not every imputer has one
    if mapped and group_col is not None:
        raise ValueError("The group column is set twice (group_col and roles); use one.")
    return mapped[0] if mapped else group_col
