import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Fixtures shared by the explore, export and evaluate tests: a small run directory.
from explore_fixtures import mixed_run_dir, small_run, small_run_dir  # noqa: E402, F401
# ... and by the networks and variants tests: exp_condition's full-size phase-7 G and D.
from network_fixtures import full_size_condition  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _seed():
    tf.keras.utils.set_random_seed(1234)
    np.random.seed(1234)
