"""Sphinx configuration of the skjomo documentation.

Build (from the repository root; no network needed)::

    python -m pip install ".[docs]"
    python -m sphinx -W --keep-going -b html doc doc/_build/html

The gallery scripts named ``plot_*.py`` are executed with short chains (a
few seconds each; ``SKJOMO_EXAMPLES_QUICK``, below). ``-D plot_gallery=0``
builds the pages without executing the scripts; ``SKJOMO_EXAMPLES_CAPPED=1``
executes them with capped chains (the test suite's build, doc/_gallery_caps.py). ``SKJOMO_DOCS_INTERSPHINX=1``
fetches the intersphinx inventories of numpy, pandas, scikit-learn,
statsmodels and scipy (off by default, so an offline build passes with -W).
"""

import os
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
# Document the skjomo that Python finds (run from the checkout, that is the
# checkout; tests/test_docs_build.py points PYTHONPATH at the copy under
# test); a checkout that is not importable falls back to itself.
try:
    import skjomo
except ImportError:
    sys.path.insert(0, str(ROOT))
    import skjomo

project = "skjomo"
author = "the skjomo developers"
copyright = "the skjomo developers"
release = skjomo.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.codeobj.json",
]
# Pages that other branches add (catalogue, ...) are picked up by globs in
# the toctrees; a page not in any toctree is an error under -W.
root_doc = "index"
default_role = "literal"
nitpicky = False
# Pages that other branches add; the toctree of index.rst names them, and
# the entry is dropped while the page does not exist yet.
OPTIONAL_PAGES = ["catalogue"]

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


def _skip_member(app, what, name, obj, skip, options):
    """Hide scikit-learn's metadata-routing stubs and ``set_output``.

    Their docstrings link to labels of scikit-learn's own documentation; the
    methods behave as documented there (see the note in api.rst).
    """
    if re.fullmatch(r"set_\w+_request", name) or name in ("get_metadata_routing", "set_output"):
        return True
    return None


def _drop_missing_optional_pages(app, docname, source):
    """Remove toctree entries of optional pages that do not exist yet."""
    if docname != "index":
        return
    here = Path(__file__).parent
    for page in OPTIONAL_PAGES:
        if not (here / f"{page}.rst").exists():
            source[0] = source[0].replace(f"\n   {page}\n", "\n")


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("source-read", _drop_missing_optional_pages)


# -- intersphinx -------------------------------------------------------------
# The inventories live on the projects' own sites. This build machine (and
# CI) reaches package registries only, so fetching them would fail and every
# failure is a warning. They are fetched only on request.
intersphinx_mapping = {}
if os.environ.get("SKJOMO_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "pandas": ("https://pandas.pydata.org/docs", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "statsmodels": ("https://www.statsmodels.org/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
    }
intersphinx_timeout = 5

# -- sphinx-gallery ----------------------------------------------------------
# The chapters that replay the jomo article (examples/plot_jomo_*.py) run
# short chains when SKJOMO_EXAMPLES_QUICK=1, so that the whole gallery
# executes in a few minutes; run a script directly, or build with
# SKJOMO_EXAMPLES_QUICK=0, for the article's settings.
os.environ.setdefault("SKJOMO_EXAMPLES_QUICK", "1")
# Every script in examples/ whose name starts with ``plot_`` is executed
# during the build; the others are shown with their code only (they are
# long simulations, run from the command line).
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(__init__|_settings)\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "show_memory": False,
    "plot_gallery": "True",
    "matplotlib_animations": False,
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skjomo",),
}
if os.environ.get("SKJOMO_EXAMPLES_CAPPED") == "1":
    # the test suite's build: every script runs, with capped chains
    # (doc/_gallery_caps.py)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sphinx_gallery_conf["reset_modules"] = ("matplotlib", "_gallery_caps.cap_run_lengths")

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skjomo {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False

# -- doctest -----------------------------------------------------------------
doctest_global_setup = """
import numpy as np
import pandas as pd
"""


# -- the API page lists every public object and only those --------------------
def _check_api_page():
    """Fail the build when doc/api.rst and the packages' ``__all__`` differ."""
    import re

    import skjomo.datasets
    import skjomo.diagnostics
    import skjomo.pooling

    text = (Path(__file__).parent / "api.rst").read_text(encoding="utf-8")
    listed = {}
    module = None
    for line in text.splitlines():
        found = re.match(r"\.\. currentmodule:: (\S+)", line)
        if found:
            module = found.group(1)
            continue
        found = re.match(r"\.\. data:: (\S+)", line) or re.match(r"   ([A-Za-z_]\w*)$", line)
        if found and module:
            listed.setdefault(module, set()).add(found.group(1))
    problems = []
    for mod in (skjomo, skjomo.pooling, skjomo.diagnostics, skjomo.datasets):
        public = set(mod.__all__) - {"__version__"}
        shown = listed.get(mod.__name__, set())
        if public - shown:
            problems.append(f"{mod.__name__}: not in doc/api.rst: {sorted(public - shown)}")
        if shown - public:
            problems.append(
                f"{mod.__name__}: in doc/api.rst but not public: {sorted(shown - public)}"
            )
    if problems:
        raise RuntimeError("doc/api.rst is out of date:\n" + "\n".join(problems))


_check_api_page()
