"""Progressive InfoGAN: progressive growing of GANs with InfoGAN latent codes (TF2 / Keras 3)."""

try:
    import tensorflow  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        "progressive_infogan needs TensorFlow 2.21: install with `pip install -e .[cpu]` "
        "(CPU) or `pip install -e .[gpu]` (CUDA)."
    ) from error

__version__ = "0.1.0"
