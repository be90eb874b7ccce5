"""The imputation model as a formula (doc/formula.rst).

``"english + ravens + fluent ~ sex + (1 | school)"`` states the roles of a
two-level joint model: the left side lists the outcomes, the right side the
fully observed predictors with fixed effects, and the one parenthesised
``(... | cluster)`` term names the cluster variable and the predictors with
random effects (a random intercept is always in the model). A second formula
``"w ~ z"`` gives the outcomes measured on clusters and their predictors.

The formula is parsed by formulaic, whose operator table is extended with a
``|`` operator that is valid only inside parentheses (formulaic's own ``|``
separates the parts of a multi-part formula, which an imputation model does
not have). The parse gives the roles of a :class:`~skjomo._spec.ModelSpec`.
Right-hand terms that are columns (``x``) or categorical columns (``C(x)``)
become plain covariates, exactly as the role parameters would state them;
when some term is derived (an interaction ``a:b`` or ``a*b``, a
transformation ``I(x**2)`` or ``np.log(x)``), the design of the fixed effects
is materialised by formulaic from the training data and the same formulaic
model spec is reused for new rows (:class:`FormulaDesign`).
"""

import ast
import warnings
from dataclasses import dataclass

import numpy as np

_INTERCEPT = "1"


def _first_line(exc):
    """The first line of a formulaic error (later lines point at the token
    with terminal colour codes)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _parser():
    """formulaic's parser for two-sided formulas, with ``(a | g)`` terms."""
    from formulaic.parser import DefaultFormulaParser, DefaultOperatorResolver
    from formulaic.parser.types import Factor, Operator, OrderedSet, Term, Token

    class RandomEffectsTerm(Term):
        """``(effects | groups)``: one term standing for the random part."""

        def __init__(self, effects, groups):
            self.effects, self.groups = tuple(effects), tuple(groups)
            text = "({} | {})".format(
                " + ".join(map(str, self.effects)), " + ".join(map(str, self.groups))
            )
            super().__init__([Factor(text, eval_method="lookup")])

    def in_parentheses(context):
        return bool(context) and isinstance(context[-1], Token) and context[-1].token == "("

    class Resolver(DefaultOperatorResolver):
        @property
        def operators(self):
            return super().operators + [
                Operator(
                    "|",
                    arity=2,
                    precedence=-40,
                    associativity=None,
                    to_terms=lambda effects, groups: OrderedSet(
                        [RandomEffectsTerm(effects, groups)]
                    ),
                    accepts_context=in_parentheses,
                )
            ]

    parser = DefaultFormulaParser(operator_resolver=Resolver(), feature_flags={"twosided"})
    return parser, RandomEffectsTerm


def _terms(text, what):
    """``(lhs terms, rhs terms, ast)`` of a two-sided formula string."""
    from formulaic.errors import FormulaicError

    if not isinstance(text, str):
        raise TypeError(
            f"{what} must be a string such as 'y1 + y2 ~ x + (1 | cluster)'; "
            f"got {type(text).__name__}."
        )
    parser, random_term = _parser()
    try:
        tree = parser.get_ast(text)
        terms = parser.get_terms(text)
    except FormulaicError as exc:
        message = _first_line(exc)
        if "`|`" in message:
            message = "'|' is valid only in a random-effects term in parentheses, (1 | cluster)."
        raise ValueError(f"Bad {what} {text!r}: {message}") from None
    if (
        getattr(tree, "operator", None) is None
        or tree.operator.symbol != "~"
        or len(tree.args) != 2
    ):
        raise ValueError(
            f"Bad {what} {text!r}: the left side must list the outcomes (e.g. 'y1 + y2 ~ x')."
        )
    return terms.lhs, terms.rhs, tree, random_term


def _removes_intercept(node):
    """Whether an AST subtree uses ``-`` (``0 + x`` is read as ``-1 + x``)."""
    args = getattr(node, "args", None)
    if args is None:
        return False
    return node.operator.symbol == "-" or any(_removes_intercept(a) for a in args)


def _random_nodes(node):
    """The ``|`` nodes of an AST."""
    args = getattr(node, "args", None)
    if args is None:
        return []
    own = [node] if node.operator.symbol == "|" else []
    return own + [n for a in args for n in _random_nodes(a)]


