"""How the sampler's kernels are compiled, where numba caches them, and
telling the user when numba compiles.

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

First-call honesty: on a cold cache the first fit of a kind of model spends
most of its time compiling. :func:`compile_notice` wraps the first call of
an entry point (see :func:`skjomo._gibbs._compile.prepare_chain`) and, when
numba actually starts compiling (not when it loads from the cache), says
so once per process:

* with ``verbose >= 1``, a line on standard error, then the time it took;
* otherwise a message of the ``skjomo`` logger at level ``INFO`` (silent
  unless the application shows ``INFO`` messages; ``python -m skjomo demo``
  and ``warmup`` do).
"""

import contextlib
import functools
import logging
import os
import sys
import time
import types
import warnings

import numba as nb
import numba.core.event as numba_event
from numba.core.registry import CPUDispatcher


class CacheWarning(RuntimeWarning):
    """Numba found no writable cache directory; kernels compile in every process."""


_NO_CACHE_MESSAGE = (
    "skjomo: numba found no writable cache directory (the package's __pycache__, "
    "NUMBA_CACHE_DIR and the per-user cache directory are all read-only), so the "
    "sampler's kernels are compiled again in every Python process (about a minute "
    "each time). Set the environment variable NUMBA_CACHE_DIR to a writable "
    "directory to compile once and reuse the result."
)

_cache_enabled = None  # None: not decided yet; True/False once a kernel was decorated
_cache_path = None  # where the first cached kernel is cached


# numba's options for every kernel: no division checks (``error_model="numpy"``)
# and no C-callable wrapper (``no_cfunc_wrapper``: only used when a kernel is
# passed as a first-class function, which skjomo never does; for the chain's
# entry point, whose arguments are the namedtuples of the whole model and
# state, that wrapper is a tenth of the compiled code)
_OPTIONS = {"error_model": "numpy", "no_cfunc_wrapper": True}


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
            global _cache_path
            _cache_enabled = True
            if _cache_path is None:
                _cache_path = cache_directory(dispatcher)
            return dispatcher
    return nb.njit(**options)(func)


def kernel(func=None, *, inline=False, internal=False):
    """Compile ``func`` with numba in nopython mode, cached on disk.

    Parameters
    ----------
    func : callable
        The Python function (``@kernel`` or ``@kernel(inline=True)``).
    inline : bool, default=False
        Inline into jitted callers at numba's IR level instead of compiling
        a separate library (for glue with a single caller).
    internal : bool, default=False
        Called by jitted code only: compiled without the wrappers that
        convert Python objects (numba's ``no_cpython_wrapper`` and
        ``no_cfunc_wrapper``), which for a kernel taking the chain's
        namedtuples (``Model``, ``State``, ``AnalysisModel``) cost more
        compile time than a small kernel itself (about 1.4 s each for
        ``Model`` and ``State``). A call from Python still works: it goes to
        a twin compiled with the wrappers (:class:`_InternalKernel`).
    """
    options = dict(_OPTIONS)
    if inline:
        options["inline"] = "always"
    if internal:
        decorate = functools.partial(_internal, options)
    else:
        decorate = functools.partial(_cached, options)
    if func is None:
        return decorate
    return decorate(func)


class _InternalKernel(CPUDispatcher):
    """A kernel compiled without CPython and C wrappers (``kernel(internal=True)``).

    Numba calls it from jitted code as any dispatcher. Called from Python
    (tests call kernels directly), such a function would crash the
    interpreter, so ``__call__`` forwards to a twin of the function compiled
    with the wrappers, cached under its own name.
    """

    def __call__(self, *args, **kwargs):
        twin = self.__dict__.get("_python_twin")
        if twin is None:
            func = self.py_func
            copy = types.FunctionType(
                func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__
            )
            copy.__qualname__ = func.__qualname__ + "__python"
            copy.__module__ = func.__module__
            twin = self._python_twin = _cached(_OPTIONS, copy)
        return twin(*args, **kwargs)


def _internal(options, func):
    options = dict(options, nopython=True, no_cpython_wrapper=True)
    dispatcher = _InternalKernel(py_func=func, locals={}, targetoptions=options)
    functools.update_wrapper(dispatcher, func)
    if _cache_enabled is not False:
        try:
            dispatcher.enable_caching()
        except RuntimeError as error:  # as in _cached
            if "cannot cache" not in str(error):
                raise
    return dispatcher


def threaded_pair(func):
    """A kernel compiled twice from one source: ``(serial, threaded)``.

    ``func`` runs its per-cluster (or per-row) loop over ``numba.prange``:
    the serial kernel (``parallel=False``, where ``prange`` is ``range``) is
    what every chain runs by default; the threaded twin (``parallel=True``)
    runs that loop on numba's threads and is compiled only when a chain asks
    for more than one thread (``n_threads``, see :mod:`._threads`), so users
    who do not ask pay no compile time for it. The twin is cached under its
    own name (numba's cache index does not tell the two apart otherwise).
    Both execute the same arithmetic on the same numbers, so they give
    bit-identical results whatever the number of threads, as long as the
    loop body writes only its own iteration's outputs (no reduction across
    iterations).
    """
    serial = _cached(_OPTIONS, func)
    copy = types.FunctionType(
        func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__
    )
    copy.__qualname__ = func.__qualname__ + "__threaded"
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    threaded = _cached(dict(_OPTIONS, parallel=True), copy)
    return serial, threaded


def shared_kernels():
    """Whether ``SKJOMO_KERNELS=shared`` asks for one chain shared by every
    kind of model (see :func:`skjomo._gibbs._chain._model_kind`).

    Each kind of model (two levels, an analysis model, both) otherwise
    compiles a chain with only its own steps, which is quickest for a user
    of one kind. Where every kind is compiled (the test suite, a container
    image warmed up for all estimators), sharing one chain compiles about
    half as much.
    """
    return os.environ.get("SKJOMO_KERNELS", "") == "shared"


def cache_directory(dispatcher):
    """Directory where ``dispatcher`` is cached, or ``None`` without a cache."""
    cache = getattr(dispatcher, "_cache", None)
    path = getattr(cache, "cache_path", None)
    return path


logger = logging.getLogger("skjomo")

_announced = False


def _message(who):
    if _cache_enabled:
        where = f"later runs load it from numba's cache in {_cache_path}"
    else:
        where = "numba has no writable cache directory, so every process compiles again"
    return (
        f"{who}: compiling the Gibbs sampler for this kind of model with numba, "
        f"once (about half a minute to a minute of CPU); {where}. "
        "`python -m skjomo warmup` compiles every kernel ahead of time."
    )


class _FirstCompile(numba_event.Listener):
    """Announce the first compilation numba starts (not cache loads)."""

    def __init__(self, verbose, who):
        self.verbose = verbose
        self.who = who
        self.started = None

    def on_start(self, event):
        global _announced
        if self.started is None:
            self.started = time.perf_counter()
            if not _announced:
                _announced = True
                if self.verbose:
                    print(_message(self.who), file=sys.stderr, flush=True)
                else:
                    logger.info(_message(self.who))

    def on_end(self, event):
        pass


@contextlib.contextmanager
def compile_notice(verbose=0, who="skjomo"):
    """Say once per process that numba compiles, if it does inside the block."""
    listener = _FirstCompile(verbose, who)
    with numba_event.install_listener("numba:compile", listener):
        yield
    if listener.started is not None and verbose:
        print(
            f"{who}: compiled in {time.perf_counter() - listener.started:.0f} s.",
            file=sys.stderr,
            flush=True,
        )
