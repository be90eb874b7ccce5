"""Input checks that give a clear error before the sampler starts.

* :func:`check_design` -- a covariate design must be numerically of full
  rank, judged on its columns scaled to unit length (so the units of a
  covariate do not matter): collinear or nearly collinear covariates would
  otherwise fail inside a Cholesky factorisation or mid-chain.
* :func:`draw_seed` -- the integer seed of a fit from ``random_state``,
  which may be ``None``, an integer, a ``numpy.random.RandomState`` or a
  ``numpy.random.Generator`` (as with scikit-learn's ``check_random_state``,
  an instance is advanced, so two fits with the same instance differ).
* :func:`wrap_output` -- a completed data set of :meth:`sample` in the
  container chosen by ``set_output``, as scikit-learn does for ``transform``.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._set_output import _wrap_data_with_container

# largest condition number of the unit-length-scaled design; the Gram matrix
# X'X then has condition number up to 1e16, the limit of double precision
MAX_CONDITION = 1e8


def check_design(design, names, what="covariates"):
    """Raise a ValueError naming the columns if ``design`` is (nearly) collinear.

    Parameters
    ----------
    design : ndarray of shape (n, m)
        Design matrix, intercept first.
    names : list of str
        Names of its columns.
    what : str
        How to call the columns in the message.
    """
    design = np.asarray(design, dtype=np.float64)
    if design.shape[0] < design.shape[1]:
        raise ValueError(
            f"The {what} need {design.shape[1]} rows at least (one per design column "
            f"{list(names)}); got {design.shape[0]}."
        )
    lengths = np.linalg.norm(design, axis=0)
    lengths[lengths == 0] = 1.0
    _, singular, vt = np.linalg.svd(design / lengths, full_matrices=False)
    if singular[-1] > singular[0] / MAX_CONDITION:
        return
    loadings = np.abs(vt[-1])
    involved = [names[j] for j in np.flatnonzero(loadings > 0.1 * loadings.max())]
    kind = "collinear" if singular[-1] <= singular[0] * 1e-12 else "nearly collinear"
    raise ValueError(
        f"The {what} are {kind} (with each other or with the intercept): "
        f"{involved} (condition number {singular[0] / max(singular[-1], 1e-300):.3g} "
        f"after scaling each column to unit length; at most {MAX_CONDITION:.0e} is "
        "usable). Drop or combine some of them."
    )


def draw_seed(random_state):
    """One integer seed in ``[0, 2**31 - 1)`` from ``random_state``.

    Parameters
    ----------
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator

    Returns
    -------
    int
    """
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    if (
        random_state is not None
        and not isinstance(random_state, (numbers.Integral, np.random.RandomState))
        or isinstance(random_state, bool)
    ):
        raise ValueError(
            "random_state must be None, an int, a numpy.random.RandomState or a "
            f"numpy.random.Generator; got {random_state!r}."
        )
    return int(check_random_state(random_state).randint(2**31 - 1))


def wrap_output(estimator, data, original_input):
    """``data`` in the container ``estimator.set_output(transform=...)`` chose.

    ``sample`` returns several data sets, so scikit-learn does not wrap it
    as it wraps ``transform``; this applies the same rule to each one.
    """
    return _wrap_data_with_container("transform", data, original_input, estimator)
