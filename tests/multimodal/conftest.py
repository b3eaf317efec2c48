import logging
import warnings

import pytest


@pytest.fixture(autouse=True)
def _quiet_transformers():
    # transformers warns about the PIL image-processor fallback and deprecated kwargs; those
    # are expected here (no torchvision) and drown real failures.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.fixture
def synth_rows(tmp_path):
    from ttrl_kit import get_registry

    return get_registry().dataset_loader("visual_synth")("mixed", n=6, seed=3, image_dir=str(tmp_path / "img"))


@pytest.fixture
def mm_log(caplog):
    caplog.set_level(logging.WARNING, logger="ttrl_multimodal")
    return caplog
