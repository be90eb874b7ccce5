"""Plain-text result tables in the layout of mitml's printouts.

The formatter follows mitml's printed tables (doc/pooling.rst, "Printed tables"): each column is printed in fixed
notation with ``digits`` decimals, or in scientific notation when any value of
the column is at least ``10**sci_limit``; all cells are right-justified to one
common width, row labels are left-justified, cells are joined by single spaces
and each line ends with a space.
"""

import math

import numpy as np

__all__ = ["format_table"]


def _format_column(values, digits, sci_limit):
    values = np.asarray(values, dtype=float)
    finite = values[~np.isnan(values)]
    scientific = finite.size > 0 and bool(np.any(finite >= 10.0**sci_limit))
    cells = []
    for value in values:
        if math.isnan(value):
            cells.append("NaN")
            continue
        value = value + 0.0  # an exact -0 prints as 0
        if math.isinf(value):
            cells.append("Inf" if value > 0 else "-Inf")
        elif scientific:
            cells.append(f"{value:.{digits}e}")
        else:
            cells.append(f"{value:.{digits}f}")
    return cells


def format_table(frame, digits=3, sci_limit=5, indent=0):
    """Format a numeric table the way mitml prints its results.

    Parameters
    ----------
    frame : pandas.DataFrame
        Numeric table; the index gives the row labels, the columns the
        headers.
    digits : int or dict, default=3
        Number of decimals, for all columns or per column name (columns not
        in the dict use 3).
    sci_limit : int, default=5
        A column switches to scientific notation when any of its non-NaN
        values is at least ``10**sci_limit`` (a signed comparison).
    indent : int, default=0
        Number of spaces put before every line.

    Returns
    -------
    text : str
        The table, one line per row plus a header line, without a final
        newline.
    """
    columns = list(frame.columns)
    formatted = []
    for column in columns:
        d = digits.get(column, 3) if isinstance(digits, dict) else digits
        formatted.append(_format_column(frame[column].to_numpy(dtype=float), d, sci_limit))
    width = max([len(str(c)) for c in columns] + [len(c) for col in formatted for c in col] + [0])
    labels = [str(label) for label in frame.index]
    label_width = max([len(label) for label in labels] + [0])
    pad = " " * indent
    lines = [pad + " " * label_width + " " + " ".join(str(c).rjust(width) for c in columns) + " "]
    for i, label in enumerate(labels):
        cells = " ".join(col[i].rjust(width) for col in formatted)
        lines.append(pad + label.ljust(label_width) + " " + cells + " ")
    return "\n".join(lines)
