"""The random-effects term ``( ... | cluster)`` of a two-level analysis model.

An analysis formula such as ``"y ~ x1 * w + (1 + x1 | school)"`` states a
mixed model (doc/smc.rst, "Two-level analysis models"): cluster random
effects ``b_j ~ N(0, Psi)`` on the terms left of the bar. This module

* splits the term off the formula (:func:`split_random_effects`) so that
  the fixed part is parsed as a single-level analysis formula;
* matches every random term to a fixed term of the same factors (a random
  effect varies around its fixed effect, so each random term must also be a
  fixed term; the random-effect design is then a subset of the columns of
  the analysis design and is recomputed with it from imputed covariates);
* gives the sampler's arrays: the design columns with random effects, the
  cluster of every row and the default inverse-Wishart prior of ``Psi``.
"""

import re
from dataclasses import dataclass

import numpy as np

from ._gibbs._smc_mixed import default_prior

# "( left | cluster )", the left side may hold calls such as I(x**2) or C(g)
_BAR = re.compile(r"\(((?:[^()]|\([^()]*\))*)\|([^()]*)\)")


@dataclass(frozen=True)
class RandomEffectsFormula:
    """The random-effects term of an analysis formula.

    Attributes
    ----------
    text : str
        The term as written, ``"(1 + x1 | school)"``.
    cluster : str
        The cluster column, right of the bar.
    terms : tuple of int
        Positions, in the analysis formula's terms, of the terms with random
        effects (the intercept included), in the order written.
    """

    text: str
    cluster: str
    terms: tuple


def split_random_effects(formula):
    """``(fixed formula, (left of the bar, cluster, text) or None)``.

    Raises
    ------
    ValueError
        For more than one random-effects term, ``||``, or a bar elsewhere.
    """
    if not isinstance(formula, str):
        return formula, None
    found = list(_BAR.finditer(formula))
    if not found:
        if "|" in formula:
            raise ValueError(
                f"The analysis formula {formula!r} has a '|' outside a random-effects "
                "term '(terms | cluster)'."
            )
        return formula, None
    if len(found) > 1:
        raise ValueError(
            f"The analysis formula {formula!r} has {len(found)} random-effects terms; "
            "one '(terms | cluster)' term is supported (one level of clustering)."
        )
    match = found[0]
    left, cluster = match.group(1).strip(), match.group(2).strip()
    if left.endswith("|") or cluster.startswith("|"):
        raise ValueError(
            f"Uncorrelated random effects '||' are not supported in {match.group(0)!r}; "
            "the random effects have an unstructured covariance."
        )
    if not cluster.isidentifier():
        raise ValueError(
            f"The cluster of {match.group(0)!r} must be one column name; got {cluster!r}."
        )
    before, after = formula[: match.start()].rstrip(), formula[match.end() :].lstrip()
    if before.endswith("+"):
        before = before[:-1].rstrip()
    elif after.startswith("+"):
        after = after[1:].lstrip()
    fixed = f"{before} {after}".strip()
    if fixed.endswith("~"):
        fixed += " 1"
    if "|" in fixed:
        raise ValueError(f"The analysis formula {formula!r} has a '|' outside its random term.")
    return fixed, (left or "1", cluster, match.group(0))


def match_random_terms(random, fixed_terms, parse):
    """The :class:`RandomEffectsFormula` of ``random`` (from
    :func:`split_random_effects`) given the parsed fixed terms; ``parse``
    parses a formula's right-hand side into terms."""
    left, cluster, text = random
    positions = {frozenset(term.labels): k for k, term in enumerate(fixed_terms)}
    chosen = []
    for term in parse(left):
        key = frozenset(term.labels)
        name = ":".join(term.labels) or "1"
        if key not in positions:
            raise ValueError(
                f"The random-effects term {text!r} has a random effect on {name!r}, which "
                "is not a fixed term of the formula; random effects vary around a fixed "
                f"effect, so add {name!r} to the fixed part."
            )
        if term.categorical:
            raise ValueError(
                f"Random effects on the categorical term {name!r} are not supported; "
                "random intercepts and slopes of numeric terms are."
            )
        chosen.append(positions[key])
    if cluster in {c for term in fixed_terms for c, _ in term.powers} | {
        c for term in fixed_terms for c in term.categorical
    }:
        raise ValueError(f"The cluster column {cluster!r} is also a covariate of the formula.")
    return RandomEffectsFormula(text, cluster, tuple(chosen))


def term_columns(layout):
    """Columns of the analysis design of each term of ``layout`` (an
    :class:`~skjomo._analysis_model.AnalysisLayout`)."""
    columns, start = [], 0
    for term in layout.terms:
        width = int(np.prod([len(layout.categories[c]) - 1 for c in term.categorical]))
        columns.append(list(range(start, start + width)))
        start += width
    return columns


# The random intercept of a model whose design has no intercept column (the
# ordinal model: its cut-points take the intercept's place); the sampler's
# random-effect design is 1 there (_gibbs/_smc_mixed.py).
NO_COLUMN = -1


def random_effect_columns(layout):
    """(design columns with random effects, their names); :data:`NO_COLUMN`
    for a random intercept without an intercept column."""
    by_term = dict(zip((frozenset(t.labels) for t in layout.terms), term_columns(layout)))
    index = []
    for k in layout.analysis.random.terms:
        index += by_term.get(frozenset(layout.analysis.terms[k].labels), [NO_COLUMN])
    names = [layout.term_names[c] if c != NO_COLUMN else "Intercept" for c in index]
    return np.asarray(index, np.int64), names


def design_columns(layout, xvars, columns):
    """Columns ``columns`` of the analysis design of rows ``xvars`` (NaN where
    a variable they use is missing), in numpy."""
    out = np.ones((xvars.shape[0], len(columns)))
    ptr, var, power, level = (
        layout.term_ptr,
        layout.factor_var,
        layout.factor_power,
        layout.factor_level,
    )
    for t, col in enumerate(columns):
        if col == NO_COLUMN:
            continue
        for f in range(ptr[col], ptr[col + 1]):
            x = xvars[:, var[f]]
            out[:, t] *= (
                np.where(np.isnan(x), np.nan, x == level[f]) if level[f] >= 0 else x ** power[f]
            )
    return out


def random_effects_arrays(layout, y, xvars, cluster, n_clusters):
    """Keyword arguments of :func:`skjomo._gibbs._smc_mixed.build_random_effects`."""
    index, _ = random_effect_columns(layout)
    prior_df, prior_scale = default_prior(
        y,
        design_columns(layout, xvars, index),
        logistic=layout.analysis.family in ("logit", "ordinal"),
    )
    return {
        "cluster": cluster,
        "n_clusters": n_clusters,
        "re_index": index,
        "prior_df": prior_df,
        "prior_scale": prior_scale,
    }
