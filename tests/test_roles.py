"""No silent roles: fit reports the roles and warns about odd outcomes."""

import warnings

from skjomo import JointModelImputer, MultilevelJointImputer
from skjomo.datasets import load_examscores, load_jspmiss

RUN = dict(n_burn=5, n_between=2, n_imputations=1, random_state=0)


def _warnings(imputer, frame):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imputer.fit(frame)
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_default_roles_on_jspmiss_warn_for_id_constant_and_cluster_label():
    messages = _warnings(JointModelImputer(**RUN), load_jspmiss())
    assert len(messages) == 3
    assert "'school' is fully observed, with 47 integer values each on one block" in messages[0]
    assert "cluster_col='school'" in messages[0]
    assert "'id' has a different value on every row" in messages[1]
    assert "'cons' is constant (every observed value is 1)" in messages[2]


def test_stated_roles_do_not_warn():
    frame = load_jspmiss()
    assert (
        _warnings(JointModelImputer(formula="english + ravens + fluent ~ sex", **RUN), frame) == []
    )
    assert (
        _warnings(
            MultilevelJointImputer(formula="english + ravens + fluent ~ sex + (1 | school)", **RUN),
            frame,
        )
        == []
    )
    # a stated integer outcome is not second-guessed as a cluster label
    assert _warnings(JointModelImputer(["english", "school"], **RUN), frame) == []
    # an integer score (not in blocks of rows) is not a cluster label
    complete = frame[["ravens", "english", "sex"]].dropna()
    assert complete["ravens"].nunique() > 3
    assert _warnings(JointModelImputer(**RUN), complete) == []


def test_identifier_and_constant_warn_even_when_stated():
    frame = load_jspmiss()
    messages = _warnings(JointModelImputer(["english", "id", "cons"], **RUN), frame)
    assert [m.split("'")[1] for m in messages] == ["id", "cons"]
    small = frame.iloc[:12]
    strings = small.assign(name=[f"pupil {i}" for i in range(len(small))])
    messages = _warnings(JointModelImputer(["english", "name"], prior_df=30, **RUN), strings)
    assert any("'name' has a different value on every row" in m for m in messages)


def test_variable_constant_within_clusters_warns_as_level2():
    frame = load_examscores()
    messages = _warnings(
        MultilevelJointImputer(formula="normexam + avslrt ~ sex + (1 | school)", **RUN), frame
    )
    assert len(messages) == 1 and "'avslrt' is constant within every cluster" in messages[0]
    assert (
        _warnings(
            MultilevelJointImputer(
                formula=("normexam ~ sex + (1 | school)", "avslrt ~ schgend"), **RUN
            ),
            frame,
        )
        == []
    )


def test_fit_reports_roles_with_verbose(capsys):
    frame = load_jspmiss()
    JointModelImputer(formula="english + ravens + fluent ~ sex", verbose=1, **RUN).fit(frame)
    out = capsys.readouterr().out
    assert (
        "Found 2 continuous outcomes (english, ravens) and 1 categorical (fluent (3 categories))."
    ) in out
    assert "Roles from the formula 'english + ravens + fluent ~ sex'." in out
    assert "Fixed-effect predictors: sex." in out
    assert "Not modelled (passed through): school, id, behaviour, cons." in out


def test_summary_states_the_roles():
    frame = load_examscores()
    imputer = MultilevelJointImputer(
        formula=("normexam + standlrt ~ sex + (1 | school)", "avslrt ~ schgend"), **RUN
    ).fit(frame)
    report = imputer.summary(warn=False)
    assert "Found 2 continuous outcomes (normexam, standlrt)." in report
    assert (
        "Roles from the formula 'normexam + standlrt ~ sex + (1 | school) ; "
        "avslrt ~ schgend'." in report
    )
    assert "Not modelled (passed through): student, cons, schav, vrband." in report
    silent = JointModelImputer(["english"], covariate_cols=["sex"], **RUN).fit(load_jspmiss())
    assert "Roles from the role parameters." in silent.summary(warn=False)
