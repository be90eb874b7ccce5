"""Parameter descriptions shared by the imputers' docstrings.

The run-control parameters mean the same in every estimator; their
numpydoc text is written once here and substituted into each class
docstring at the ``%(run_parameters)s`` marker.
"""

RUN_PARAMETERS = """\
    latent_bounds : tuple (lower, upper), default=None
        Bounds on the latent normals of observed categories. ``None`` (the
        default) samples the latent-normal model exactly; ``(-3, 4)``
        reproduces the truncation R's jomo applies (a truncated probit, see
        the user guide).
    n_chains : int, default=1
        Independent chains; imputations are spread over them.
    keep_chains : {"imputation", "all"}, default="imputation"
        Draws kept in :attr:`chains_`: those after burn-in, or also the
        burn-in (for choosing ``n_burn``). Memory: 8 bytes x ``n_chains`` x
        iterations kept x (number of traced parameters), e.g. about 1 MB for
        two chains of 10,000 iterations of a model with 12 parameters.
    warm_start : bool, default=False
        When fitted before, ``fit`` continues every chain from its final
        state (and random stream) instead of starting afresh: run a first fit
        to inspect convergence, then continue.
    verbose : int, default=0
        1 prints which sampler ran and how many iterations (and shows a
        progress bar in a terminal when tqdm is installed); 2 forces the bar.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampler. The same seed gives the same imputations
        whatever ``n_jobs``.
    n_jobs : int, default=None
        Chains run in parallel (joblib)."""


def fill_docstring(cls):
    """Class decorator: substitute the shared parameter descriptions."""
    cls.__doc__ = cls.__doc__.replace("    %(run_parameters)s", RUN_PARAMETERS)
    return cls
