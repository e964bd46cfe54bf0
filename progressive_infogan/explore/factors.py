"""A regressor images -> ground-truth factors, for naming code coordinates (issue 6).

On a synthetic dataset every image's factors are known (`factors.npz` beside the
records), so a small CNN trained on the real images can read the factors off generated
ones; `summary.factor_effects` then correlates each code coordinate with each predicted
factor (and measures how far it moves it) and the feature summary names the coordinate
after the best one.

The regressor sees the images exactly as the GAN did: the run's own data directory read
by `data.make_dataset` at the model's resolution with the run's preprocessing ("original":
the thesis crop and legacy bilinear resize from the next level; "plain"), so generated
images are in its input distribution (it never sees mirrored faces: for a run trained with
--mirror, head_x and gaze_x of a mirrored face read with their signs flipped). Targets are
standardised per factor; the held-out R^2 of each factor says whether it is readable at
all at this resolution (the iris hue or the eyelids of a 16 px face are a pixel or two)
and the summary only names coordinates after factors with a decent R^2.

The trained weights are cached per (dataset, resolution, preprocessing, training
settings) under `$PROGRESSIVE_INFOGAN_CACHE/factor_predictors` (default
`~/.cache/progressive_infogan`), written to a temporary file and renamed into place.

    predictor, names, r2 = factor_predictor_for_run("runs/exp_condition")
    factors = predictor(images)  # [N, H, W, 3] in [-1, 1] -> [N, F] in factor units
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from typing import Callable, List, NamedTuple, Optional

import numpy as np

from progressive_infogan import files, tfrecords

FORMAT_VERSION = 2
CACHE_SUBDIRECTORY = "factor_predictors"
# The summary names a coordinate only after a factor the predictor reads at least this well.
DEFAULT_MIN_R2 = 0.5


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    num_images: int = 4000  # images read from the dataset (the first ones, in record order)
    holdout_fraction: float = 0.15
    epochs: int = 24  # 12 leaves the fine factors of a 64 px predictor unread (R^2 0 to 0.5)
    batch_size: int = 64
    learning_rate: float = 2e-3
    width: int = 32  # channels of the last three levels: width, 2 * width, 4 * width (see level_channels)
    batch_norm: bool = False
    seed: int = 0


class FactorPredictorResult(NamedTuple):
    predictor: Callable[[np.ndarray], np.ndarray]  # [N, H, W, 3] in [-1, 1] -> [N, F] in factor units
    factor_names: List[str]
    r2_per_factor: np.ndarray  # held-out R^2 per factor, float [F]


@dataclasses.dataclass
class FactorPredictor:
    """A trained regressor and what it needs to be applied."""

    model: object  # keras.Model, standardised outputs
    resolution: int
    preprocessing: str
    factor_names: List[str]
    mean: np.ndarray  # [F] target standardisation
    std: np.ndarray
    r2: np.ndarray  # [F] held-out
    settings: TrainingSettings
    num_train: int = 0
    num_holdout: int = 0
    seconds: float = 0.0

    def __call__(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != (self.resolution, self.resolution, 3):
            raise ValueError(f"the factor predictor reads [N, {self.resolution}, {self.resolution}, 3] images, "
                             f"got {images.shape}")
        outputs = [np.asarray(self.model(images[start:start + batch_size], training=False))
                   for start in range(0, len(images), batch_size)]
        standardised = np.concatenate(outputs) if outputs else np.zeros([0, len(self.factor_names)], np.float32)
        return standardised * self.std + self.mean

    @property
    def factor_scales(self) -> np.ndarray:
        """Each factor's standard deviation over the training images (its units for effect sizes)."""
        return np.asarray(self.std, np.float64)

    def as_result(self) -> FactorPredictorResult:
        return FactorPredictorResult(self, list(self.factor_names), np.asarray(self.r2, np.float64))

    def r2_text(self, min_r2: float = DEFAULT_MIN_R2) -> str:
        return ", ".join(f"{name} {value:.2f}" + ("" if value >= min_r2 else " (unreadable)")
                         for name, value in zip(self.factor_names, self.r2))