def _column(term):
    """The column of a term that is a bare column, else ``None``."""
    if len(term.factors) == 1 and term.factors[0].eval_method.value == "lookup":
        return term.factors[0].expr
    return None


def _categorical_column(term):
    """The column of a term ``C(column)``, else ``None``."""
    if len(term.factors) != 1 or term.factors[0].eval_method.value != "python":
        return None
    try:
        call = ast.parse(term.factors[0].expr, mode="eval").body
    except SyntaxError:
        return None
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "C"
        and len(call.args) == 1
        and not call.keywords
        and isinstance(call.args[0], ast.Name)
    ):
        return call.args[0].id
    return None


def _variables(term):
    return [v for f in term.factors for v in sorted(map(str, f.required_variables))]


def _outcomes(lhs, text, what):
    """Outcome columns of a left side and those marked ``C(...)``."""
    outcomes, categorical = [], []
    for term in lhs:
        column = _column(term) or _categorical_column(term)
        if column is None:
            raise ValueError(
                f"Bad {what} {text!r}: the left side lists outcome columns "
                f"(optionally as C(column)); {str(term)!r} is not a column."
            )
        if _categorical_column(term) is not None:
            categorical.append(column)
        outcomes.append(column)
    if not outcomes:
        raise ValueError(f"Bad {what} {text!r}: the left side must list the outcomes.")
    return outcomes, categorical


@dataclass(frozen=True)
class ImputationFormula:
    """The roles stated by an imputation formula (or a level-1, level-2 pair).

    Attributes
    ----------
    text : tuple of str
        The formula(s) as given.
    outcomes, categorical : tuple
        Level-1 outcomes and the columns marked categorical by ``C()``.
    covariates : tuple
        Columns of the fixed-effect predictors (those the terms use).
    design : str or None
        formulaic right side of the fixed effects when some term is derived
        (an interaction or a transformation); ``None`` when every term is a
        column and the covariates are the design.
    cluster : str or None
        Cluster column named by ``(... | cluster)``.
    random_slopes : tuple
        Columns with random slopes.
    level2_outcomes, level2_covariates : tuple
        Roles of the level-2 formula.
    """

    text: tuple
    outcomes: tuple
    categorical: tuple
    covariates: tuple
    design: str
    cluster: str
    random_slopes: tuple
    level2_outcomes: tuple = ()
    level2_covariates: tuple = ()

    @property
    def variables(self):
        """Every column the formula names."""
        names = (
            self.outcomes
            + self.covariates
            + self.random_slopes
            + self.level2_outcomes
            + self.level2_covariates
            + ((self.cluster,) if self.cluster is not None else ())
        )
        return tuple(dict.fromkeys(names))

    def roles(self):
        """Role arguments of :meth:`ModelSpec.from_parameters`."""
        return dict(
            outcomes=self.outcomes,
            covariates=self.covariates,
            categorical=self.categorical,
            cluster=self.cluster,
            random_slopes=self.random_slopes,
            level2_outcomes=self.level2_outcomes,
            level2_covariates=self.level2_covariates,
            formula=self,
        )

    def check_columns(self, frame):
        """Every named column must be in ``frame``."""
        unknown = [c for c in self.variables if c not in frame.columns]
        if unknown:
            raise ValueError(
                f"Column {unknown[0]!r} named in the formula "
                f"{str(self)!r} is not in the data"
                + (f" (also unknown: {unknown[1:]})" if unknown[1:] else "")
                + f"; the columns are {list(frame.columns)}."
            )

    def __str__(self):
        return " ; ".join(self.text)


