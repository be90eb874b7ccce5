"""Container for stored MCMC chains of the imputation model's parameters."""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

__all__ = ["ChainSet", "Param", "SYMMETRIC_GROUPS"]

#: Group names treated as symmetric matrices when ``symmetric`` is not given
#: (their last two axes must also be square).
SYMMETRIC_GROUPS = frozenset(
    {"omega", "omega2", "sigma", "sigma2", "psi", "covu", "cov", "cov_l1", "cov_l2"}
)

_PHASES = ("imputation", "burnin", "all")


class Param(NamedTuple):
    """One scalar parameter of a :class:`ChainSet`.

    A named tuple returned by :meth:`ChainSet.params`; each parameter below
    is also a field of the tuple.

    Parameters
    ----------
    group : str
        Parameter group (key of the chain set).
    name : str
        Display name, e.g. ``"beta[sex, english]"``.
    index : tuple of int
        Position inside the group's parameter shape: the draws of this
        parameter are ``chainset[group][(slice(None), slice(None)) + index]``.
    """

    group: str
    name: str
    index: tuple


def _norm(name):
    return re.sub(r"\s+", "", name)


class ChainSet(Mapping):
    r"""Stored MCMC chains, by parameter group, with labels for every axis.

    A read-only mapping from group name (``"beta"``, ``"omega"``, ...) to a
    float array of shape ``(n_chains, n_draws, *param_shape)``.  Scalar
    parameters are named ``group[label_1, ..., label_k]`` from the axis
    labels (just ``group`` when ``param_shape == ()``).  For symmetric
    matrices only the lower triangle (row >= column, diagonal included) of
    the last two axes counts as parameters.

    Parameters
    ----------
    groups : mapping of str to array_like
        Chains of each group, shape ``(n_chains, n_draws, *param_shape)``.
        All groups must have the same ``n_chains`` and ``n_draws``.  Draw
        ``t`` of every group comes from the same sampler iteration.
    labels : mapping of str to sequence, optional
        For each group, one sequence of labels per parameter axis (so
        ``len(labels[g]) == len(param_shape)``), e.g. for ``beta`` of shape
        ``(m, p)``: ``[covariate_names, outcome_names]``.  An axis given as
        ``None``, or a group left out, gets the labels ``"0", "1", ...``.
        For a group with one parameter axis a flat list of strings is
        accepted.  Labels are converted to ``str`` and must be unique within
        an axis.
    symmetric : iterable of str, optional
        Groups whose last two axes hold a symmetric matrix.  Default: the
        groups named in :data:`SYMMETRIC_GROUPS` (``omega``, ``sigma``,
        ``psi``, ``covu``, ...) whose last two axes are square.  Pass ``()``
        to treat every group as unstructured.
    dims : mapping of str to sequence of str, optional
        Names of the parameter axes of each group (used by
        :func:`to_inference_data`); default ``"<group>_dim_<i>"``.
    n_burn : int, default 0
        The first ``n_burn`` draws of every chain are burn-in.  The
        diagnostics use the imputation phase (the draws after them) unless
        told otherwise.
    n_iter : int, optional
        Iterations between two imputations (mitml's ``n.iter``).  Sets the
        lag of :func:`summarize_autocorrelation` and the smoothing window of
        the trace plots.

    Attributes
    ----------
    n_chains : int
        Number of chains.
    n_draws : int
        Stored draws per chain, burn-in included.
    n_burn : int
        Burn-in draws at the start of every chain.
    n_iter : int or None
        Iterations between two imputations, if known.
    group_names : tuple of str
        Names of the parameter groups, in insertion order.
    symmetric : tuple of str
        Groups whose last two axes hold a symmetric matrix.

    Notes
    -----
    The arrays are stored as read-only views without copying (float64
    input); the caller should not modify them afterwards.

    Elements whose draws are all NaN (padding, e.g. of groups with
    different dimensions) are not parameters: they are left out of
    :meth:`params`, :meth:`param_names` and :meth:`flatten`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> cs = ChainSet(
    ...     {"beta": rng.normal(size=(2, 50, 2, 2)),
    ...      "omega": rng.normal(size=(2, 50, 2, 2))},
    ...     labels={"beta": [["(Intercept)", "sex"], ["english", "ravens"]],
    ...             "omega": [["english", "ravens"], ["english", "ravens"]]},
    ... )
    >>> for name in cs.param_names():
    ...     print(name)
    beta[(Intercept), english]
    beta[(Intercept), ravens]
    beta[sex, english]
    beta[sex, ravens]
    omega[english, english]
    omega[ravens, english]
    omega[ravens, ravens]
    >>> cs.param_names("omega[english, ravens]")  # transposed name of a symmetric group
    ['omega[ravens, english]']
    >>> cs.flatten("omega").shape
    (2, 50, 3)
    """

    def __init__(self, groups, labels=None, *, symmetric=None, dims=None, n_burn=0, n_iter=None):
        if not isinstance(groups, Mapping) or len(groups) == 0:
            raise ValueError("groups must be a non-empty mapping of name -> array")
        labels = {} if labels is None else dict(labels)
        dims = {} if dims is None else dict(dims)
        unknown = (set(labels) | set(dims)) - set(groups)
        if unknown:
            raise ValueError(f"labels/dims given for unknown groups: {sorted(unknown)}")
        self._arrays = {}
        n_chains = n_draws = None
        for name, arr in groups.items():
            if not isinstance(name, str) or not name:
                raise TypeError("group names must be non-empty strings")
            a = np.asarray(arr, dtype=np.float64)
            if a.ndim < 2:
                raise ValueError(
                    f"group {name!r}: expected shape (n_chains, n_draws, *param_shape), "
                    f"got {a.shape}"
                )
            if n_chains is None:
                n_chains, n_draws = a.shape[:2]
            elif a.shape[:2] != (n_chains, n_draws):
                raise ValueError(
                    f"group {name!r} has {a.shape[:2]} (chains, draws), expected "
                    f"{(n_chains, n_draws)} like the other groups"
                )
            a = a.view()
            a.flags.writeable = False
            self._arrays[name] = a
        self.n_chains = int(n_chains)
        self.n_draws = int(n_draws)
        self.n_burn = int(n_burn)
        if not 0 <= self.n_burn <= self.n_draws:
            raise ValueError(f"n_burn must be in [0, n_draws={self.n_draws}], got {n_burn}")
        self.n_iter = None if n_iter is None else int(n_iter)
        if self.n_iter is not None and self.n_iter < 1:
            raise ValueError("n_iter must be >= 1")

        if symmetric is None:
            symmetric = [
                g
                for g, a in self._arrays.items()
                if g.lower() in SYMMETRIC_GROUPS and a.ndim >= 4 and a.shape[-1] == a.shape[-2]
            ]
        else:
            symmetric = [symmetric] if isinstance(symmetric, str) else list(symmetric)
            for g in symmetric:
                if g not in self._arrays:
                    raise ValueError(f"symmetric: unknown group {g!r}")
                a = self._arrays[g]
                if a.ndim < 4 or a.shape[-1] != a.shape[-2]:
                    raise ValueError(
                        f"symmetric group {g!r} needs square last two axes, got {a.shape[2:]}"
                    )
        self._symmetric = frozenset(symmetric)

        self._labels = {}
        self._dims = {}
        for g, a in self._arrays.items():
            pshape = a.shape[2:]
            self._labels[g] = self._check_labels(g, pshape, labels.get(g))
            d = dims.get(g)
            if d is None:
                d = tuple(f"{g}_dim_{i}" for i in range(len(pshape)))
            else:
                d = tuple(str(x) for x in ([d] if isinstance(d, str) else d))
                if len(d) != len(pshape) or len(set(d)) != len(d):
                    raise ValueError(
                        f"dims[{g!r}] must name each of the {len(pshape)} parameter axes once"
                    )
            self._dims[g] = d
        self._build_index()

    @staticmethod
    def _check_labels(group, pshape, lab):
        if lab is None:
            lab = [None] * len(pshape)
        elif isinstance(lab, str):
            raise TypeError(f"labels[{group!r}] must be a sequence of label sequences")
        else:
            lab = list(lab)
            if (
                len(pshape) == 1
                and len(lab) == pshape[0]
                and all(isinstance(x, (str, int, np.integer)) for x in lab)
            ):
                lab = [lab]
        if len(lab) != len(pshape):
            raise ValueError(
                f"labels[{group!r}] needs one label sequence per parameter axis "
                f"({len(pshape)} for shape {pshape}), got {len(lab)}"
            )
        out = []
        for ax, (size, axis_labels) in enumerate(zip(pshape, lab)):
            if axis_labels is None:
                axis_labels = [str(i) for i in range(size)]
            axis_labels = tuple(str(x) for x in axis_labels)
            if len(axis_labels) != size:
                raise ValueError(
                    f"labels[{group!r}] axis {ax}: {len(axis_labels)} labels for length {size}"
                )
            if len(set(axis_labels)) != size:
                raise ValueError(f"labels[{group!r}] axis {ax}: labels must be unique")
            out.append(axis_labels)
        return tuple(out)

    def _build_index(self):
        self._params = []
        self._by_group = {}
        self._lookup = {}
        for g, a in self._arrays.items():
            pshape = a.shape[2:]
            sym = g in self._symmetric
            present = ~np.all(np.isnan(a), axis=(0, 1))
            group_params = []
            for idx in itertools.product(*(range(s) for s in pshape)):
                if sym and idx[-1] > idx[-2]:
                    continue
                if not present[idx]:
                    continue
                if idx:
                    name = f"{g}[{', '.join(self._labels[g][k][i] for k, i in enumerate(idx))}]"
                else:
                    name = g
                p = Param(g, name, tuple(int(i) for i in idx))
                group_params.append(p)
                self._lookup[_norm(name)] = p
            if sym:
                for p in group_params:
                    i, j = p.index[-2], p.index[-1]
                    if i != j:
                        swapped = p.index[:-2] + (j, i)
                        alias = f"{g}[{', '.join(self._labels[g][k][x] for k, x in enumerate(swapped))}]"
                        self._lookup.setdefault(_norm(alias), p)
            self._by_group[g] = group_params
            self._params.extend(group_params)

    # Mapping interface -------------------------------------------------
    def __getitem__(self, group):
        return self._arrays[group]

    def __iter__(self):
        return iter(self._arrays)

    def __len__(self):
        return len(self._arrays)

    def __repr__(self):
        parts = ", ".join(f"{g}: {a.shape[2:]}" for g, a in self._arrays.items())
        return (
            f"ChainSet({self.n_chains} chains x {self.n_draws} draws "
            f"(n_burn={self.n_burn}), {len(self._params)} parameters; {parts})"
        )

    # Metadata ------------------------------------------------------------
    @property
    def group_names(self):
        """Names of the parameter groups, in insertion order."""
        return tuple(self._arrays)

    def labels(self, group):
        """Return the axis labels of a parameter group.

        Parameters
        ----------
        group : str
            Name of the group.

        Returns
        -------
        tuple of tuple of str
            One tuple of labels per parameter axis of ``group`` (empty for
            a scalar group).
        """
        return self._labels[group]

    def dims(self, group):
        """Return the names of the parameter axes of a group.

        Parameters
        ----------
        group : str
            Name of the group.

        Returns
        -------
        tuple of str
            One name per parameter axis (the ``dims`` given to the
            constructor, default ``"<group>_dim_<i>"``), used as dimension
            names by :func:`to_inference_data`.
        """
        return self._dims[group]

    def is_symmetric(self, group):
        """Tell whether a group holds symmetric matrices.

        Parameters
        ----------
        group : str
            Name of the group.

        Returns
        -------
        bool
            True if only the lower triangle (diagonal included) of the
            group's last two axes counts as parameters.
        """
        return group in self._symmetric

    @property
    def symmetric(self):
        """Groups treated as symmetric matrices."""
        return tuple(g for g in self._arrays if g in self._symmetric)

    def n_draws_phase(self, phase="imputation"):
        """Count the draws per chain in a phase.

        Parameters
        ----------
        phase : {"imputation", "burnin", "all"}, default "imputation"
            Draws after the burn-in, the burn-in draws, or all draws.

        Returns
        -------
        int
            ``n_draws - n_burn``, ``n_burn`` or ``n_draws``.

        Raises
        ------
        ValueError
            For an unknown ``phase``.
        """
        return len(range(*self._phase_slice(phase).indices(self.n_draws)))

    def iterations(self, phase="imputation"):
        """Return the iteration numbers of the draws in a phase.

        Parameters
        ----------
        phase : {"imputation", "burnin", "all"}, default "imputation"
            Draws after the burn-in, the burn-in draws, or all draws.

        Returns
        -------
        ndarray of int, shape (n_draws_phase,)
            1-based iteration numbers counted from the first burn-in draw,
            e.g. ``n_burn + 1, ..., n_draws`` for the imputation phase.
        """
        return np.arange(1, self.n_draws + 1)[self._phase_slice(phase)]

    def _phase_slice(self, phase):
        if phase == "imputation":
            return slice(self.n_burn, None)
        if phase == "burnin":
            return slice(0, self.n_burn)
        if phase == "all":
            return slice(None)
        raise ValueError(f"phase must be one of {_PHASES}, got {phase!r}")

    # Parameter selection ---------------------------------------------------
    def params(self, select=None):
        """Resolve a selection to a list of :class:`Param`.

        Parameters
        ----------
        select : str or sequence of str, optional
            Group names (all parameters of the group) and/or scalar parameter
            names such as ``"beta[sex, english]"``.  Whitespace is ignored;
            for symmetric groups the transposed name (``"omega[english,
            ravens]"`` for ``"omega[ravens, english]"``) is accepted.
            ``None`` selects every parameter.  The result follows the order
            of ``select`` (group members in storage order), without
            duplicates.

        Returns
        -------
        list of Param
            One :class:`Param` per selected scalar parameter.

        Raises
        ------
        KeyError
            For a name that is neither a group nor a parameter.
        """
        if select is None:
            return list(self._params)
        if isinstance(select, (str, Param)):
            select = [select]
        out = []
        seen = set()
        for item in select:
            if isinstance(item, Param):
                item = item.name
            if not isinstance(item, str):
                raise TypeError(f"parameters are selected by name, got {item!r}")
            if item in self._by_group:
                found = self._by_group[item]
            else:
                key = _norm(item)
                if key not in self._lookup:
                    close = difflib.get_close_matches(
                        item, list(self._arrays) + [p.name for p in self._params], n=3
                    )
                    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                    raise KeyError(f"no parameter group or parameter named {item!r}{hint}")
                found = [self._lookup[key]]
            for p in found:
                if p.name not in seen:
                    seen.add(p.name)
                    out.append(p)
        return out

    def param_names(self, select=None):
        """Return the names of the selected scalar parameters.

        Parameters
        ----------
        select : str or sequence of str, optional
            Groups and/or parameter names, see :meth:`params`; default all
            parameters.

        Returns
        -------
        list of str
            Names such as ``"beta[sex, english]"``, in the order of
            :meth:`params`.
        """
        return [p.name for p in self.params(select)]

    def param_groups(self, select=None):
        """Return the group of each selected scalar parameter.

        Parameters
        ----------
        select : str or sequence of str, optional
            Groups and/or parameter names, see :meth:`params`; default all
            parameters.

        Returns
        -------
        list of str
            Group name of each parameter, in the order of :meth:`params`.
        """
        return [p.group for p in self.params(select)]

    def flatten(self, select=None, *, phase="imputation"):
        """Return the draws of the selected scalar parameters as one array.

        Parameters
        ----------
        select : str or sequence of str, optional
            See :meth:`params`; default all parameters.
        phase : {"imputation", "burnin", "all"}, default "imputation"
            Draws after the burn-in, the burn-in draws, or all draws.

        Returns
        -------
        ndarray of shape (n_chains, n_draws_phase, n_params)
            Columns in the order of :meth:`param_names` ``(select)``.
        """
        sl = self._phase_slice(phase)
        ps = self.params(select)
        n = self.n_draws_phase(phase)
        if not ps:
            return np.empty((self.n_chains, n, 0))
        cols = [self._arrays[p.group][(slice(None), sl) + p.index] for p in ps]
        return np.stack(cols, axis=-1)

    def chain(self, name, *, phase="imputation"):
        """Return the draws of one scalar parameter.

        Parameters
        ----------
        name : str
            Name of one scalar parameter, e.g. ``"beta[sex, english]"``, or
            of a group holding a single parameter.
        phase : {"imputation", "burnin", "all"}, default "imputation"
            Draws after the burn-in, the burn-in draws, or all draws.

        Returns
        -------
        ndarray of shape (n_chains, n_draws_phase)
            A writeable copy of the draws.

        Raises
        ------
        ValueError
            If ``name`` selects more or fewer than one parameter.
        """
        ps = self.params(name)
        if len(ps) != 1:
            raise ValueError(f"{name!r} selects {len(ps)} parameters, expected one")
        p = ps[0]
        return np.array(self._arrays[p.group][(slice(None), self._phase_slice(phase)) + p.index])

    def subset(self, groups):
        """Return a chain set restricted to some parameter groups.

        Parameters
        ----------
        groups : str or sequence of str
            Names of the groups to keep, in the order wanted.

        Returns
        -------
        ChainSet
            The given groups with their labels, dimension names and
            symmetry, and the same ``n_burn`` and ``n_iter``; the arrays
            are shared, not copied.
        """
        groups = [groups] if isinstance(groups, str) else list(groups)
        return ChainSet(
            {g: self._arrays[g] for g in groups},
            labels={g: self._labels[g] for g in groups},
            symmetric=[g for g in groups if g in self._symmetric],
            dims={g: self._dims[g] for g in groups},
            n_burn=self.n_burn,
            n_iter=self.n_iter,
        )

    # Convenience -----------------------------------------------------------
    def summary(self, select=None, **kwargs):
        """Summarise the convergence of the selected parameters.

        Parameters
        ----------
        select : str or sequence of str, optional
            Groups and/or parameter names, see :meth:`params`; default all
            parameters.
        **kwargs
            Keyword arguments of :func:`summarize_convergence`
            (``phase``, ``n_segments``, ``statistic``).

        Returns
        -------
        ConvergenceSummary
            Rhat, ESS and posterior summaries per parameter and per group;
            see :func:`summarize_convergence`.
        """
        from ._summary import summarize_convergence

        return summarize_convergence(self, select, **kwargs)

    def to_inference_data(self, **kwargs):
        """Export the chains to an :class:`arviz.InferenceData`.

        Parameters
        ----------
        **kwargs
            Keyword arguments of :func:`to_inference_data` (``groups``,
            ``save_warmup``).

        Returns
        -------
        arviz.InferenceData
            The imputation-phase draws as ``posterior`` (and the burn-in as
            ``warmup_posterior``); see :func:`to_inference_data`.
        """
        from ._arviz import to_inference_data

        return to_inference_data(self, **kwargs)
