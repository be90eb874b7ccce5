"""The imputation model as a formula: parse, roles, derived terms, errors.

A formula is one more way to state a ModelSpec, so a formula and the role
parameters that say the same thing must give bit-identical imputations for
the same seed, on every bundled data set and for every imputer.
"""

import numpy as np
import pandas as pd
import pytest

from skjomo import (
    HeteroscedasticMultilevelImputer,
    JointModelImputer,
    MultilevelJointImputer,
)
from skjomo._formula import parse_formula
from skjomo.datasets import load_examscores, load_jspmiss, load_studentratings

RUN = dict(n_burn=15, n_between=3, n_imputations=2, random_state=7)


def _same_imputations(a, b, frame):
    first, second = a.fit(frame).sample(), b.fit(frame).sample()
    assert len(first) == len(second) == 2
    for x, y in zip(first, second):
        pd.testing.assert_frame_equal(x, y, check_exact=True)
    # something was imputed, so the comparison is not vacuous
    assert first[0].isna().sum().sum() < frame.isna().sum().sum()


CASES = [
    (
        "jspmiss single",
        load_jspmiss,
        JointModelImputer,
        "english + ravens + fluent ~ sex",
        dict(outcome_cols=["english", "ravens", "fluent"], covariate_cols=["sex"]),
    ),
    (
        "jspmiss single C()",
        load_jspmiss,
        JointModelImputer,
        "english + ravens ~ C(sex) + behaviour",
        dict(
            outcome_cols=["english", "ravens"],
            covariate_cols=["sex", "behaviour"],
            categorical_cols=["sex"],
        ),
    ),
    (
        "jspmiss two-level",
        load_jspmiss,
        MultilevelJointImputer,
        "english + ravens + fluent ~ sex + (1 | school)",
        dict(
            cluster_col="school",
            outcome_cols=["english", "ravens", "fluent"],
            covariate_cols=["sex"],
        ),
    ),
    (
        "studentratings mitml vignette",
        load_studentratings,
        MultilevelJointImputer,
        "ReadAchiev + ReadDis + SchClimate ~ 1 + (1|ID)",
        dict(cluster_col="ID", outcome_cols=["ReadAchiev", "ReadDis", "SchClimate"]),
    ),
    (
        "studentratings random slope",
        load_studentratings,
        MultilevelJointImputer,
        "MathAchiev + ReadDis ~ Sex + (1 + CognAbility | ID)",
        dict(
            cluster_col="ID",
            outcome_cols=["MathAchiev", "ReadDis"],
            covariate_cols=["Sex"],
            random_slope_cols=["CognAbility"],
        ),
    ),
    (
        "studentratings heteroscedastic",
        load_studentratings,
        HeteroscedasticMultilevelImputer,
        "ReadDis + MathAchiev ~ ReadAchiev + (1 | ID)",
        dict(
            cluster_col="ID", outcome_cols=["ReadDis", "MathAchiev"], covariate_cols=["ReadAchiev"]
        ),
    ),
    (
        "examscores level 2",
        load_examscores,
        MultilevelJointImputer,
        ("normexam + standlrt ~ sex + (1 | school)", "avslrt ~ schgend"),
        dict(
            cluster_col="school",
            outcome_cols=["normexam", "standlrt"],
            covariate_cols=["sex"],
            level2_cols=["avslrt"],
            level2_covariate_cols=["schgend"],
        ),
    ),
]


@pytest.mark.parametrize("name, load, cls, formula, roles", CASES, ids=[c[0] for c in CASES])
def test_formula_and_roles_give_identical_imputations(name, load, cls, formula, roles):
    frame = load()
    _same_imputations(cls(formula=formula, **RUN), cls(**roles, **RUN), frame)


