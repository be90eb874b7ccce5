"""Simulators that draw data with a known truth and MAR missingness."""

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.utils import Bunch, check_random_state

# Joint latent-normal model behind make_mixed_data: outcomes (y1, y2, z) given
# the complete covariate x, with z the latent normal of the binary column b
# (b = "yes" when z > 0, the first category, as in jomo's coding).
_BETA = np.array(
    [
        [1.0, -0.5, 0.3],  # intercept
        [0.8, 0.5, -0.6],
    ]
)  # x
_OMEGA = np.array([[1.0, 0.5, 0.4], [0.5, 2.0, 0.3], [0.4, 0.3, 1.0]])


def _analysis_truth(beta, omega):
    """Coefficients of the regression of y1 on (1, x, y2) implied by the model."""
    slope_y2 = omega[0, 1] / omega[1, 1]
    intercept = beta[0, 0] - slope_y2 * beta[0, 1]
    slope_x = beta[1, 0] - slope_y2 * beta[1, 1]
    residual_variance = omega[0, 0] - omega[0, 1] ** 2 / omega[1, 1]
    return {
        "Intercept": intercept,
        "x": slope_x,
        "y2": slope_y2,
        "residual_variance": residual_variance,
    }


def make_mixed_data(n_samples=500, missing_fraction=0.3, random_state=None):
    """Draw single-level mixed data from a latent-normal joint model.

    Given a complete covariate ``x ~ N(0, 1)``, the outcomes ``y1``, ``y2``
    (continuous) and the latent normal ``z`` of the binary column ``b`` are
    jointly normal with means ``B' (1, x)`` and covariance ``Omega`` (the
    latent variance fixed at 1); ``b`` is ``"yes"`` when ``z > 0``.
    Values of ``y1``, ``y2`` and ``b`` are then deleted at random given
    ``x`` (missing at random), each with a logistic probability whose mean
    is about ``missing_fraction``.

    Parameters
    ----------
    n_samples : int, default=500
        Number of rows.
    missing_fraction : float, default=0.3
        Approximate share of missing values in each of ``y1``, ``y2``, ``b``.
    random_state : int, RandomState instance or None, default=None
        Seed of the simulation.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``frame`` (the incomplete DataFrame), ``complete`` (the same data
        before deletion) and ``truth``: ``beta`` and ``omega`` of the
        imputation model, and ``coef`` (a dict) with the coefficients of the
        analysis regression ``y1 ~ x + y2`` and its residual variance, which
        follow from the joint model.

    Examples
    --------
    >>> from skjomo.datasets import make_mixed_data
    >>> data = make_mixed_data(n_samples=200, random_state=0)
    >>> data.frame.shape
    (200, 4)
    >>> print(round(data.truth["coef"]["y2"], 2))
    0.25
    """
    if not 0.0 <= missing_fraction < 1.0:
        raise ValueError("missing_fraction must be in [0, 1).")
    rng = check_random_state(random_state)
    x = rng.standard_normal(n_samples)
    design = np.column_stack([np.ones(n_samples), x])
    errors = rng.multivariate_normal(np.zeros(3), _OMEGA, size=n_samples)
    outcomes = design @ _BETA + errors
    complete = pd.DataFrame(
        {
            "x": x,
            "y1": outcomes[:, 0],
            "y2": outcomes[:, 1],
            "b": pd.Categorical(
                np.where(outcomes[:, 2] > 0, "yes", "no"), categories=["yes", "no"]
            ),
        }
    )
    frame = complete.copy()
    if missing_fraction > 0:
        offset = np.log(missing_fraction / (1.0 - missing_fraction))
        for column, slope in (("y1", 1.0), ("y2", -1.0), ("b", 0.5)):
            missing = rng.uniform(size=n_samples) < expit(offset + slope * x)
            frame.loc[missing, column] = np.nan
    truth = {"beta": _BETA.copy(), "omega": _OMEGA.copy(), "coef": _analysis_truth(_BETA, _OMEGA)}
    return Bunch(frame=frame, complete=complete, truth=truth)
