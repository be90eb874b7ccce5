"""How the sampler's kernels are compiled and where numba caches them.

Every kernel of :mod:`skjomo._gibbs` is decorated with :func:`kernel`, which
is ``numba.njit(cache=True)`` with two additions:

* ``kernel(inline=True)`` inlines the function into its jitted callers at
  numba's IR level (``inline="always"``), so that it is never compiled as a
  library of its own when a jitted function calls it. Numba links the
  machine code of every callee into each caller and re-optimises it there,
  so each extra level of calls between the chain's entry point and the
  small kernels costs another optimisation of everything below it; the
  one-caller glue between the steps of an iteration is therefore inlined.
  Called from Python, an inlined kernel compiles as usual.
* Where numba caches: ``NUMBA_CACHE_DIR`` when the user set it, else the
  ``__pycache__`` directory next to the sources when it is writable, else a
  per-user directory (numba's user-wide cache, ``$XDG_CACHE_HOME/numba`` or
  ``~/.cache/numba`` on Linux). When none of them is writable the kernels
  are compiled without a cache, in every process, and a
  :class:`CacheWarning` says how to enable the cache (set
  ``NUMBA_CACHE_DIR`` to a writable directory) instead of failing the
  import.

:func:`cache_directory` tells where the cache went (``python -m skjomo
warmup`` prints it).
"""

import functools
import warnings

import numba as nb


class CacheWarning(RuntimeWarning):
    """Numba found no writable cache directory; kernels compile in every process."""


_NO_CACHE_MESSAGE = (
    "skjomo: numba found no writable cache directory (the package's __pycache__, "
    "NUMBA_CACHE_DIR and the per-user cache directory are all read-only), so the "
    "sampler's kernels are compiled again in every Python process (about a minute "
    "each time). Set the environment variable NUMBA_CACHE_DIR to a writable "
    "directory to compile once and reuse the result.")

_cache_enabled = None  # None: not decided yet; True/False once a kernel was decorated


def caching_enabled():
    """Whether kernels are cached on disk (``None`` before the first kernel)."""
    return _cache_enabled


def _cached(options, func):
    global _cache_enabled
    if _cache_enabled is not False:
        try:
            dispatcher = nb.njit(cache=True, **options)(func)
        except RuntimeError as error:  # numba: "no locator available"
            if "cannot cache" not in str(error):
                raise
            _cache_enabled = False
            warnings.warn(_NO_CACHE_MESSAGE, CacheWarning, stacklevel=3)
        else:
            _cache_enabled = True
            return dispatcher
    return nb.njit(**options)(func)


def kernel(func=None, *, inline=False):
    """Compile ``func`` with numba in nopython mode, cached on disk.

    Parameters
    ----------
    func : callable
        The Python function (``@kernel`` or ``@kernel(inline=True)``).
    inline : bool, default=False
        Inline into jitted callers at numba's IR level instead of compiling
        a separate library (for glue with a single caller).
    """
    options = {"error_model": "numpy"}
    if inline:
        options["inline"] = "always"
    if func is None:
        return functools.partial(_cached, options)
    return _cached(options, func)


def cache_directory(dispatcher):
    """Directory where ``dispatcher`` is cached, or ``None`` without a cache."""
    cache = getattr(dispatcher, "_cache", None)
    path = getattr(cache, "cache_path", None)
    return path
