"""Helpers the sphinx-gallery configuration refers to by name.

``sphinx_gallery_conf`` holds these as "module.name" strings rather than
functions, so that Sphinx can pickle the configuration (an unpicklable value is a
warning, hence an error under ``-W``).
"""

import gc

#: Reading order of the gallery; scripts not listed here come after, by name.
ORDER = [
    "quickstart.py",
    "real_data_classification.py",
    "real_data_multitask.py",
    "handwritten_vs_skmtl.py",
    "pipeline_preprocessing.py",
    "missing_labels.py",
    "grid_search_loss_weights.py",
    "distributed_search.py",
    "saving_loading_serving.py",
]


class ExampleOrder:
    """``within_subsection_order``: the order of :data:`ORDER`."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in ORDER:
            return f"{ORDER.index(filename):03d}"
        return f"999{filename}"


def reset_keras(gallery_conf, fname):
    """Free the previous example's models and graphs before the next one runs."""
    import keras

    keras.backend.clear_session()
    gc.collect()
