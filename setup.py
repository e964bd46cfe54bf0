"""progressive-infogan: Progressive InfoGAN (Pamula 2018) in TensorFlow 2 / Keras 3."""
import setuptools

TENSORFLOW = "2.21.0"

setuptools.setup(
    name="progressive-infogan",
    version="0.1.0",
    description="Progressive GAN with InfoGAN codes: a faithful TF2/Keras reproduction of the thesis.",
    packages=setuptools.find_packages(include=["progressive_infogan", "progressive_infogan.*"]),
    python_requires=">=3.10",
    install_requires=[
        "absl-py==2.5.1",
        "matplotlib==3.11.2",
        "numpy>=1.26,<3",
        "pillow==13.0.0",
        "scipy==1.17.1",
        "tensorboard==2.21.0",
        "tensorflow-datasets==4.9.10",
        "scikit-learn==1.9.1",
        "tqdm==4.70.1",
    ],
    extras_require={
        # TensorFlow is an extra so that CPU-only machines need not download the CUDA build.
        "cpu": [f"tensorflow-cpu=={TENSORFLOW}"],
        "gpu": [f"tensorflow[and-cuda]=={TENSORFLOW}"],
        "test": ["pytest==9.2.0"],
    },
)