def test_derived_terms_equal_precomputed_columns():
    """An interaction and a transformation are the covariates one would
    compute by hand, and new rows reuse the fitted design."""
    frame = load_jspmiss()
    by_hand = frame.assign(upper=(frame["behaviour"] == "upper").astype(float))
    by_hand = by_hand.assign(
        sex_upper=by_hand["sex"] * by_hand["upper"], id2=(by_hand["id"] / 100.0) ** 2
    )
    formula = MultilevelJointImputer(
        formula="english + fluent ~ sex * behaviour + I((id / 100.0)**2) + (1 | school)", **RUN
    )
    roles = MultilevelJointImputer(
        "school",
        outcome_cols=["english", "fluent"],
        covariate_cols=["sex", "upper", "id2", "sex_upper"],
        **RUN,
    )
    first, second = formula.fit(frame).sample(), roles.fit(by_hand).sample()
    for x, y in zip(first, second):
        pd.testing.assert_frame_equal(x, y[frame.columns], check_exact=True)
    assert formula.beta_.index.tolist() == [
        "(Intercept)",
        "sex",
        "behaviour[T.upper]",
        "I((id / 100.0) ** 2)",
        "sex:behaviour[T.upper]",
    ]
    np.testing.assert_array_equal(formula.beta_.to_numpy(), roles.beta_.to_numpy())
    # transform materialises the same design for new rows
    rows = frame.iloc[::7]
    pd.testing.assert_frame_equal(
        formula.transform(rows), roles.transform(by_hand.iloc[::7])[frame.columns], check_exact=True
    )


def test_transform_refuses_unseen_category_of_a_derived_term():
    frame = load_jspmiss()
    imputer = JointModelImputer(formula="english ~ sex:behaviour", **RUN).fit(frame)
    rows = frame.iloc[:3].astype({"behaviour": object})
    rows.loc[rows.index[0], "behaviour"] = "middle"
    with pytest.raises(ValueError, match="not seen in fit"):
        imputer.transform(rows)


def test_unnamed_columns_pass_through_untouched():
    frame = load_jspmiss()
    out = JointModelImputer(formula="english ~ sex", **RUN).fit(frame).sample(1)[0]
    pd.testing.assert_frame_equal(out.drop(columns="english"), frame.drop(columns="english"))
    assert out["english"].notna().all()


def test_intercept_only_and_categorical_outcome():
    frame = load_jspmiss()
    imputer = JointModelImputer(formula="english + C(sex) ~ 1", **RUN).fit(frame)
    assert imputer.beta_.index.tolist() == ["(Intercept)"]
    assert imputer.beta_.columns.tolist() == ["english", "sex[0]"]


def test_parse_roles():
    parsed = parse_formula(("a + C(b) ~ x * z + (1 + s | g)", "w ~ v"))
    assert parsed.outcomes == ("a", "b")
    assert parsed.categorical == ("b",)
    assert parsed.covariates == ("x", "z")
    assert parsed.design == "1 + x + z + x:z + `s`"
    assert (parsed.cluster, parsed.random_slopes) == ("g", ("s",))
    assert (parsed.level2_outcomes, parsed.level2_covariates) == (("w",), ("v",))
    plain = parse_formula("a ~ x + C(z) + (s | g)")
    assert plain.design is None and plain.covariates == ("x", "z")
    assert plain.categorical == ("z",) and plain.random_slopes == ("s",)


BAD = [
    ("y ~ x | g", "valid only in a random-effects term"),
    ("y ~ x +", "Bad formula"),
    ("y ~ (x", "Bad formula"),
    ("~ x", "left side must list the outcomes"),
    ("y ~ x + (1 | g) + (1 | h)", "single grouping factor"),
    ("y ~ x + (1 | g/h)", "one cluster column"),
    ("y ~ x + (0 + s | g)", "random intercept cannot be removed"),
    ("y ~ x + (I(s**2) | g)", "random slopes must be columns"),
    ("y ~ y + x + (1 | g)", "both an outcome"),
    ("y ~ x + g + (1 | g)", "cluster column 'g' cannot also be"),
    ("y ~ x - 1 + (1 | g)", "always has an intercept"),
    ("y:z ~ x + (1 | g)", "is not a column"),
    (("y ~ x", "w ~ v"), "must name the cluster"),
    (("y ~ x + (1 | g)", "w ~ v + (1 | g)"), "level-2 formula has no"),
    (("y ~ x + (1 | g)", "w ~ v:u"), "is not a column"),
    (("y ~ w + (1 | g)", "w ~ v"), "both an outcome"),
    (("y ~ x + (1 | g)", "w ~ v", "u ~ 1"), "pair"),
]


