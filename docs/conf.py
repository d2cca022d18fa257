"""Sphinx configuration for the skmtl documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``. The
gallery executes every script in ``examples/``; no network access is needed
(no intersphinx inventories are fetched).
"""

import os
import sys
import warnings
from pathlib import Path

# TensorFlow's C++ start-up chatter and matplotlib windows are noise in a build.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(DOCS)]  # skmtl itself; docs/_gallery.py

import skmtl  # noqa: E402

project = "skmtl"
author = "skmtl developers"
copyright = "skmtl developers"
release = skmtl.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]

# -- MyST (the user guide is Markdown) ---------------------------------------
# Anchors for "page.md#section" links, as GitHub renders them.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# -- autodoc, autosummary, numpydoc ------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"  # fit, partial_fit, predict, ... as written
# Members are listed by the autosummary class template (own methods only): the
# scikeras base class contributes dozens of methods that are not skmtl's API.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_<method>_request`` methods.

    scikit-learn documents them (metadata routing); their docstrings refer to
    its glossary, which does not exist here.
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)


# -- sphinx-gallery ------------------------------------------------------------


sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    # Every script executes (the default runs only plot_*.py).
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"(__init__|_common)\.py$",
    "within_subsection_order": "_gallery.ExampleOrder",
    "reset_modules": ("matplotlib", "_gallery.reset_keras"),
    "image_scrapers": ("matplotlib",),
    "remove_config_comments": True,
    "download_all_examples": False,
    "plot_gallery": "True",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "min_reported_time": 0,
    "doc_module": ("skmtl",),
    "backreferences_dir": "generated/backreferences",
    "inspect_global_variables": False,
}

# -- HTML ----------------------------------------------------------------------
# The look of scikit-learn, aeon and pandas: top navigation, search, dark mode.
html_theme = "pydata_sphinx_theme"
html_title = f"skmtl {release}"
html_theme_options = {
    "navbar_align": "left",
    "navigation_depth": 2,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["theme-version"],
    # No network: no external icon links, no version switcher JSON to fetch.
    "icon_links": [],
}
# Pages with no sub-pages: no empty "Section Navigation" column.
html_sidebars = {"index": [], "choosing": [], "getting-started": []}
html_static_path = []
html_show_sourcelink = False

# Matplotlib's Agg backend only: no windows during the build.
warnings.filterwarnings(
    "ignore",
    message="FigureCanvasAgg is non-interactive",
    category=UserWarning,
)
