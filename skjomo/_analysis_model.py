"""The analysis (substantive) model of compatible imputation.

A formula ``y ~ x1 * x2 + I(x1**2)`` with a family states the model the
user will fit to the completed data (doc/smc.rst). This module

* parses the formula (:func:`parse_analysis_formula`, with formulaic) into
  terms, each a product of factors: a column to a positive integer power,
  or the treatment dummies of a categorical column (first category the
  reference, as R's ``lm`` and formulaic);
* resolves it against the training frame (:class:`AnalysisLayout`): which
  columns are partially observed (outcomes of the joint model), which are
  fully observed (predictors of the joint model), the categories of the
  categorical variables and the *term table* -- integer and float arrays
  from which the sampler's numba kernels rebuild a row of the analysis
  design whenever an imputed covariate changes;
* encodes the outcome and the analysis variables of a frame and writes the
  imputed outcome back;
* checks the user's starting values of the analysis parameters.
"""

import ast
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ._analysis_cox import event_grid, split_survival_formula, survival_values
from ._analysis_level2 import is_auto, level2_roles
from ._analysis_mixed import match_random_terms, random_effects_arrays, split_random_effects
from ._schema import _fill, _float_values, _is_categorical_dtype, _sorted_categories

# sampler codes of the families (0 means no analysis model)
FAMILIES = {"lm": 1, "logit": 2, "ordinal": 3}
FAMILIES["cox"] = 4  # Cox proportional hazards (_analysis_cox.py, _gibbs/_smc_cox.py)


@dataclass(frozen=True)
class Term:
    """One term of the analysis formula.

    Attributes
    ----------
    powers : tuple of (column, int)
        Continuous factors and their powers (an empty tuple and no
        categorical factor is the intercept).
    categorical : tuple of column labels
        Categorical factors, each expanded into its treatment dummies.
    labels : tuple of str
        The factors as written, in order, for column names.
    kinds : tuple of bool
        Whether each label is a categorical factor.
    label_columns : tuple
        The column of each label that is a column name or ``C(column)``,
        ``None`` for ``I(...)``.
    """

    powers: tuple
    categorical: tuple
    labels: tuple
    kinds: tuple
    label_columns: tuple

    @property
    def is_intercept(self):
        return not self.powers and not self.categorical

    def resolve(self, categorical):
        """This term once the columns in ``categorical`` are known to be
        categorical: their bare names become treatment dummies."""
        powers, groups, kinds = dict(self.powers), list(self.categorical), list(self.kinds)
        for index, (column, kind) in enumerate(zip(self.label_columns, self.kinds)):
            if column is not None and not kind and column in categorical:
                powers[column] -= 1
                if not powers[column]:
                    del powers[column]
                if column in groups:
                    raise ValueError(
                        f"Term {':'.join(self.labels)!r} repeats the categorical {column!r}."
                    )
                groups.append(column)
                kinds[index] = True
        bad = [c for c in powers if c in categorical]
        if bad:
            raise ValueError(
                f"Column {bad[0]!r} is categorical; in the analysis formula it enters "
                "through its dummies (a main effect or an interaction), not through "
                f"I() or a power (term {':'.join(self.labels)!r})."
            )
        return Term(
            tuple(powers.items()), tuple(groups), self.labels, tuple(kinds), self.label_columns
        )


@dataclass(frozen=True)
class AnalysisFormula:
    """A parsed analysis formula and its family.

    Attributes
    ----------
    formula : str
        As given.
    family : {"lm", "logit", "ordinal", "cox"}
        Linear (normal errors), logistic, proportional-odds (cumulative
        logit) or Cox regression.
    outcome : str
        The column on the left-hand side (the event column of a Cox model).
    terms : tuple of Term
        Right-hand-side terms, in formulaic's order (intercept first).
    declared_categorical : tuple of str
        Columns wrapped in ``C()``.
    time : str or None
        The time column of a Cox model (``Surv(time, event)``).
    random : RandomEffectsFormula or None
        The random-effects term ``( ... | cluster)`` of a two-level model
        (:mod:`skjomo._analysis_mixed`).
    level2 : "auto", list or None
        The estimator's ``level2_cols`` (:mod:`skjomo._analysis_level2`).
    theta_start : array-like, pandas.Series or None
        The user's starting values of the parameters (checked by
        :meth:`AnalysisLayout.bind`).
    """

    formula: str
    family: str
    outcome: str
    terms: tuple
    declared_categorical: tuple
    time: object = None
    theta_start: object = field(default=None, compare=False, repr=False)
    random: object = None
    level2: object = field(default="auto", compare=False, repr=False)

    @property
    def responses(self):
        """The outcome columns: the outcome, and the time of a Cox model."""
        return (self.outcome,) if self.time is None else (self.time, self.outcome)

    @property
    def columns(self):
        """Covariates of the analysis model, in order of appearance."""
        seen = []
        for term in self.terms:
            for column in [c for c, _ in term.powers] + list(term.categorical):
                if column not in seen:
                    seen.append(column)
        return tuple(seen)


