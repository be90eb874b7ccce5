"""Log-likelihood pieces for D2 (likelihood), D3 and D4.

Each supported model type gets an adapter that can

* refit a REML fit by maximum likelihood (MixedLM only),
* return the maximised ML log-likelihood and the number of parameters it
  counts (``npar``, variance parameters included),
* return an averageable parameter container and evaluate the log-likelihood
  of the fit's own data at any such container (for D3),
* refit the same model to the row-stacked data of all imputations (D4).

Supported: statsmodels OLS, GLM (any family), discrete models with
``model.loglike(params)`` (Logit, Probit, Poisson, …) and MixedLM without
variance components.
"""

import copy

import numpy as np

from ._readers import _sm_classes, _unwrap

__all__ = ["likelihood_adapter"]


class _OLSAdapter:
    def __init__(self, results):
        self.results = results
        res = _unwrap(results)
        self.y = np.asarray(res.model.endog, dtype=float)
        self.X = np.asarray(res.model.exog, dtype=float)
        self.n = self.y.shape[0]
        self.rank = int(round(res.nobs - res.df_resid))
        w = getattr(res.model, "weights", None)
        if w is not None and not np.all(np.asarray(w) == 1.0):
            raise ValueError("likelihood-based pooling supports unweighted OLS only")

    reml = False

    def ml(self):
        return self

    def params(self):
        res = _unwrap(self.results)
        beta = np.asarray(res.params, dtype=float)
        return {"beta": beta, "sigma2": np.array(res.ssr / self.n)}

    def loglik_at(self, params):
        resid = self.y - self.X @ params["beta"]
        s2 = float(params["sigma2"])
        return -0.5 * self.n * np.log(2.0 * np.pi * s2) - resid @ resid / (2.0 * s2)

    def loglik(self):
        return self.loglik_at(self.params())

    def npar(self):
        return self.rank + 1

    def stack(self, others):
        from statsmodels.regression.linear_model import OLS

        y = np.concatenate([a.y for a in others])
        X = np.vstack([a.X for a in others])
        return float(OLS(y, X).fit().llf)


class _GLMAdapter:
    reml = False

    def __init__(self, results):
        from statsmodels.genmod import families

        self.results = results
        res = _unwrap(results)
        self.model = res.model
        self.family = res.model.family
        self.gaussian = isinstance(self.family, families.Gaussian)
        from ._readers import _family_has_scale

        self.has_scale = _family_has_scale(self.family)
        self.rank = int(round(res.nobs - res.df_resid))

    def ml(self):
        return self

    def params(self):
        res = _unwrap(self.results)
        if self.gaussian:
            resid = np.asarray(res.resid_response, dtype=float)
            scale = resid @ resid / res.nobs
        elif self.has_scale:
            scale = float(res.scale)
        else:
            scale = 1.0
        return {"beta": np.asarray(res.params, dtype=float), "scale": np.array(scale)}

    def loglik_at(self, params):
        return float(self.model.loglike(params["beta"], scale=float(params["scale"])))

    def loglik(self):
        return self.loglik_at(self.params())

    def npar(self):
        return self.rank + (1 if self.has_scale else 0)

    def stack(self, others):
        from statsmodels.genmod.generalized_linear_model import GLM

        mods = [a.model for a in others]
        kw = {}
        for attr in ("offset", "exposure", "freq_weights", "var_weights"):
            vals = [getattr(mm, attr, None) for mm in mods]
            if all(v is not None for v in vals):
                arr = np.concatenate([np.asarray(v, dtype=float) for v in vals])
                if attr == "exposure":
                    arr = np.exp(arr)  # statsmodels stores log(exposure)
                kw[attr] = arr
        y = np.concatenate([np.asarray(mm.endog, dtype=float) for mm in mods])
        X = np.vstack([np.asarray(mm.exog, dtype=float) for mm in mods])
        fit = GLM(y, X, family=self.family, **kw).fit()
        if self.gaussian:
            resid = np.asarray(fit.resid_response, dtype=float)
            return float(fit.model.loglike(fit.params, scale=resid @ resid / fit.nobs))
        return float(fit.llf)


