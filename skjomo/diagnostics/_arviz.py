"""Export of a :class:`ChainSet` to ArviZ (optional dependency)."""

from __future__ import annotations

import warnings

__all__ = ["to_inference_data"]


def _arviz():
    try:
        with warnings.catch_warnings():
            # arviz 0.2x announces its refactor with a FutureWarning at import
            warnings.simplefilter("ignore", FutureWarning)
            import arviz
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Exporting chains to InferenceData needs arviz; install it with "
            "`pip install skjomo[diagnostics]` (or `pip install arviz`)."
        ) from exc
    return arviz


def to_inference_data(chainset, *, groups=None, save_warmup=None):
    """Convert stored chains to an :class:`arviz.InferenceData`.

    Each parameter group becomes a variable of the ``posterior`` group with
    dimensions ``(chain, draw, *dims)``; the axis labels of the chain set
    become the coordinates.  Symmetric matrices are exported whole (both
    triangles) and padding stays NaN.

    Parameters
    ----------
    chainset : ChainSet
        Stored chains.
    groups : str or sequence of str, optional
        Parameter groups to export; default all.
    save_warmup : bool, optional
        Also export the burn-in draws as ``warmup_posterior``; default:
        when the chain set has burn-in draws.  The ``posterior`` always
        holds the imputation phase only.

    Returns
    -------
    arviz.InferenceData
        With a ``posterior`` group (imputation phase) and, when
        ``save_warmup``, a ``warmup_posterior`` group (burn-in draws).

    Raises
    ------
    ImportError
        If arviz is not installed (``pip install skjomo[diagnostics]``).
    ValueError
        If two groups use the same dimension name with different labels.

    Notes
    -----
    Chains and draws are numbered from 0 (arviz' default coordinates);
    draw ``d`` of the posterior is iteration ``n_burn + d + 1``.
    """
    az = _arviz()
    if groups is None:
        groups = list(chainset.group_names)
    elif isinstance(groups, str):
        groups = [groups]
    if save_warmup is None:
        save_warmup = chainset.n_burn > 0
    coords = {}
    dims = {}
    posterior = {}
    warmup = {}
    for g in groups:
        arr = chainset[g]
        d = list(chainset.dims(g))
        for name, lab in zip(d, chainset.labels(g)):
            lab = list(lab)
            if name in coords and coords[name] != lab:
                raise ValueError(
                    f"dimension {name!r} is used with different labels: {coords[name]} vs {lab}"
                )
            coords[name] = lab
        dims[g] = d
        posterior[g] = arr[:, chainset.n_burn :]
        if save_warmup:
            warmup[g] = arr[:, : chainset.n_burn]
    kwargs = {}
    if save_warmup:
        kwargs = {"warmup_posterior": warmup, "save_warmup": True}
    return az.from_dict(posterior=posterior, coords=coords, dims=dims, **kwargs)
