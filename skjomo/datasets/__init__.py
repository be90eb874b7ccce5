"""Bundled teaching data sets and simulators with a known truth.

The three CSV files are public teaching data sets distributed with the R
packages jomo and mitml (Debian packages r-cran-jomo and r-cran-mitml):

* ``JSPmiss``: Junior School Project (Mortimore et al., 1988), freely
  distributed with MLwiN; partially observed version from the jomo package.
* ``ExamScores``: Inner London exam scores (Goldstein et al., 1993),
  distributed with MLwiN; partially observed version from the jomo package.
* ``studentratings``: simulated data from the mitml package.
"""

from ._loaders import load_examscores, load_jspmiss, load_studentratings
from ._simulate import make_mixed_data
from ._simulate_ipd import make_hierarchical_covariance_data, make_ipd_data
from ._simulate_multilevel import make_multilevel_data

__all__ = [
    "load_jspmiss",
    "load_examscores",
    "load_studentratings",
    "make_mixed_data",
    "make_multilevel_data",
    "make_ipd_data",
    "make_hierarchical_covariance_data",
]