class _DiscreteAdapter:
    reml = False

    def __init__(self, results):
        self.results = results
        self.model = _unwrap(results).model

    def ml(self):
        return self

    def params(self):
        return {"beta": np.asarray(_unwrap(self.results).params, dtype=float)}

    def loglik_at(self, params):
        return float(self.model.loglike(params["beta"]))

    def loglik(self):
        return self.loglik_at(self.params())

    def npar(self):
        return int(np.size(_unwrap(self.results).params))

    def stack(self, others):
        mods = [a.model for a in others]
        y = np.concatenate([np.asarray(mm.endog, dtype=float) for mm in mods])
        X = np.vstack([np.asarray(mm.exog, dtype=float) for mm in mods])
        return float(type(self.model)(y, X).fit(disp=0).llf)


def _mixedlm_fit_ml(model, start_params=None):
    """Fit a MixedLM by ML, trying robust optimisers in turn."""
    import warnings

    model = copy.copy(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(reml=False, method=["powell", "lbfgs"], start_params=start_params)
        if not np.isfinite(fit.llf) or not fit.converged:
            fit = model.fit(reml=False, method=["cg", "nm"])
    return fit


class _MixedLMAdapter:
    def __init__(self, results):
        self.results = results
        res = _unwrap(results)
        if getattr(res, "k_vc", 0):
            raise ValueError(
                "likelihood-based pooling does not support MixedLM variance components"
            )
        self.model = res.model
        self.reml = bool(res.reml)

    def ml(self):
        if not self.reml:
            return self
        return _MixedLMAdapter(_mixedlm_fit_ml(self.model))

    def params(self):
        res = _unwrap(self.results)
        return {
            "beta": np.asarray(res.fe_params, dtype=float),
            "tau": np.asarray(res.cov_re, dtype=float),
            "sigma2": np.array(float(res.scale)),
        }

    def loglik_at(self, params):
        mod = self.model
        beta, tau, s2 = params["beta"], params["tau"], float(params["sigma2"])
        total = 0.0
        for y, X, Z in zip(mod.endog_li, mod.exog_li, mod.exog_re_li):
            r = y - X @ beta
            V = Z @ tau @ Z.T
            V[np.diag_indices_from(V)] += s2
            c = np.linalg.cholesky(V)
            z = np.linalg.solve(c, r)
            total += -0.5 * (len(y) * np.log(2 * np.pi) + 2 * np.sum(np.log(np.diag(c))) + z @ z)
        return float(total)

    def loglik(self):
        return self.loglik_at(self.params())

    def npar(self):
        q = self.model.k_re
        return self.model.k_fe + q * (q + 1) // 2 + 1

    def stack(self, others):
        from statsmodels.regression.mixed_linear_model import MixedLM

        ys, Xs, Zs, gs = [], [], [], []
        for i, a in enumerate(others):
            mm = a.model
            ys.append(np.asarray(mm.endog, dtype=float))
            Xs.append(np.asarray(mm.exog, dtype=float))
            Zs.append(np.asarray(mm.exog_re, dtype=float))
            gs.append(np.array([f"{i + 1}.{g}" for g in np.asarray(mm.groups)], dtype=object))
        model = MixedLM(
            np.concatenate(ys), np.vstack(Xs), np.concatenate(gs), exog_re=np.vstack(Zs)
        )
        fit = _mixedlm_fit_ml(model)
        return float(fit.llf)


def likelihood_adapter(results):
    """Return the log-likelihood adapter of a fitted statsmodels model.

    Raises
    ------
    TypeError
        If the model type has no likelihood support.
    """
    RegressionResults, GLMResults, MixedLMResults = _sm_classes()
    if hasattr(results, "results_") and not hasattr(results, "params"):
        results = results.results_  # skjomo.StatsmodelsModel
    res = _unwrap(results)
    from statsmodels.discrete.discrete_model import DiscreteResults
    from statsmodels.regression.linear_model import OLS

    if isinstance(res, MixedLMResults):
        return _MixedLMAdapter(results)
    if isinstance(res, RegressionResults) and isinstance(res.model, OLS):
        return _OLSAdapter(results)
    if isinstance(res, GLMResults):
        return _GLMAdapter(results)
    if isinstance(res, DiscreteResults) and np.ndim(res.params) == 1:
        return _DiscreteAdapter(results)
    raise TypeError(
        f"likelihood-based pooling (D2 likelihood, D3, D4) is not available for "
        f"{type(res).__name__}; supported: statsmodels OLS, GLM, Logit/Probit/Poisson, MixedLM"
    )