def _monomial(node, label):
    """Powers of the columns in a product of integer powers of columns."""
    if isinstance(node, ast.Name):
        return {node.id: 1}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        left, right = _monomial(node.left, label), _monomial(node.right, label)
        for column, power in right.items():
            left[column] = left.get(column, 0) + power
        return left
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Pow)
        and isinstance(node.right, ast.Constant)
        and isinstance(node.right.value, int)
        and not isinstance(node.right.value, bool)
        and node.right.value >= 1
    ):
        return {c: p * node.right.value for c, p in _monomial(node.left, label).items()}
    raise ValueError(
        f"The analysis formula term {label!r} is not a product of positive integer powers "
        "of columns. Terms are recomputed from every imputed value, so only column names, "
        "C(column) and I(...) of products and integer powers (e.g. I(x1**2), "
        "I(x1*x2)) are supported; compute other transformations beforehand (they are then "
        "imputed as variables of their own, not recomputed)."
    )


def _factor(expr, label):
    """(powers dict, categorical column or None) of one formulaic factor."""
    try:  # R's power operator, with R's precedence (Python's ^ binds loosest)
        tree = ast.parse(expr.replace("^", "**"), mode="eval").body
    except SyntaxError:
        tree = None
    if isinstance(tree, ast.Name) or tree is None:
        return {expr: 1}, None
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and not tree.keywords:
        if tree.func.id == "C" and len(tree.args) == 1 and isinstance(tree.args[0], ast.Name):
            return {}, tree.args[0].id
        if tree.func.id == "I" and len(tree.args) == 1:
            return _monomial(tree.args[0], label), None
    return _monomial(tree, label)  # raises with the message above unless a product


def parse_analysis_formula(formula, family, theta_start=None):
    """Parse ``formula`` (``"y ~ terms"``) of an analysis model of ``family``
    (``theta_start``: the user's starting values of its parameters).

    Raises
    ------
    ValueError
        Naming the part of the formula that is not supported.
    """
    from formulaic import Formula

    if family not in FAMILIES:
        raise ValueError(f"model must be one of {sorted(FAMILIES)}; got {family!r}.")
    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(
            "formula must be a string 'outcome ~ terms' naming the analysis "
            f"model; got {formula!r}."
        )
    written, (formula, random) = formula, split_random_effects(formula)
    time, single_outcome = None, formula
    if family == "cox":  # "Surv(time, event) ~ terms": the event is the outcome
        time, _, single_outcome = split_survival_formula(formula)
    elif formula.split("~", 1)[0].strip().startswith("Surv("):
        raise ValueError(
            f"The outcome of {formula!r} is a survival time: use model='cox' for a Cox "
            f"model (model={family!r} was given)."
        )
    try:
        parsed = Formula(single_outcome)
    except Exception as exc:
        raise ValueError(f"The analysis formula {formula!r} cannot be parsed: {exc}") from None
    lhs = list(parsed.lhs)
    if len(lhs) != 1 or len(lhs[0].factors) != 1 or lhs[0].factors[0].eval_method.value != "lookup":
        raise ValueError(f"The left-hand side of {formula!r} must be one column (the outcome).")
    outcome = lhs[0].factors[0].expr
    terms, declared = [], []
    for term in parsed.rhs:
        factors = [f for f in term.factors if f.eval_method.value != "literal"]
        powers, categorical, labels, kinds, label_columns = {}, [], [], [], []
        for factor in factors:
            monomial, group = _factor(factor.expr, str(term))
            bare = factor.eval_method.value == "lookup"
            label_columns.append(group if group is not None else factor.expr if bare else None)
            if group is not None:
                if group in categorical:
                    raise ValueError(f"Term {str(term)!r} repeats the categorical {group!r}.")
                categorical.append(group)
                declared.append(group)
            for column, power in monomial.items():
                powers[column] = powers.get(column, 0) + power
            labels.append(factor.expr)
            kinds.append(group is not None)
        overlap = set(powers) & set(categorical)
        if overlap:
            raise ValueError(
                f"Term {str(term)!r} uses {sorted(overlap)} both as categorical "
                "(C()) and as a number."
            )
        for response in (outcome, time):
            if response in powers or response in categorical:
                raise ValueError(
                    f"The outcome {response!r} also appears on the right-hand side of {formula!r}."
                )
        terms.append(
            Term(
                tuple(powers.items()),
                tuple(categorical),
                tuple(labels),
                tuple(kinds),
                tuple(label_columns),
            )
        )
    if family == "cox" and not any(term.is_intercept for term in terms):
        # h0 absorbs the intercept of a Cox model; it is kept while categorical
        # main effects are coded as treatment dummies, then dropped (AnalysisLayout)
        terms.insert(0, Term((), (), (), (), ()))
    if not terms:
        raise ValueError(f"The analysis formula {formula!r} has no terms.")
    if random is not None:
        random = match_random_terms(
            random, terms, lambda rhs: parse_analysis_formula(f"{outcome} ~ {rhs}", family).terms
        )
    return AnalysisFormula(
        written,
        family,
        outcome,
        tuple(terms),
        tuple(dict.fromkeys(declared)),
        time=time,
        theta_start=theta_start,
        random=random,
    )