def _random_part(terms, tree, text, random_term):
    """``(cluster, random slopes)`` of the random-effects terms."""
    random = [t for t in terms if isinstance(t, random_term)]
    for node in _random_nodes(tree):
        if _removes_intercept(node.args[0]):
            raise ValueError(
                f"Bad formula {text!r}: the random intercept cannot be removed "
                "(0 + x | g or -1); the model always has one."
            )
    if len(random) > 1:
        raise ValueError(
            f"Bad formula {text!r}: one random-effects term (... | cluster) is "
            "allowed; the model has a single grouping factor (two levels)."
        )
    if not random:
        return None, ()
    term = random[0]
    groups = [g for g in term.groups if str(g) != _INTERCEPT]
    if len(groups) != 1 or _column(groups[0]) is None:
        raise ValueError(
            f"Bad formula {text!r}: the random-effects term must name one cluster column "
            f"after '|'; got {[str(g) for g in groups]} (two grouping factors or nested "
            "clusters are not supported)."
        )
    slopes = []
    for effect in term.effects:
        if str(effect) == _INTERCEPT:
            continue
        column = _column(effect)
        if column is None:
            raise ValueError(
                f"Bad formula {text!r}: random slopes must be columns of the data; "
                f"{str(effect)!r} is not (add it as a column first)."
            )
        slopes.append(column)
    return _column(groups[0]), tuple(slopes)


def parse_level1(text):
    """:class:`ImputationFormula` of a level-1 formula string."""
    lhs, rhs, tree, random_term = _terms(text, "formula")
    outcomes, categorical = _outcomes(lhs, text, "formula")
    cluster, slopes = _random_part(rhs, tree, text, random_term)
    fixed = [t for t in rhs if not isinstance(t, random_term)]
    for term in fixed:
        if any(f.expr.startswith("(") and "|" in f.expr for f in term.factors):
            raise ValueError(
                f"Bad formula {text!r}: a random-effects term (... | cluster) "
                "cannot be multiplied or transformed."
            )
    if _INTERCEPT not in [str(t) for t in fixed]:
        raise ValueError(
            f"Bad formula {text!r}: the imputation model always has an "
            "intercept; remove '- 1' / '0 +'."
        )
    fixed = [t for t in fixed if str(t) != _INTERCEPT]
    covariates, derived = [], False
    for term in fixed:
        column = _column(term) or _categorical_column(term)
        if column is None:
            derived = True
        elif _categorical_column(term) is not None:
            categorical.append(column)
        for name in [column] if column is not None else _variables(term):
            if name not in covariates:
                covariates.append(name)
    design = None
    if derived:
        extra = [c for c in slopes if c not in covariates]
        design = " + ".join(["1"] + [str(t) for t in fixed] + [f"`{c}`" for c in extra])
    parsed = ImputationFormula(
        text=(text,),
        outcomes=tuple(outcomes),
        categorical=tuple(dict.fromkeys(categorical)),
        covariates=tuple(covariates),
        design=design,
        cluster=cluster,
        random_slopes=slopes,
    )
    _check_distinct_roles(parsed)
    return parsed


def _check_distinct_roles(parsed):
    """An outcome is not a predictor; the cluster is neither."""
    outcomes = parsed.outcomes + parsed.level2_outcomes
    seen = set()
    for column in outcomes:
        if column in seen:
            raise ValueError(f"Column {column!r} is an outcome of both formulas.")
        seen.add(column)
    predictors = set(parsed.covariates) | set(parsed.random_slopes) | set(parsed.level2_covariates)
    both = [c for c in outcomes if c in predictors]
    if both:
        raise ValueError(
            f"Column {both[0]!r} is both an outcome (left side) and a predictor (right side) "
            f"in {str(parsed)!r}; predictors must be fully observed, outcomes are imputed: "
            "give it one role."
        )
    if parsed.cluster is not None and (parsed.cluster in seen or parsed.cluster in predictors):
        raise ValueError(
            f"The cluster column {parsed.cluster!r} cannot also be an outcome or a predictor."
        )


def parse_level2(text):
    """``(outcomes, categorical, covariates)`` of a level-2 formula string."""
    lhs, rhs, _, random_term = _terms(text, "level-2 formula")
    outcomes, categorical = _outcomes(lhs, text, "level-2 formula")
    covariates = []
    for term in rhs:
        if str(term) == _INTERCEPT:
            continue
        if isinstance(term, random_term):
            raise ValueError(
                f"Bad level-2 formula {text!r}: the cluster is named in the "
                "level-1 formula; the level-2 formula has no (... | cluster)."
            )
        column = _column(term)
        if column is None:
            raise ValueError(
                f"Bad level-2 formula {text!r}: its predictors must be columns "
                f"measured on clusters; {str(term)!r} is not a column."
            )
        covariates.append(column)
    if _INTERCEPT not in [str(t) for t in rhs]:
        raise ValueError(f"Bad level-2 formula {text!r}: the model always has an intercept.")
    return tuple(outcomes), tuple(categorical), tuple(covariates)