@pytest.mark.parametrize("formula, message", BAD, ids=[str(b[0]) for b in BAD])
def test_bad_formula_is_a_clear_error(formula, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_formula(formula)


def test_errors_at_fit():
    frame = load_jspmiss()
    with pytest.raises(ValueError, match="'foo' named in the formula"):
        MultilevelJointImputer(formula="english ~ foo + (1 | school)", **RUN).fit(frame)
    with pytest.raises(ValueError, match="random-slope covariates must be fully observed"):
        MultilevelJointImputer(formula="english ~ sex + (1 + ravens | school)", **RUN).fit(frame)
    with pytest.raises(ValueError, match=r"roles are set twice \(formula and covariate_cols\)"):
        JointModelImputer(formula="english ~ sex", covariate_cols=["sex"], **RUN).fit(frame)
    with pytest.raises(ValueError, match=r"roles are set twice \(formula and cluster_col\)"):
        MultilevelJointImputer("school", formula="english ~ sex + (1|school)", **RUN).fit(frame)
    with pytest.raises(ValueError, match="single-level"):
        JointModelImputer(formula="english ~ sex + (1 | school)", **RUN).fit(frame)
    with pytest.raises(ValueError, match="names no cluster"):
        MultilevelJointImputer(formula="english ~ sex", **RUN).fit(frame)
    with pytest.raises(ValueError, match="Covariate 'ravens' has missing values"):
        JointModelImputer(formula="english ~ I(ravens * 2)", **RUN).fit(frame)
    with (
        np.errstate(divide="ignore"),
        pytest.raises(ValueError, match=r"'np.log\(sex\)' has non-finite values"),
    ):
        JointModelImputer(formula="english ~ np.log(sex)", **RUN).fit(frame)
    with pytest.raises(ValueError, match="cannot be computed"):
        JointModelImputer(formula="english ~ sex.no_such_method()", **RUN).fit(frame)
    with pytest.raises(TypeError, match="formula must be a string"):
        JointModelImputer(formula=3, **RUN).fit(frame)


# ------------------------------------------------------- the roles mapping
def test_roles_mapping_equals_formula():
    frame = load_examscores()
    roles = {
        "normexam": "outcome",
        "standlrt": "outcome",
        "sex": "predictor",
        "school": "cluster",
        "avslrt": "level-2 outcome",
        "schgend": "level-2 predictor",
    }
    _same_imputations(
        MultilevelJointImputer(roles=roles, **RUN),
        MultilevelJointImputer(
            formula=("normexam + standlrt ~ sex + (1 | school)", "avslrt ~ schgend"), **RUN
        ),
        frame,
    )
    jsp = load_jspmiss()
    _same_imputations(
        JointModelImputer(
            roles={"english": "outcome", "sex": "categorical outcome", "behaviour": "predictor"},
            **RUN,
        ),
        JointModelImputer(formula="english + C(sex) ~ behaviour", **RUN),
        jsp,
    )


def test_roles_mapping_with_random_slope_and_group():
    frame = load_studentratings()
    roles = {
        "MathAchiev": "outcome",
        "ReadDis": "outcome",
        "CognAbility": "random predictor",
        "ID": "cluster",
        "FedState": "group",
    }
    by_roles = MultilevelJointImputer(roles=roles, **RUN).fit(frame)
    by_formula = MultilevelJointImputer(
        formula="MathAchiev + ReadDis ~ (1 + CognAbility | ID)", group_col="FedState", **RUN
    ).fit(frame)
    assert list(by_roles.groups_) == list(by_formula.groups_)
    for a, b in zip(by_roles.sample(), by_formula.sample()):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize(
    "roles, message",
    [
        ({"y": "target"}, "Unknown role 'target' of column 'y'"),
        ({"english": "outcome", "school": "cluster"}, "needs a two-level model"),
        ({"english": "predictor"}, "roles names no outcome"),
        ("english", "roles must be a mapping"),
    ],
)
def test_roles_mapping_errors(roles, message):
    with pytest.raises((ValueError, TypeError), match=message):
        JointModelImputer(roles=roles, **RUN).fit(load_jspmiss())


def test_roles_mapping_errors_two_level():
    frame = load_jspmiss()
    with pytest.raises(ValueError, match="must name the cluster column"):
        MultilevelJointImputer(roles={"english": "outcome"}, **RUN).fit(frame)
    with pytest.raises(ValueError, match="2 cluster columns"):
        MultilevelJointImputer(
            roles={"english": "outcome", "school": "cluster", "id": "cluster"}, **RUN
        ).fit(frame)
    with pytest.raises(ValueError, match=r"set twice \(formula and roles\)"):
        MultilevelJointImputer(
            formula="english ~ 1 + (1 | school)", roles={"english": "outcome"}, **RUN
        ).fit(frame)