# --------------------------------------------------------------------- data
def _binary_levels(series, column):
    """Levels (non-event, event) of a binary outcome, or ``None`` for 0/1."""
    observed = series.dropna()
    if _is_categorical_dtype(series):
        if isinstance(series.dtype, pd.CategoricalDtype):
            present = set(observed.tolist())
            levels = [c for c in series.dtype.categories if c in present]
        else:
            levels = _sorted_categories(observed.to_numpy())
        if len(levels) != 2:
            raise ValueError(
                f"The outcome {column!r} of a logistic model must take two "
                f"values; it takes {len(levels)}: {levels[:10]}."
            )
        return list(levels)
    values = _float_values(series, column, "outcome")
    if not np.isin(values[~np.isnan(values)], (0.0, 1.0)).all():
        raise ValueError(
            f"The outcome {column!r} of a logistic model must be 0/1, boolean "
            "or take two categories."
        )
    return None


def _ordinal_levels(series, column):
    """Ordered levels of an ordinal outcome: the observed categories of an
    ordered pandas Categorical in its order, or the sorted observed values
    of a numeric column."""
    observed = series.dropna()
    if isinstance(series.dtype, pd.CategoricalDtype):
        if not series.dtype.ordered:
            raise ValueError(
                f"The outcome {column!r} of an ordinal model is an unordered Categorical; "
                "give its order with pd.Categorical(..., ordered=True) or "
                "series.cat.as_ordered()."
            )
        present = set(observed.tolist())
        levels = [c for c in series.dtype.categories if c in present]
    elif _is_categorical_dtype(series):
        raise ValueError(
            f"The outcome {column!r} of an ordinal model has dtype {series.dtype}, "
            "whose values have no order; make it an ordered pandas Categorical or "
            "numeric (its sorted values are the categories)."
        )
    else:
        _float_values(series, column, "outcome of the ordinal model")
        levels = sorted(pd.unique(observed.to_numpy()).tolist())
    if len(levels) < 2:
        raise ValueError(
            f"The outcome {column!r} of an ordinal model must take at least two "
            f"values; it takes {len(levels)}."
        )
    return levels


