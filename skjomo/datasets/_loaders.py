"""Loaders for the bundled CSV data sets."""

from importlib import resources

import pandas as pd

# Category order follows the level order of the R factors the files came from
# (alphabetical), so the last category is jomo's reference category.
_CATEGORIES = {
    "JSPmiss": {
        "fluent": [0, 1, 2],
        "behaviour": ["lowerquarter", "upper"],
    },
    "ExamScores": {
        "sex": ["boy", "girl"],
        "schgend": ["boysch", "girlsch", "mixedsch"],
        "schav": ["high", "low", "mid"],
        "vrband": ["vb1", "vb2", "vb3"],
    },
    "studentratings": {
        "FedState": ["B", "SH"],
        "Sex": ["Boy", "Girl"],
    },
}


def _load(name):
    with resources.files(__package__).joinpath("data", f"{name}.csv").open("r") as fh:
        frame = pd.read_csv(fh)
    for column, categories in _CATEGORIES[name].items():
        values = frame[column]
        if pd.api.types.is_float_dtype(values):
            values = values.astype("Int64")
        frame[column] = pd.Categorical(values, categories=categories)
    return frame


def load_jspmiss():
    """Load the partially observed Junior School Project data (JSPmiss).

    1119 pupils (``id``) in 47 schools (``school``). Columns: ``sex``
    (0/1, complete), ``fluent`` (fluency in English, categorical with
    categories 0, 1, 2; missing for 235 pupils), ``ravens`` (Raven's test
    score, continuous, 246 missing), ``english`` (English test score,
    continuous, 236 missing), ``behaviour`` (categorical, complete) and
    ``cons`` (a column of ones, as in the jomo package).

    Returns
    -------
    frame : pandas.DataFrame of shape (1119, 8)
        Categorical columns are pandas categoricals whose categories follow
        the R factor levels.

    Notes
    -----
    Junior School Project (Mortimore et al., 1988), freely distributed with
    MLwiN; the partially observed version is the one distributed with the R
    package jomo.

    Examples
    --------
    >>> from skjomo.datasets import load_jspmiss
    >>> load_jspmiss().shape
    (1119, 8)
    """
    return _load("JSPmiss")


def load_examscores():
    """Load the partially observed Inner London exam scores (ExamScores).

    4059 pupils (``student``, numbered within school) in 65 schools
    (``school``). Level-1 columns ``normexam`` and ``standlrt``
    (continuous, with missing values), ``sex``, ``vrband``; level-2 columns
    ``avslrt`` (school mean of standlrt, missing for some schools),
    ``schgend`` and ``schav``; ``cons`` is a column of ones.

    Returns
    -------
    frame : pandas.DataFrame of shape (4059, 10)
        One row per pupil, in the order of the R data set.  ``sex``,
        ``vrband``, ``schgend`` and ``schav`` are pandas categoricals whose
        categories follow the R factor levels; ``normexam``, ``standlrt``
        and ``avslrt`` hold NaN where missing.

    Notes
    -----
    Inner London exam scores (Goldstein et al., 1993), distributed with
    MLwiN; partially observed version from the R package jomo.

    Examples
    --------
    >>> from skjomo.datasets import load_examscores
    >>> load_examscores()["school"].nunique()
    65
    """
    return _load("ExamScores")


def load_studentratings():
    """Load the simulated student ratings data (studentratings).

    750 pupils in 50 schools (``ID``) of two federal states
    (``FedState``), with ``Sex``, achievement (``MathAchiev``,
    ``ReadAchiev``) and disciplinary problem scores (``MathDis``,
    ``ReadDis``) in mathematics and reading, ``SES``, ``CognAbility`` and
    the school-level ``SchClimate``.

    Returns
    -------
    frame : pandas.DataFrame of shape (750, 10)
        One row per pupil.  ``FedState`` and ``Sex`` are pandas
        categoricals whose categories follow the R factor levels;
        ``MathAchiev``, ``MathDis``, ``SES``, ``ReadDis`` and
        ``SchClimate`` hold NaN where missing.

    Notes
    -----
    Simulated data distributed with the R package mitml.

    Examples
    --------
    >>> from skjomo.datasets import load_studentratings
    >>> load_studentratings()["ID"].nunique()
    50
    """
    return _load("studentratings")
