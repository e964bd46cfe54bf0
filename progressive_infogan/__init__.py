"""Progressive InfoGAN: progressive growing of GANs with InfoGAN latent codes (TF2 / Keras 3).

    import progressive_infogan
    generator = progressive_infogan.load("runs/quick/exp_condition")  # or a checkpoint, .keras, SavedModel
    images = generator(noise, code)  # [N, Z], [N, K] -> [N, H, W, 3] in [-1, 1]
"""

from progressive_infogan import terminal

try:
    with terminal.hidden_import_noise():  # TensorFlow's import-time notices (PINFOGAN_TF_LOGS=1 shows them)
        import tensorflow  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        "progressive_infogan needs TensorFlow 2.21: install with `pip install -e .[cpu]` "
        "(CPU) or `pip install -e .[gpu]` (CUDA)."
    ) from error

# Registers the generator's class with Keras, so that after `import progressive_infogan`
# `keras.saving.load_model` reads an exported .keras file (Keras 3 imports no other package itself).
from progressive_infogan import networks  # noqa: E402, F401

__version__ = "0.1.0"


def load(path: str, step=None):
    """A trained generator from a run directory, a checkpoint, a .keras file or a SavedModel
    (`loader.LoadedGenerator`: called with (noise, code), it returns images in [-1, 1])."""
    from progressive_infogan import loader

    return loader.load(path, step=step)
