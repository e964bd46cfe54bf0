"""progressive-infogan: Progressive InfoGAN (Pamula 2018) in TensorFlow 2 / Keras 3."""
import setuptools

TENSORFLOW = "2.21.0"

# The commands on PATH after `pip install` (progressive_infogan/console.py).
CONSOLE_SCRIPTS = [
    f"pinfogan-{name} = progressive_infogan.console:{name}"
    for name in ("train", "evaluate", "tables", "explore", "serve", "generate", "export", "prepare")
]

setuptools.setup(
    name="progressive-infogan",
    version="0.1.0",
    description="Progressive GAN with InfoGAN codes: a faithful TF2/Keras reproduction of the thesis.",
    # data_prep/ installs as progressive_infogan.data_prep, for pinfogan-prepare.
    packages=setuptools.find_packages(include=["progressive_infogan", "progressive_infogan.*"])
    + ["progressive_infogan.data_prep"],
    package_dir={"progressive_infogan.data_prep": "data_prep"},
    entry_points={"console_scripts": CONSOLE_SCRIPTS},
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