def level_channels(resolution: int, width: int = 32) -> List[int]:
    """Channels per level (resolution, resolution / 2, ... 8): the last three levels have width,
    2 * width and 4 * width whatever the resolution, and each level above them half the next
    one's, so that a 64 px predictor costs little more than a 32 px one."""
    levels = max(0, int(round(np.log2(resolution))) - 2)
    return [max(4, min(4 * width, int(width * 2.0 ** (level - (levels - 3))))) for level in range(levels)]


def build_model(resolution: int, num_factors: int, width: int = 32, batch_norm: bool = False):
    """A small CNN: per level a 3x3 conv and a strided 3x3 conv down to 4x4, then two dense layers."""
    import keras

    def conv(x, channels, strides=1):
        x = keras.layers.Conv2D(channels, 3, strides=strides, padding="same", use_bias=not batch_norm)(x)
        if batch_norm:
            x = keras.layers.BatchNormalization()(x)
        return keras.layers.ReLU()(x)

    inputs = keras.Input([resolution, resolution, 3])
    x = inputs
    for channels in level_channels(resolution, width):
        x = conv(x, channels)
        x = conv(x, channels, strides=2)
    x = conv(x, 4 * width)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    outputs = keras.layers.Dense(num_factors)(x)
    return keras.Model(inputs, outputs, name=f"factor_predictor_{resolution}")


