"""The imputation list: long format, mask, analyses, pooling, comparison, export."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from sklearn.linear_model import LinearRegression

from skjomo import AnalysisList, ImputationList, JointModelImputer, MultilevelJointImputer, anova
from skjomo.datasets import load_jspmiss, load_studentratings
from skjomo.pooling import compare_models, pool_estimates

RUN = dict(n_burn=30, n_between=5, n_imputations=4, random_state=11)


@pytest.fixture(scope="module")
def jsp():
    data = load_jspmiss()
    imputer = JointModelImputer(formula="english + ravens + fluent ~ sex", **RUN)
    return data, imputer.fit(data).sample()


def test_sample_returns_an_imputation_list_that_is_a_list(jsp):
    data, implist = jsp
    assert isinstance(implist, ImputationList) and isinstance(implist, list)
    assert implist.m == 4 and implist == list(implist)
    pd.testing.assert_frame_equal(implist.original, data)
    assert not isinstance(
        JointModelImputer(**RUN).fit(data[["english", "sex"]].to_numpy()).sample(), ImputationList
    )


def test_long_format_with_the_original_as_imputation_0(jsp):
    data, implist = jsp
    long = implist.complete("long")
    assert list(long.columns) == ["imputation", *data.columns]
    assert long.shape == (5 * len(data), data.shape[1] + 1)
    assert long["imputation"].tolist() == np.repeat(np.arange(5), len(data)).tolist()
    pd.testing.assert_frame_equal(long[long["imputation"] == 0].drop(columns="imputation"), data)
    for k in range(1, 5):
        pd.testing.assert_frame_equal(
            long[long["imputation"] == k].drop(columns="imputation"), implist[k - 1]
        )
    assert implist.complete("long", include_original=False)["imputation"].min() == 1
    plain = implist.complete("list")
    assert type(plain) is list and plain[0] is not implist[0] and plain[0].equals(implist[0])


def test_imputed_mask(jsp):
    data, implist = jsp
    mask = implist.imputed_mask
    expected = data.isna()
    expected.loc[:, ~data.columns.isin(["english", "ravens", "fluent"])] = False
    pd.testing.assert_frame_equal(mask, expected)
    assert mask.to_numpy().sum() == 236 + 246 + 235
    observed = ~data.isna()
    for completed in implist:
        assert completed[observed].equals(data[observed])


def test_fit_and_pool_equal_pooling_the_fits_by_hand(jsp):
    _, implist = jsp
    fits = implist.fit("english ~ ravens + sex + C(fluent)")
    assert isinstance(fits, AnalysisList) and len(fits) == 4
    by_hand = [smf.ols("english ~ ravens + sex + C(fluent)", data=d).fit() for d in implist]
    ours, theirs = fits.pool().to_frame(), pool_estimates(by_hand).to_frame()
    pd.testing.assert_frame_equal(ours, theirs)
    # a function and a scikit-learn estimator give the same point estimates
    via_function = implist.fit(lambda d: smf.ols("english ~ ravens + sex", data=d).fit())
    sk = implist.fit(LinearRegression(), y="english", features=["ravens", "sex"]).pool()
    np.testing.assert_allclose(
        sk.to_frame()["Estimate"].to_numpy(), via_function.pool().to_frame()["Estimate"].to_numpy()
    )


def test_transform_like_within_and_compare_nested_models(jsp):
    data, implist = jsp
    means = implist.transform(
        lambda d: d.assign(school_ravens=d.groupby("school")["ravens"].transform("mean"))
    )
    assert "school_ravens" in means[0] and "school_ravens" not in implist[0]
    assert means.original["school_ravens"].notna().all()
    full = means.fit("english ~ ravens + school_ravens + sex")
    middle = implist.fit("english ~ ravens + sex")
    small = implist.fit("english ~ ravens")
    test = full.compare(middle)
    reference = compare_models(list(full), list(middle))
    assert (test.F, test.df1, test.df2) == (reference.F, reference.df1, reference.df2)
    table = anova(full, middle, small)
    pd.testing.assert_frame_equal(table, full.anova(middle, small))
    assert table.index.tolist() == ["1 vs 2", "2 vs 3"]
    assert table.loc["2 vs 3", "F.value"] == pytest.approx(small_test(middle, small).F)
    other = (
        JointModelImputer(formula="english + ravens + fluent ~ sex", **{**RUN, "random_state": 12})
        .fit(data)
        .sample()
    )
    with pytest.raises(ValueError, match="different imputations"):
        full.compare(other.fit("english ~ ravens + sex"))
    with pytest.raises(TypeError, match="AnalysisList"):
        anova(full, [1, 2])


def small_test(full, null):
    return compare_models(list(full), list(null))


@pytest.mark.filterwarnings("ignore::pandas.io.stata.ValueLabelTypeMismatch")
def test_csv_export_round_trip(jsp, tmp_path):
    data, implist = jsp
    path = tmp_path / "imputed.csv"
    implist.to_csv(path)
    back = pd.read_csv(path, index_col=0)
    assert sorted(back["imputation"].unique()) == [0, 1, 2, 3, 4]
    original = back[back["imputation"] == 0]
    np.testing.assert_array_equal(original["english"].to_numpy(), data["english"].to_numpy())
    first = back[back["imputation"] == 1]
    np.testing.assert_allclose(first["english"].to_numpy(), implist[0]["english"].to_numpy())
    files = implist.to_files(str(tmp_path / "imp_{}.csv"))
    assert [p.name for p in files] == ["imp_1.csv", "imp_2.csv", "imp_3.csv", "imp_4.csv"]
    stata = implist.to_files(str(tmp_path / "imp_{}.dta"), write_index=False)
    back = pd.read_stata(stata[1])
    np.testing.assert_allclose(back["ravens"].to_numpy(), implist[1]["ravens"].to_numpy())
    with pytest.raises(ValueError, match="Unknown file type"):
        implist.to_files(str(tmp_path / "imp_{}.xyz"))


def test_mitml_vignette_workflow_in_a_few_lines():
    """studentratings: ReadAchiev + ReadDis + SchClimate ~ 1 + (1|ID), then a
    random-intercept model pooled with its variance components."""
    data = load_studentratings()
    imputer = MultilevelJointImputer(
        formula="ReadAchiev + ReadDis + SchClimate ~ 1 + (1|ID)",
        n_burn=200,
        n_between=20,
        n_imputations=5,
        random_state=1,
    )
    implist = imputer.fit(data).sample()
    fits = implist.fit(
        "ReadAchiev ~ ReadDis", model=smf.mixedlm, groups="ID", fit_kwargs={"reml": False}
    )
    pooled = fits.pool(extra_params=True)
    table = pooled.to_frame()
    assert table.index.tolist() == ["Intercept", "ReadDis"]
    assert table.loc["ReadDis", "Estimate"] < 0  # reading disorder lowers achievement
    assert "ICC|ID" in str(pooled)