class AnalysisLayout:
    """An analysis formula resolved against the training frame.

    Parameters
    ----------
    analysis : AnalysisFormula
    frame : pandas.DataFrame
        Training data.
    categorical : tuple
        Columns the user declared categorical (``categorical_cols``).
    excluded : tuple
        Columns left out of the model.
    """

    def __init__(self, analysis, frame, categorical, excluded):
        self.analysis = analysis
        columns = list(frame.columns)
        for column in analysis.responses + analysis.columns:
            if column not in columns:
                raise ValueError(f"Column {column!r} of the analysis formula is not in the data.")
            if column in excluded:
                raise ValueError(
                    f"Column {column!r} of the analysis formula is also in exclude_cols."
                )
        self.outcome = analysis.outcome
        self.variables = analysis.columns
        self.categorical = tuple(
            c
            for c in self.variables
            if c in analysis.declared_categorical
            or c in categorical
            or _is_categorical_dtype(frame[c])
        )
        self.terms = tuple(term.resolve(self.categorical) for term in analysis.terms)
        self._check_hierarchy()
        series = frame[self.outcome]
        self.event_grid = None
        if analysis.family == "cox":
            self.terms = tuple(t for t in self.terms if not t.is_intercept)
            if not self.terms:
                raise ValueError(f"The Cox model {analysis.formula!r} has no covariate.")
            self.event_grid = event_grid(*survival_values(frame, analysis.time, self.outcome))
        if series.notna().sum() == 0:
            raise ValueError(f"The outcome {self.outcome!r} is entirely missing.")
        self.cut_names = []
        if analysis.family == "ordinal":
            # the cut-points take the place of the intercept (doc/smc.rst)
            self.terms = tuple(t for t in self.terms if not t.is_intercept)
            self.outcome_levels = _ordinal_levels(series, self.outcome)
            levels = self.outcome_levels
            self.cut_names = [f"{a}/{b}" for a, b in zip(levels[:-1], levels[1:])]
        elif analysis.family == "cox":
            self.outcome_levels = None
        elif analysis.family == "logit":
            self.outcome_levels = _binary_levels(series, self.outcome)
        else:
            self.outcome_levels = None
            _float_values(series, self.outcome, "outcome of the linear model")
        cluster = None if analysis.random is None else analysis.random.cluster
        if cluster is not None and cluster not in columns:
            raise ValueError(f"The cluster column {cluster!r} is not in the data.")
        aux = [
            c
            for c in columns
            if c not in analysis.responses
            and c not in self.variables
            and c not in excluded + (cluster,)
        ]
        joint = [c for c in columns if c in self.variables or c in aux]
        self.joint_outcomes = tuple(c for c in joint if frame[c].isna().any())
        self.joint_covariates = tuple(c for c in joint if c not in self.joint_outcomes)
        if not any(c in self.variables for c in self.joint_outcomes):
            raise ValueError(
                "No covariate of the analysis formula has missing values, so there is no "
                "covariate to impute compatibly; rows missing only the outcome add no "
                "information to the analysis model (analyse the complete cases)."
            )
        self._level2_roles(frame, cluster, joint)
        self._schema = None

    def _level2_roles(self, frame, cluster, joint):
        """Level-2 outcomes and covariates of the joint model
        (:mod:`skjomo._analysis_level2`) and the level-1 outcomes."""
        self.level2_outcomes, self.level2_covariates = (), ()
        if cluster is not None:
            self.level2_outcomes, self.level2_covariates = level2_roles(
                frame, cluster, joint, self.joint_outcomes, self.analysis.level2
            )
        elif not (self.analysis.level2 is None or is_auto(self.analysis.level2)):
            raise ValueError(
                "level2_cols needs a two-level analysis model (a random-effects term "
                "'(1 | cluster)' in the formula)."
            )
        self.level1_outcomes = tuple(
            c for c in self.joint_outcomes if c not in self.level2_outcomes
        )
        self.level1_covariates = self.joint_covariates
        if self.level2_outcomes and not self.level1_outcomes:
            # the level-1 covariates' random effects carry their information to
            # the level-2 ones (doc/smc.rst, "Level-2 covariates")
            level1 = [
                c
                for c in self.variables
                if c in self.joint_covariates and c not in self.level2_covariates
            ]
            if not level1:
                raise ValueError(
                    f"The partially observed covariates {list(self.level2_outcomes)} are "
                    "all at level 2 and the formula has no level-1 covariate; there is "
                    "no level-1 variable for the joint model (use level2_cols=None to "
                    "model them at level 1)."
                )
            self.level1_outcomes = tuple(level1)
            self.level1_covariates = tuple(c for c in self.joint_covariates if c not in level1)

    def _check_hierarchy(self):
        present = {frozenset(t.labels) for t in self.terms}
        if self.analysis.family == "ordinal":
            present.add(frozenset())  # the cut-points act as the intercept
        for term in self.terms:
            for label, categorical in zip(term.labels, term.kinds):
                if categorical and frozenset(set(term.labels) - {label}) not in present:
                    margin = ":".join(lab for lab in term.labels if lab != label) or "1"
                    raise ValueError(
                        f"Term {':'.join(term.labels)!r} codes {label} with treatment "
                        f"dummies, which needs the term {margin!r} in the formula too "
                        "(and the intercept for a categorical main effect)."
                    )

    # ------------------------------------------------------------ roles
    def joint_spec(self, spec):
        """The joint model's spec: partially observed covariates (and auxiliary
        columns) are its outcomes, fully observed ones its predictors."""
        categorical = tuple(
            dict.fromkeys(
                tuple(spec.categorical)
                + tuple(c for c in self.categorical if c not in spec.categorical)
            )
        )
        return replace(
            spec,
            outcomes=self.level1_outcomes,
            covariates=self.level1_covariates,
            level2_outcomes=self.level2_outcomes,
            level2_covariates=self.level2_covariates,
            categorical=categorical,
            excluded=tuple(spec.excluded) + self.analysis.responses,
        )

    def bind(self, schema, schema2=None):
        """Categories, sources and the term table, once the joint schema
        exists (``schema2``: that of the level-2 outcomes, if any)."""
        self._schema = schema
        outcome_names = schema.outcome_names
        continuous = [c.name for c in schema.continuous]
        categorical = [c.name for c in schema.categorical]
        starts, _ = schema.categorical_layout()
        self.categories = {}
        var_col, var_block = [], []
        self.var_col2 = np.full(len(self.variables), -1, np.int64)
        self.var_block2 = np.full(len(self.variables), -1, np.int64)
        for v, column in enumerate(self.variables):
            if column in self.level2_outcomes:
                var_col.append(-1)
                var_block.append(-1)
                self._bind_level2(v, column, schema2)
            elif column in self.categorical:
                if column in outcome_names:
                    k = categorical.index(column)
                    self.categories[column] = list(schema.categorical[k].categories)
                    var_col.append(int(starts[k]))
                    var_block.append(k)
                else:
                    self.categories[column] = list(schema._covariate_levels[column])
                    var_col.append(-1)
                    var_block.append(-1)
            else:
                var_col.append(continuous.index(column) if column in outcome_names else -1)
                var_block.append(-1)
        self.var_col = np.asarray(var_col, np.int64)
        self.var_block = np.asarray(var_block, np.int64)
        self._term_table()
        self.theta_start = self._check_theta_start(self.analysis.theta_start)

    def _bind_level2(self, v, column, schema2):
        """Column (or latent block) of level-2 variable ``v`` among the level-2
        outcomes, and its categories."""
        if column in self.categorical:
            k = [c.name for c in schema2.categorical].index(column)
            self.categories[column] = list(schema2.categorical[k].categories)
            self.var_col2[v] = schema2.categorical_layout()[0][k]
            self.var_block2[v] = k
        else:
            self.var_col2[v] = [c.name for c in schema2.continuous].index(column)

    @property
    def parameter_names(self):
        """Names of the analysis parameters: the design's columns, then the
        cut-points of an ordinal model (``"a/b"``: between levels a and b)."""
        return list(self.term_names) + list(self.cut_names)

    def _check_theta_start(self, start):
        """The user's starting parameters as an array in :attr:`parameter_names`
        order (``None`` if not given)."""
        if start is None:
            return None
        names = self.parameter_names
        if isinstance(start, pd.Series):
            given = [str(n) for n in start.index]
            if sorted(given) != sorted(names):
                missing = [n for n in names if n not in given]
                extra = [n for n in given if n not in names]
                raise ValueError(
                    f"theta_start is indexed by {given}; it needs one value per parameter "
                    f"{names} (missing {missing}, unknown {extra})."
                )
            start = pd.Series(start.to_numpy(), index=given)[names].to_numpy()
        try:
            values = np.asarray(start, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"theta_start must be numeric; got {start!r}.") from None
        if values.shape != (len(names),):
            raise ValueError(
                f"theta_start must hold {len(names)} values, one per parameter {names}; "
                f"got shape {values.shape}."
            )
        if not np.isfinite(values).all():
            raise ValueError("theta_start must be finite.")
        cuts = values[len(self.term_names) :]
        if np.any(np.diff(cuts) <= 0):
            raise ValueError(
                f"The cut-points {self.cut_names} at the end of theta_start must be "
                f"strictly increasing; got {cuts.tolist()}."
            )
        return values

    def _term_table(self):
        index = {c: v for v, c in enumerate(self.variables)}
        ptr, var, power, level, names = [0], [], [], [], []
        for term in self.terms:
            combos = [()]
            for column in term.categorical:
                combos = [
                    c + ((column, lev),)
                    for c in combos
                    for lev in range(1, len(self.categories[column]))
                ]
            for combo in combos:
                chosen = dict(combo)
                parts = []
                for label, categorical, column in zip(term.labels, term.kinds, term.label_columns):
                    if categorical:
                        parts.append(f"{label}[T.{self.categories[column][chosen[column]]}]")
                    else:
                        parts.append(label)
                names.append(":".join(parts) if parts else "Intercept")
                for column, pw in term.powers:
                    var.append(index[column])
                    power.append(pw)
                    level.append(-1)
                for column, lev in combo:
                    var.append(index[column])
                    power.append(0)
                    level.append(lev)
                ptr.append(len(var))
        self.term_names = names
        self.term_ptr = np.asarray(ptr, np.int64)
        self.factor_var = np.asarray(var, np.int64)
        self.factor_power = np.asarray(power, np.int64)
        self.factor_level = np.asarray(level, np.int64)

    # --------------------------------------------------------- encoding
    def encode(self, frame, cluster=None, n_clusters=0):
        """Arrays of the analysis model for ``frame``: the outcome (NaN where
        missing), the analysis variables (continuous values, category codes
        of categorical ones; NaN where missing) and the rows' cluster codes
        ``cluster`` among ``n_clusters`` (two-level models)."""
        series = frame[self.outcome]
        time = None
        if self.analysis.family == "cox":
            time, y = survival_values(frame, self.analysis.time, self.outcome)
        elif self.outcome_levels is None:
            y = _float_values(series, self.outcome, "outcome")
            if self.analysis.family == "logit" and not np.isin(y[~np.isnan(y)], (0.0, 1.0)).all():
                raise ValueError(f"The outcome {self.outcome!r} must be 0/1.")
        else:
            y = np.full(len(frame), np.nan)
            values = series.to_numpy(dtype=object)
            observed = series.notna().to_numpy()
            lookup = {c: float(i) for i, c in enumerate(self.outcome_levels)}
            unknown = {v for v in values[observed] if v not in lookup}
            if unknown:
                raise ValueError(
                    f"The outcome {self.outcome!r} has values "
                    f"{sorted(map(str, unknown))} not seen in fit."
                )
            y[observed] = [lookup[v] for v in values[observed]]
        xvars = np.full((len(frame), len(self.variables)), np.nan)
        for v, column in enumerate(self.variables):
            if column in self.categorical:
                lookup = {c: float(i) for i, c in enumerate(self.categories[column])}
                values = frame[column].to_numpy(dtype=object)
                observed = frame[column].notna().to_numpy()
                xvars[observed, v] = [lookup.get(val, np.nan) for val in values[observed]]
            else:
                xvars[:, v] = _float_values(frame[column], column, "covariate")
        return {
            "y": y,
            "xvars": xvars,
            "time": time,
            "cluster": cluster,
            "n_clusters": n_clusters,
        }

    def decode(self, out, frame, y_missing, imputed):
        """Write the imputed outcome ``imputed`` (one per missing row) into
        ``out`` (a completed copy of ``frame``)."""
        if not y_missing.any():
            return out
        series = frame[self.outcome]
        if self.analysis.family == "ordinal":
            values = np.asarray(self.outcome_levels)[imputed.astype(np.int64)]
            if isinstance(series.dtype, pd.CategoricalDtype):
                values = np.asarray(self.outcome_levels, dtype=object)[imputed.astype(np.int64)]
        elif self.analysis.family == "logit":
            if self.outcome_levels is None:
                values = imputed.astype(np.int64)
                if pd.api.types.is_float_dtype(series.dtype):
                    values = imputed
            else:
                values = np.asarray(self.outcome_levels, dtype=object)[imputed.astype(np.int64)]
        else:
            values = imputed
        out[self.outcome] = _fill(series, y_missing, values)
        return out

    def sampler_arrays(self, encoded_analysis):
        """Keyword arguments of the sampler's analysis model."""
        y = encoded_analysis["y"]
        random = None
        if self.analysis.random is not None:
            random = random_effects_arrays(
                self,
                y,
                encoded_analysis["xvars"],
                encoded_analysis["cluster"],
                encoded_analysis["n_clusters"],
            )
        level2 = None
        if self.level2_outcomes:
            level2 = {"var_col": self.var_col2, "var_block": self.var_block2}
        return {
            "random_effects": random,
            "level2": level2,
            "family": FAMILIES[self.analysis.family],
            "y": y,
            "xvars": encoded_analysis["xvars"],
            "var_col": self.var_col,
            "var_block": self.var_block,
            "term_ptr": self.term_ptr,
            "factor_var": self.factor_var,
            "factor_power": self.factor_power,
            "factor_level": self.factor_level,
            "n_cuts": len(self.cut_names),
            "theta_start": self.theta_start,
            **(
                {"time": encoded_analysis["time"], "event_grid": self.event_grid}
                if self.analysis.family == "cox"
                else {}
            ),
        }
