"""Progress reporting for long runs (tqdm when available, off by default)."""

import contextlib
import sys


@contextlib.contextmanager
def progress(verbose, total, description):
    """Yield a callback ``advance(n_iterations)``, or ``None`` when silent.

    A tqdm bar is shown when ``verbose >= 1``, tqdm is installed and the
    standard error is a terminal (or ``verbose >= 2`` forces it); otherwise
    nothing is printed here.
    """
    bar = None
    if verbose and (verbose >= 2 or sys.stderr.isatty()):
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - tqdm is optional
            tqdm = None
        if tqdm is not None:
            bar = tqdm(total=total, desc=description, unit="it", leave=False)
    try:
        yield None if bar is None else bar.update
    finally:
        if bar is not None:
            bar.close()
