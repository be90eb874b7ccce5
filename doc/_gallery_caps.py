"""Capped run lengths for the test suite's build of the gallery.

``tests/test_docs_build.py`` builds the site with every gallery script
executed, as CI must, but with ``SKJOMO_EXAMPLES_CAPPED=1``: ``doc/conf.py``
then runs :func:`cap_run_lengths` before each script, which caps the burn-in
and the iterations between imputations of every imputer. Every line of every
script runs and every figure is drawn, in seconds; the numbers on such a
build mean nothing (the published site is built without the cap).
"""

CAPS = {"n_burn": 20, "n_between": 2}


def cap_run_lengths(gallery_conf, fname, when=None):
    """sphinx-gallery ``reset_modules`` hook: cap every imputer's run lengths."""
    from skjomo._base import BaseJointImputer

    fit = getattr(BaseJointImputer.fit, "__wrapped_uncapped__", BaseJointImputer.fit)

    def capped_fit(self, X, y=None, **kwargs):
        self.set_params(**{k: min(getattr(self, k), v) for k, v in CAPS.items()})
        return fit(self, X, y, **kwargs)

    capped_fit.__wrapped_uncapped__ = fit
    BaseJointImputer.fit = capped_fit