def parse_formula(formula):
    """:class:`ImputationFormula` of a formula or a (level-1, level-2) pair.

    Parameters
    ----------
    formula : str or sequence of two str
        ``"y1 + y2 ~ x + (1 + z | cluster)"``; for outcomes measured on
        clusters, a pair such as ``("y1 ~ x + (1 | cluster)", "w ~ v")``.

    Returns
    -------
    ImputationFormula
    """
    if isinstance(formula, str):
        return parse_level1(formula)
    try:
        pair = list(formula)
    except TypeError:
        raise TypeError(
            "formula must be a string or a pair of strings (level 1, level 2); "
            f"got {type(formula).__name__}."
        ) from None
    if len(pair) == 1:
        return parse_level1(pair[0])
    if len(pair) != 2:
        raise ValueError(
            "formula must be one string or a pair (level-1 formula, level-2 "
            f"formula); got {len(pair)} formulas."
        )
    level1 = parse_level1(pair[0])
    if level1.cluster is None:
        raise ValueError(
            f"The level-1 formula {pair[0]!r} must name the cluster, "
            "(1 | cluster), when a level-2 formula is given."
        )
    outcomes2, categorical2, covariates2 = parse_level2(pair[1])
    parsed = ImputationFormula(
        text=(pair[0], pair[1]),
        outcomes=level1.outcomes,
        categorical=tuple(dict.fromkeys(level1.categorical + categorical2)),
        covariates=level1.covariates,
        design=level1.design,
        cluster=level1.cluster,
        random_slopes=level1.random_slopes,
        level2_outcomes=outcomes2,
        level2_covariates=covariates2,
    )
    _check_distinct_roles(parsed)
    return parsed


class FormulaDesign:
    """The fixed-effect design of derived terms, materialised by formulaic.

    Built once from the training frame; :meth:`matrix` reuses formulaic's
    model spec (categorical levels, column layout) for any frame.

    Parameters
    ----------
    design : str
        Right-hand side, intercept first.
    frame : pandas.DataFrame
        Training data.
    """

    def __init__(self, design, frame):
        from formulaic import model_matrix

        matrix = self._materialise(lambda: model_matrix(design, frame, na_action="raise"), design)
        self.model_spec = matrix.model_spec
        names = list(matrix.model_spec.column_names)
        self.names = ["(Intercept)" if n == "Intercept" else n for n in names]
        self._check(matrix)

    @staticmethod
    def _materialise(build, design):
        from formulaic.errors import FormulaicError
        from formulaic.transforms.contrasts import DataMismatchWarning

        with warnings.catch_warnings():
            warnings.simplefilter("error", DataMismatchWarning)
            try:
                return build()
            except DataMismatchWarning as exc:
                raise ValueError(
                    f"A categorical predictor in {design!r} has values not "
                    f"seen in fit: {_first_line(exc)}"
                ) from None
            except (FormulaicError, ValueError, NameError, TypeError) as exc:
                raise ValueError(
                    f"The predictors {design!r} cannot be computed (they must "
                    f"be fully observed): {_first_line(exc)}"
                ) from None

    def _check(self, matrix):
        values = np.asarray(matrix, dtype=np.float64)
        bad = ~np.isfinite(values).all(axis=0)
        if bad.any():
            raise ValueError(
                f"Predictor {self.names[int(np.flatnonzero(bad)[0])]!r} has "
                "non-finite values (NaN or infinite) in the data."
            )
        return values

    def matrix(self, frame):
        """The design of ``frame`` (float64, intercept first)."""
        matrix = self._materialise(
            lambda: self.model_spec.get_model_matrix(frame, na_action="raise"),
            str(self.model_spec.formula),
        )
        return self._check(matrix)