def r2_scores(targets: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Per-column coefficient of determination 1 - SSE / SST."""
    targets = np.asarray(targets, np.float64)
    residual = np.sum((targets - np.asarray(predictions, np.float64)) ** 2, axis=0)
    total = np.sum((targets - targets.mean(axis=0)) ** 2, axis=0)
    return np.where(total > 0, 1.0 - residual / np.maximum(total, 1e-12), 0.0)


def load_images_and_factors(data_dir: str, resolution: int, preprocessing: str,
                            num_images: int) -> tuple[np.ndarray, np.ndarray, List[str]]:
    """The first `num_images` images (as the GAN saw them) and their factor rows, in record order."""
    from progressive_infogan import data

    table = data.read_factors(data_dir)
    factors, names = table["factors"], [str(name) for name in table["names"]]
    count = min(num_images, len(factors))
    dataset = data.make_dataset(data_dir, tfrecords.resolution_log2(resolution), 256, preprocessing=preprocessing,
                                repeat=False, shuffle_buffer=0, drop_remainder=False)
    batches, loaded = [], 0
    for batch in dataset:
        batches.append(batch.numpy()[:count - loaded])
        loaded += len(batches[-1])
        if loaded >= count:
            break
    images = np.concatenate(batches)
    if len(images) != count:
        raise ValueError(f"{data_dir}: read {len(images)} images at {resolution}px, expected {count}")
    return images, np.asarray(factors[:count], np.float32), names


def train_factor_predictor(data_dir: str, resolution: int, preprocessing: str = "original",
                           settings: TrainingSettings = TrainingSettings(), verbose: bool = False) -> FactorPredictor:
    """Train the regressor on the dataset's images at `resolution` and score it on held-out images."""
    import keras
    import tensorflow as tf

    started = time.perf_counter()
    images, factors, names = load_images_and_factors(data_dir, resolution, preprocessing, settings.num_images)
    rng = np.random.default_rng(settings.seed)
    order = rng.permutation(len(images))
    num_holdout = max(1, int(round(settings.holdout_fraction * len(images))))
    holdout, train = order[:num_holdout], order[num_holdout:]
    mean = factors[train].mean(axis=0)
    std = np.maximum(factors[train].std(axis=0), 1e-6)
    standardised = (factors - mean) / std

    keras.utils.set_random_seed(settings.seed)
    model = build_model(resolution, factors.shape[1], settings.width, settings.batch_norm)
    steps = settings.epochs * -(-len(train) // settings.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(settings.learning_rate, max(1, steps))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    training = (tf.data.Dataset.from_tensor_slices((images[train], standardised[train]))
                .shuffle(len(train), seed=settings.seed).batch(settings.batch_size).prefetch(2))
    model.fit(training, epochs=settings.epochs, shuffle=False, verbose=2 if verbose else 0)
    predictor = FactorPredictor(model=model, resolution=resolution, preprocessing=preprocessing,
                                factor_names=names, mean=mean.astype(np.float32), std=std.astype(np.float32),
                                r2=np.zeros(len(names)), settings=settings, num_train=len(train),
                                num_holdout=len(holdout))
    predictor.r2 = r2_scores(factors[holdout], predictor(images[holdout])).astype(np.float32)
    predictor.seconds = time.perf_counter() - started
    return predictor


# --------------------------------------------------------------------------------------
# Cache


def cache_directory() -> str:
    from progressive_infogan.metrics import inception

    return os.path.join(str(inception.cache_directory()), CACHE_SUBDIRECTORY)


def cache_path(data_dir: str, resolution: int, preprocessing: str, settings: TrainingSettings,
               cache_dir: Optional[str] = None) -> str:
    settings_key = json.dumps(dict(dataclasses.asdict(settings), version=FORMAT_VERSION), sort_keys=True)
    digest = hashlib.sha1(settings_key.encode()).hexdigest()[:8]
    name = f"{tfrecords.dataset_identity(data_dir)}-r{resolution}-{preprocessing}-{digest}.npz"
    return os.path.join(cache_dir or cache_directory(), name)


def save_predictor(path: str, predictor: FactorPredictor) -> None:
    """Atomically write the weights and metadata of a predictor as one .npz."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    metadata = {"version": FORMAT_VERSION, "resolution": predictor.resolution,
                "preprocessing": predictor.preprocessing, "factor_names": list(predictor.factor_names),
                "settings": dataclasses.asdict(predictor.settings), "num_train": predictor.num_train,
                "num_holdout": predictor.num_holdout, "seconds": predictor.seconds}
    arrays = {f"weight_{i:03d}": w for i, w in enumerate(predictor.model.get_weights())}
    files.write_npz(path, metadata=np.array(json.dumps(metadata)), mean=predictor.mean, std=predictor.std,
                    r2=predictor.r2, **arrays)


def load_predictor(path: str) -> FactorPredictor:
    with np.load(path, allow_pickle=False) as archive:
        metadata = json.loads(str(archive["metadata"]))
        if metadata.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: factor predictor format {metadata.get('version')}, expected {FORMAT_VERSION}")
        weights = [archive[name] for name in sorted(k for k in archive.files if k.startswith("weight_"))]
        mean, std, r2 = archive["mean"], archive["std"], archive["r2"]
    settings = TrainingSettings(**metadata["settings"])
    model = build_model(metadata["resolution"], len(metadata["factor_names"]), settings.width, settings.batch_norm)
    model.set_weights(weights)
    return FactorPredictor(model=model, resolution=metadata["resolution"], preprocessing=metadata["preprocessing"],
                           factor_names=metadata["factor_names"], mean=mean, std=std, r2=r2, settings=settings,
                           num_train=metadata["num_train"], num_holdout=metadata["num_holdout"],
                           seconds=metadata["seconds"])


def cached_factor_predictor(data_dir: str, resolution: int, preprocessing: str = "original",
                            settings: TrainingSettings = TrainingSettings(), cache_dir: Optional[str] = None,
                            retrain: bool = False, verbose: bool = False) -> FactorPredictor:
    """The cached predictor for (dataset, resolution, preprocessing, settings), trained on a miss."""
    path = cache_path(data_dir, resolution, preprocessing, settings, cache_dir)
    if os.path.exists(path) and not retrain:
        try:
            predictor = load_predictor(path)
            if verbose:
                print(f"factor predictor: cached {path}")
            return predictor
        except Exception as error:  # noqa: BLE001 - a damaged cache entry is retrained
            print(f"factor predictor: ignoring unreadable cache {path} ({error})")
    if verbose:
        print(f"factor predictor: training on {settings.num_images} images of {data_dir} at {resolution}px "
              f"({preprocessing} preprocessing)")
    predictor = train_factor_predictor(data_dir, resolution, preprocessing, settings, verbose=False)
    try:
        save_predictor(path, predictor)
    except OSError as error:
        print(f"factor predictor: could not cache it at {path} ({error})")
    if verbose:
        print(f"factor predictor: {predictor.seconds:.0f} s; cached at {path}")
    return predictor


# --------------------------------------------------------------------------------------
# Runs


def run_factor_data(run_dir: str, data_dir: Optional[str] = None) -> tuple[Optional[str], str, str]:
    """(data directory with factors or None, preprocessing, why not) of a run."""
    from progressive_infogan import data, rundir

    preprocessing = str(rundir.read_run_options(run_dir).get("preprocessing", "original"))
    data_dir = rundir.resolve_recorded_path(run_dir, data_dir) if data_dir else rundir.recorded_data_dir(run_dir)
    if not data_dir:
        return None, preprocessing, f"{run_dir} does not record its data directory ({rundir.RUN_OPTIONS_FILE})"
    if not os.path.isfile(os.path.join(data_dir, data.FACTORS_FILENAME)):
        return None, preprocessing, (f"{data_dir} has no {data.FACTORS_FILENAME}: not a synthetic-faces set, "
                                     "so there are no ground-truth factors")
    return data_dir, preprocessing, ""


def factor_predictor_for_run(run_or_run_dir, *, data_dir: Optional[str] = None, resolution: Optional[int] = None,
                             preprocessing: Optional[str] = None, settings: TrainingSettings = TrainingSettings(),
                             cache_dir: Optional[str] = None, retrain: bool = False,
                             verbose: bool = True) -> Optional[FactorPredictorResult]:
    """(predictor, factor names, held-out R^2 per factor) for a run's generator, or None (with a
    message) when the run's data has no ground-truth factors.

    `run_or_run_dir` is a `checkpoints.LoadedRun` or a run directory (its newest checkpoint
    gives the resolution). The predictor reads images at the model's resolution through the
    run's preprocessing; it is trained once and then cached (see the module docstring)."""
    from progressive_infogan import checkpoints

    if isinstance(run_or_run_dir, (str, os.PathLike)):
        run_dir = os.path.abspath(str(run_or_run_dir))
        if resolution is None:
            if os.path.isfile(os.path.join(run_dir, checkpoints.STATE_FILE)):
                checkpoint, run_dir = run_dir, os.path.dirname(os.path.dirname(run_dir))
            else:
                checkpoint = checkpoints.latest_checkpoint(run_dir)
                if checkpoint is None:
                    raise FileNotFoundError(f"no checkpoint in {run_dir}")
            with open(os.path.join(checkpoint, checkpoints.STATE_FILE)) as handle:
                resolution = 2 ** int(json.load(handle)["phase"])
    else:
        run_dir = run_or_run_dir.run_dir
        resolution = resolution or 2 ** run_or_run_dir.phase
    found, run_preprocessing, reason = run_factor_data(run_dir, data_dir)
    if found is None:
        print(f"factor naming: {reason}")
        return None
    predictor = cached_factor_predictor(found, resolution, preprocessing or run_preprocessing, settings,
                                        cache_dir=cache_dir, retrain=retrain, verbose=verbose)
    if verbose:
        print(f"factor predictor held-out R^2 at {resolution}px: {predictor.r2_text()}")
    return predictor.as_result()

