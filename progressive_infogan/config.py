"""Typed configuration of a Progressive InfoGAN run, and the thesis experiments as presets.

The defaults are the original code's values (docs/original_system.md §1-§4 and §6);
an experiment is a named preset that replaces a few fields. Where the thesis text and the
code disagree, the field defaults to the code and a flag-like field offers the text
(docs/thesis_text_vs_code.md).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from progressive_infogan.errors import UserError

if TYPE_CHECKING:
    from progressive_infogan.code_layout import CodeLayout

# Blocks are named by log2 of their resolution: block 2 works at 4x4, block 7 at 128x128.
MIN_PHASE = 2
MAX_PHASE = 10


def _freeze(mapping: Mapping[Any, Any]) -> Tuple[Tuple[int, int], ...]:
    return tuple(sorted((int(key), int(value)) for key, value in mapping.items()))


# Distributions of a code variable. The thesis's are all "normal" (N(0, 1)); InfoGAN's continuous
# codes are "uniform" (U(-1, 1)) and its discrete ones "categorical" / "bernoulli" (p = 1/2).
CODE_DISTRIBUTIONS = ("normal", "uniform", "categorical", "bernoulli")


@dataclasses.dataclass(frozen=True)
class CodeVariable:
    """`count` code variables of one distribution, side by side in G's input.

    A continuous or Bernoulli variable is one coordinate of the code (G reads the value, 0/1 for
    Bernoulli); a categorical(K) variable is K coordinates holding its one-hot vector, as in
    InfoGAN. Its Q head has one output per coordinate: a Gaussian mean, K softmax logits, or one
    sigmoid logit (`code_layout.Variable`).
    """

    distribution: str = "normal"  # one of CODE_DISTRIBUTIONS
    count: int = 1  # variables of this kind
    categories: int = 0  # categorical only: K >= 2

    def __post_init__(self):
        if self.distribution not in CODE_DISTRIBUTIONS:
            raise UserError(f"code variable distribution {self.distribution!r}: expected one of "
                            f"{', '.join(CODE_DISTRIBUTIONS)}")
        if self.count < 1:
            raise UserError(f"code variable count must be >= 1, got {self.count}")
        if (self.distribution == "categorical") != (self.categories != 0) or (self.categories and self.categories < 2):
            raise UserError(f"{self.distribution} code variable with categories={self.categories}: a categorical "
                            "variable needs categories >= 2, the others categories=0")

    @property
    def coordinates_per_variable(self) -> int:
        return self.categories if self.distribution == "categorical" else 1

    @property
    def width(self) -> int:
        """Coordinates of G's code input these variables occupy."""
        return self.count * self.coordinates_per_variable


def normal(count: int = 1) -> CodeVariable:
    return CodeVariable("normal", count)


def uniform(count: int = 1) -> CodeVariable:
    return CodeVariable("uniform", count)


def categorical(categories: int, count: int = 1) -> CodeVariable:
    return CodeVariable("categorical", count, categories)


def bernoulli(count: int = 1) -> CodeVariable:
    return CodeVariable("bernoulli", count)


BlockVariables = Tuple[Tuple[int, Tuple[CodeVariable, ...]], ...]  # ((block, (variables, ...)), ...)


def _code_variables(raw: Any) -> BlockVariables:
    """`ModelConfig.code_variables` from itself or its JSON form ([[block, [{...}, ...]], ...])."""
    def variable(value):
        return value if isinstance(value, CodeVariable) else CodeVariable(**value)

    try:
        return tuple((int(block), tuple(variable(value) for value in values)) for block, values in raw)
    except (TypeError, ValueError) as error:
        raise UserError(f"code_variables {raw!r}: expected ((block, (CodeVariable, ...)), ...), as JSON "
                        f'[[2, [{{"distribution": "categorical", "categories": 10}}]]] ({error})') from None


def code_spec(blocks: Mapping[int, Any]) -> Dict[str, Any]:
    """The ModelConfig fields of a code given per block: {2: [categorical(10), uniform(2)], 3: [normal(16)]}
    -> dict(code_sizes=..., code_variables=...)."""
    variables = tuple((int(block), tuple(blocks[block])) for block in sorted(blocks))
    return dict(code_sizes=tuple((block, sum(v.width for v in values)) for block, values in variables),
                code_variables=variables)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of G, D and Q, and how the InfoGAN code enters them."""

    noise_size: int = 64
    # Code coordinates per block, in increasing block order; coordinate ids are assigned
    # consecutively (block 2 gets 0..15, block 3 16..31, ...). Stored as ((block, count), ...).
    code_sizes: Tuple[Tuple[int, int], ...] = ((2, 16), (3, 16), (4, 16), (5, 16), (6, 16))
    # Distributions of the code, per block: ((block, (CodeVariable, ...)), ...) whose widths add up to
    # the block's count in `code_sizes`. A block not listed (the default: all) has only N(0, 1)
    # coordinates, the thesis's code. `code_spec` builds both fields; code_layout.py reads them.
    code_variables: BlockVariables = ()
    # Q also predicts log sigma of each continuous coordinate's Gaussian (InfoGAN's appendix); the
    # thesis fixes sigma = 1. Known bug: such a run is not always reproducible bit for bit, even with
    # --deterministic and oneDNN off (about 1 in 3 under CPU contention; two uninterrupted runs differ
    # alike, so it is not the resume). It shows first in biases followed by batch norm, whose gradient
    # is rounding noise that Adam scales up to the learning rate.
    q_learned_sigma: bool = False
    # How the code enters G: a name in variants.INJECTIONS.
    injection: str = "condition"
    # exp_unmask: multiply the code by the phase's 0/1 mask (coordinate groups in
    # `schedule_groups` are unmasked from the phase of their group's block on).
    unmask: bool = False
    # Coordinate groups (owner blocks) for the unmask mask, gradual MI and per-block metrics of
    # the variants that feed every coordinate at block 2. None means the groups are `code_sizes`.
    schedule_groups: Optional[Tuple[Tuple[int, int], ...]] = None
    # Width: C_G(d) = min(g_channels_at_4x4 / 2^(d-2), g_channels_max) * width_multiplier.
    g_channels_at_4x4: int = 2048
    g_channels_max: int = 480
    # C_D(r) = min(d_channels_at_2x2 / 2^(r-1), d_channels_max) * width_multiplier.
    d_channels_at_2x2: int = 4096
    d_channels_max: int = 512
    width_multiplier: float = 1.0
    # Units of D's 4x4 dense h2, which the block-2 Q heads and the logit read. None: d_channels(0),
    # scaled like every layer (512 at full width). A scale adaptation of reduced sizes: at 1/8 width
    # h2 has 64 units for up to 80 code coordinates (docs/training_health.md).
    d_head_units: Optional[int] = None
    # append_channels: the code's projection has C_G(d-1) / append_channels_div channels.
    append_channels_div: int = 1
    # D's fromRGB also sees n high-pass residuals of the image (the thesis runs most likely
    # had 2; the original HEAD has 0). See docs/original_system.md §2.7.
    fromrgb_image_diffs: int = 0
    # Thesis text (docs/thesis_text_vs_code.md item 3): fromRGB is linear. Code: followed by leaky ReLU.
    fromrgb_activation: bool = True
    leaky_relu_slope: float = 0.2
    batch_norm_epsilon: float = 1e-3
    batch_norm_momentum: float = 0.999

    def __post_init__(self):
        # JSON (config.json, --override) gives lists of dicts: they become the typed variables here.
        object.__setattr__(self, "code_variables", _code_variables(self.code_variables))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "ModelConfig":
        return _from_dict(cls, raw)

    @property
    def code_size(self) -> int:
        return sum(count for _, count in self.code_sizes)

    @property
    def code_layout(self) -> "CodeLayout":
        """Which coordinates exist, the blocks that read, predict and own each, and from which
        phase each takes part (`code_layout.py`)."""
        from progressive_infogan.code_layout import layout_of  # it needs MIN_PHASE from here

        return layout_of(self.code_sizes, self.schedule_groups, self.unmask, self.code_variables)

    @property
    def groups(self) -> Tuple[Tuple[int, int], ...]:
        """The owner blocks' counts: `schedule_groups`, or `code_sizes` if None."""
        return self.schedule_groups if self.schedule_groups is not None else self.code_sizes

    def coordinate_ranges(self, groups: Optional[Tuple[Tuple[int, int], ...]] = None) -> Dict[int, range]:
        """Block -> the coordinates entering G at it and predicted by its Q head; with
        `groups`, the consecutive ranges of those counts (`self.groups`: the owner blocks')."""
        from progressive_infogan.code_layout import layout_of

        return (self.code_layout if groups is None else layout_of(groups)).input_ranges()

    def g_channels(self, block: int) -> int:
        base = min(self.g_channels_at_4x4 // 2 ** (block - 2), self.g_channels_max)
        return max(1, int(round(base * self.width_multiplier)))

    def d_channels(self, level: int) -> int:
        base = min(self.d_channels_at_2x2 // 2 ** (level - 1), self.d_channels_max)
        return max(1, int(round(base * self.width_multiplier)))

    @property
    def d_head_width(self) -> int:
        return self.d_head_units if self.d_head_units is not None else self.d_channels(0)


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """Phases, batch sizes and lengths (docs/original_system.md §4.1)."""

    batch_sizes: Tuple[Tuple[int, int], ...] = ((2, 128), (3, 128), (4, 64), (5, 32), (6, 16), (7, 6), (8, 3), (9, 2), (10, 1))
    images_per_phase: int = 384_000
    min_steps: int = 6000
    first_phase: int = 2
    stop_after: int = 7
    # Phases that get twice the steps. The original doubles phase 7, the last phase of every
    # thesis run, in all configs except exp_condition (the thesis text: "the last phase").
    doubled_phases: Tuple[int, ...] = (7,)
    # Code: alpha rises over the first half of a phase. Thesis text: over the whole phase.
    fade_fraction: float = 0.5
    # gradual_loss / unmask: only the coordinates of blocks <= phase enter the MI penalty.
    gradual_mi: bool = False

    def batch_size(self, phase: int) -> int:
        return dict(self.batch_sizes)[phase]


@dataclasses.dataclass(frozen=True)
class LossConfig:
    # lambda; 0 disables the MI penalty and Q heads' training signal. With discrete codes it weighs
    # the continuous variables' log-likelihoods only.
    mi_weight: float = 10.0
    # lambda of the categorical and Bernoulli variables (InfoGAN: 1, beside a smaller continuous
    # one). None: mi_weight, like the continuous ones.
    discrete_mi_weight: Optional[float] = None
    label_smoothing: float = 0.25  # tf-gan's one-sided default: real target 0.875.
    consistency_weight: float = 0.0  # 30 / 300 in the consistency experiments.


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    g_learning_rate: float = 5e-4
    d_learning_rate: float = 5e-4
    beta_1: float = 0.0
    beta_2: float = 0.99
    epsilon: float = 1e-8
    ema_decay: float = 0.999


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    name: str = "exp_condition"
    model: ModelConfig = ModelConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    loss: LossConfig = LossConfig()
    optimizer: OptimizerConfig = OptimizerConfig()

    def replace(self, **sections: Any) -> "ExperimentConfig":
        """Replace fields; a dict for a section replaces fields inside that section."""
        updates = {}
        for key, value in sections.items():
            current = getattr(self, key)
            if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
                value = dataclasses.replace(current, **value)
            updates[key] = value
        return dataclasses.replace(self, **updates)

    def to_json(self) -> str:
        raw = dataclasses.asdict(self)
        for section, field in _OMITTED_AT_DEFAULT:
            if raw[section][field] == dataclasses.asdict(getattr(_DEFAULTS, section))[field]:
                del raw[section][field]
        return json.dumps(raw, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ExperimentConfig":
        raw = json.loads(text)
        return cls(
            name=raw["name"],
            model=_from_dict(ModelConfig, raw["model"]),
            schedule=_from_dict(ScheduleConfig, raw["schedule"]),
            loss=_from_dict(LossConfig, raw["loss"]),
            optimizer=_from_dict(OptimizerConfig, raw["optimizer"]),
        )


# Fields added after the thesis configurations, written to config.json only when they differ
# from their default: a thesis run's config.json keeps its text (from_json reads an absent field
# as its default).
_OMITTED_AT_DEFAULT = (("model", "code_variables"), ("model", "q_learned_sigma"), ("loss", "discrete_mi_weight"))
_DEFAULTS = ExperimentConfig()


def differences(stored: ExperimentConfig, current: ExperimentConfig) -> List[str]:
    """'section.field: stored X, now Y' for every field where two configs differ."""
    flat = lambda config: {f"{section}.{field}" if isinstance(values, dict) else section: value  # noqa: E731
                           for section, values in dataclasses.asdict(config).items()
                           for field, value in (values.items() if isinstance(values, dict) else [(None, values)])}
    old, new = flat(stored), flat(current)
    return [f"{key}: stored {old[key]!r}, now {new[key]!r}" for key in sorted(old) if old[key] != new[key]]


def grows(stored: ExperimentConfig, given: ExperimentConfig) -> bool:
    """Whether `given` is `stored` with a later last phase and nothing else changed: a run of
    `stored` goes on into the new phases from where it is. No phase's steps, batch or fade
    depend on the phases after it, so those already trained are the same in both."""
    return (given.schedule.stop_after > stored.schedule.stop_after
            and not differences(stored.replace(schedule=dict(stop_after=given.schedule.stop_after)), given))


def _accepts(annotation: Any, value: Any) -> bool:
    """Whether a JSON-parsed `value` fits a field's type (ints widen to float)."""
    if annotation is Any:
        return True
    if typing.get_origin(annotation) is typing.Union:
        return any(_accepts(option, value) for option in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if typing.get_origin(annotation) is tuple or annotation is tuple:
        return isinstance(value, tuple)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, annotation) and not (annotation is int and isinstance(value, bool))


def override(config: ExperimentConfig, assignment: str) -> ExperimentConfig:
    """`config` with one 'section.field=value' applied (`--override`); value is JSON or a bare string."""
    key, separator, text = assignment.partition("=")
    section, _, field = key.strip().partition(".")
    current = getattr(config, section, None) if separator else None
    if not dataclasses.is_dataclass(current) or field not in {f.name for f in dataclasses.fields(current)}:
        sections = ", ".join(f.name for f in dataclasses.fields(config) if f.name != "name")
        raise UserError(f"--override={assignment!r}: expected SECTION.FIELD=VALUE with SECTION one of "
                         f"{sections} and FIELD one of its config's fields (config.py)")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    if isinstance(value, list):
        value = tuple(tuple(item) if isinstance(item, list) else item for item in value)
    if (section, field) == ("model", "code_variables"):
        value = _code_variables(value)
    annotation = typing.get_type_hints(type(current))[field]
    if not _accepts(annotation, value):
        raise UserError(f"--override={assignment!r}: {key} takes {annotation}, got {value!r}")
    if annotation is float:
        value = float(value)
    return config.replace(**{section: {field: value}})


def _from_dict(cls, raw: Mapping[str, Any]):
    fields = {}
    for field in dataclasses.fields(cls):
        if field.name not in raw:
            continue
        value = raw[field.name]
        if isinstance(value, list):  # JSON turns the ((block, n), ...) tuples into lists.
            value = tuple(tuple(item) if isinstance(item, list) else item for item in value)
        fields[field.name] = value
    return cls(**fields)


# --- The thesis experiments (docs/original_system.md §6) --------------------------------

PER_BLOCK_16 = _freeze({2: 16, 3: 16, 4: 16, 5: 16, 6: 16})
ALL_AT_BLOCK_2 = ((2, 80),)

_BASE = ExperimentConfig()


def _preset(name: str, **sections: Any) -> ExperimentConfig:
    return _BASE.replace(name=name, **sections)


PRESETS: Dict[str, ExperimentConfig] = {
    config.name: config
    for config in [
        _preset("exp_vanilla", model=dict(code_sizes=ALL_AT_BLOCK_2, injection="append")),
        _preset(
            "exp_gradual_loss",
            model=dict(code_sizes=ALL_AT_BLOCK_2, injection="append", schedule_groups=PER_BLOCK_16),
            schedule=dict(gradual_mi=True),
        ),
        _preset(
            "exp_unmask",
            model=dict(code_sizes=ALL_AT_BLOCK_2, injection="append", schedule_groups=PER_BLOCK_16, unmask=True),
            schedule=dict(gradual_mi=True),
        ),
        _preset("exp_append_simple", model=dict(code_sizes=PER_BLOCK_16, injection="append")),
        _preset("exp_append_channels", model=dict(code_sizes=PER_BLOCK_16, injection="append_channels")),
        _preset("exp_condition", schedule=dict(doubled_phases=())),
        _preset("exp_condition_8vars", model=dict(code_sizes=_freeze({b: 8 for b in range(2, 7)}))),
        _preset("exp_condition_4vars", model=dict(code_sizes=_freeze({b: 4 for b in range(2, 7)}))),
        _preset("exp_consistency_30", loss=dict(consistency_weight=30.0)),
        _preset("exp_consistency_300", loss=dict(consistency_weight=300.0)),
        _preset("exp_noinfo", model=dict(code_sizes=(), injection="none"), loss=dict(mi_weight=0.0)),
        _preset(
            "exp_noinfo_lr2_5e-4",
            model=dict(code_sizes=(), injection="none"),
            loss=dict(mi_weight=0.0),
            optimizer=dict(g_learning_rate=2.5e-4, d_learning_rate=2.5e-4),
        ),
        _preset(
            "exp_noinfo_lr1_25e-4",
            model=dict(code_sizes=(), injection="none"),
            loss=dict(mi_weight=0.0),
            optimizer=dict(g_learning_rate=1.25e-4, d_learning_rate=1.25e-4),
        ),
    ]
}


# --- Beyond the thesis -------------------------------------------------------------------

# InfoGAN's MNIST check on scikit-learn's 8x8 digits (progressive_infogan/digits.py): a 10-way
# categorical and 2 U(-1, 1) codes appended to z (InfoGAN: 62 noise variables), grown 4x4 -> 8x8 at
# 1/8 width. Sized to train in about 6 minutes on a 2-core CPU. The loss and optimizer values are
# the best of the trials in results/digits/README.md (seed 0 each): InfoGAN's Adam (beta_1 0.5, D
# 2e-4) with G at twice InfoGAN's 1e-3; with the thesis's Adam G drops digits. The penalty
# averages over the 3 variables, so 1 and 0.3 are a third of InfoGAN's summed lambda 1 (discrete)
# and its 0.1 (continuous); the full lambda (3 here) matched fewer categories to digits.
DIGITS = _preset(
    "exp_digits",
    model=dict(**code_spec({2: [categorical(10), uniform(2)]}), injection="append", noise_size=62,
               width_multiplier=1 / 8, d_head_units=128, batch_norm_momentum=0.99),
    schedule=dict(batch_sizes=_freeze({2: 64, 3: 64}), images_per_phase=0, min_steps=3000, stop_after=3,
                  doubled_phases=()),
    loss=dict(mi_weight=0.3, discrete_mi_weight=1.0),
    optimizer=dict(ema_decay=0.99, beta_1=0.5, g_learning_rate=2e-3, d_learning_rate=2e-4),
)

# Presets that are not thesis experiments (PRESETS is the thesis table, docs/original_system.md §6).
OTHER_PRESETS: Dict[str, ExperimentConfig] = {config.name: config for config in [DIGITS]}


def preset(name: str) -> ExperimentConfig:
    try:
        return PRESETS[name] if name in PRESETS else OTHER_PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS) + sorted(OTHER_PRESETS))
        raise ValueError(f"unknown experiment {name!r}; known: {known}") from None


def scaled_down(config: ExperimentConfig, *, width_multiplier: float, images_per_phase: int,
                min_steps: int, stop_after: int, batch_sizes: Optional[Mapping[int, int]] = None,
                averaging_steps: Optional[float] = None) -> ExperimentConfig:
    """The same experiment at a size this machine can train (architecture and schedule shape kept);
    the arguments are those of `Size`."""
    return Size("custom", width_multiplier=width_multiplier, images_per_phase=images_per_phase, min_steps=min_steps,
                stop_after=stop_after, batch_sizes=_freeze(batch_sizes or {}),
                averaging_steps=averaging_steps).apply(config)


# --- Evaluation sample counts ----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class EvalSettings:
    """Sample counts of the metrics; the defaults are the thesis protocol (docs/original_system.md §5.1-§5.6)."""

    seed: int = 0  # of the generated samples
    batch_size: Optional[int] = None  # None: the phase's training batch, as the original
    fid_num_images: int = 5000  # FID, thesis protocol: generated and real images
    msssim_num_pairs: int = 2000  # MS-SSIM diversity: consecutive pairs of generated images
    infogan_num_batches: int = 3000  # InfoGAN penalty / code reconstruction error: batches
    isolation_num_images: int = 128  # isolation: base samples per coordinate
    standard_fid_num_images: int = 50_000  # FID, standard protocol: generated images per draw
    standard_fid_draws: int = 3  # FID, standard protocol: independent draws (mean +- std)
    # Disentanglement against ground truth (beyond the thesis; disentanglement_lib's counts):
    # images per view, 2/3 of them the training rows (10000 / 5000).
    disentanglement_num_images: int = 15_000
    factor_predictor: str = "standard"  # its training settings: metrics.ground_truth.predictor_settings
    progress: bool = True  # progress bars while sampling


# --- Sizes: one experiment at the scale of a machine -------------------------------------

@dataclasses.dataclass(frozen=True)
class Size:
    """Everything `--size` changes: the training scale, the evaluation protocol and the default dataset.

    A field left at None keeps the preset's value (the thesis's), so the `full` size is the
    preset itself. The architecture's shape, the schedule's shape and the losses never change.
    """

    name: str  # the --size value
    description: str = ""  # one line for --help
    width_multiplier: Optional[float] = None  # every layer's channel count x this (thesis 1.0)
    images_per_phase: Optional[int] = None  # a phase's images before the min_steps floor (thesis 384000)
    min_steps: Optional[int] = None  # floor on a phase's steps (thesis 6000)
    stop_after: Optional[int] = None  # last phase trained, at 2^stop_after px (thesis 7)
    batch_sizes: Tuple[Tuple[int, int], ...] = ()  # (phase, batch) replacing those phases' thesis batch
    # BN's moving-statistics momentum and the generator EMA's decay become 1 - 1/averaging_steps:
    # the thesis's 0.999 averages over ~1000 steps, where its phases have 6000+; a run of a few
    # hundred steps per phase would still be evaluated mostly on the averages' initial values.
    averaging_steps: Optional[float] = None
    d_head_units: Optional[int] = None  # D's h2 width (ModelConfig.d_head_units); None: scaled like the rest
    protocol: str = "thesis"  # the evaluation protocol of this size (`evaluate --protocol`, metrics.jsonl)
    evaluation: EvalSettings = EvalSettings()  # that protocol's sample counts
    dataset_images: int = 30_000  # faces in the default synthetic dataset, data/synthetic_faces-<N>x<px>

    def apply(self, config: ExperimentConfig) -> ExperimentConfig:
        """`config` at this size."""
        model, optimizer = {}, {}
        schedule = {name: getattr(self, name) for name in ("images_per_phase", "min_steps", "stop_after")
                    if getattr(self, name) is not None}
        if self.width_multiplier is not None:
            model["width_multiplier"] = self.width_multiplier
        if self.d_head_units is not None:
            model["d_head_units"] = self.d_head_units
        if self.batch_sizes:
            schedule["batch_sizes"] = _freeze({**dict(config.schedule.batch_sizes), **dict(self.batch_sizes)})
        if self.averaging_steps is not None:
            decay = 1.0 - 1.0 / self.averaging_steps
            model["batch_norm_momentum"] = decay
            optimizer["ema_decay"] = decay
        return config.replace(model=model, schedule=schedule, optimizer=optimizer)


_QUICK = dict(width_multiplier=1 / 8, images_per_phase=25_600, min_steps=100, stop_after=5,
              batch_sizes=_freeze({2: 32, 3: 32, 4: 32, 5: 32}), averaging_steps=100, protocol="quick",
              evaluation=EvalSettings(batch_size=16, fid_num_images=1000, msssim_num_pairs=250,
                                      infogan_num_batches=200, isolation_num_images=16,
                                      standard_fid_num_images=2000, disentanglement_num_images=3000),
              dataset_images=10_000)

SIZES: Dict[str, Size] = {
    size.name: size
    for size in [
        Size("full", "the thesis configuration (GPU, days)"),
        Size("quick", "1/8 width, phases 2..5 at batch 32, 800 steps per phase: about 5 minutes on a 2-core CPU",
             **_QUICK),
        # The evidence size (docs/training_health.md): quick with twice the steps per phase, and D's
        # h2 kept at the thesis's 512 units so that the block-2 Q heads (all 80 of exp_vanilla's)
        # read more than 64 features.
        Size("cpu", "the evidence size: quick with 1600 steps per phase and D's 4x4 dense h2 at the thesis's "
             "512 units: about 15 minutes on a 2-core CPU", **{**_QUICK, "images_per_phase": 51_200},
             d_head_units=512),
        Size("smoke", "a few steps per phase up to 16x16, for tests: seconds",
             width_multiplier=1 / 32, images_per_phase=8, min_steps=2, stop_after=4,
             batch_sizes=_freeze({phase: 4 for phase in range(MIN_PHASE, MAX_PHASE + 1)}), averaging_steps=2,
             protocol="smoke",
             evaluation=EvalSettings(batch_size=2, fid_num_images=20, msssim_num_pairs=4, infogan_num_batches=2,
                                     isolation_num_images=2, standard_fid_num_images=20, standard_fid_draws=2,
                                     disentanglement_num_images=48, factor_predictor="smoke", progress=False),
             dataset_images=64),
    ]
}


def size(name: str) -> Size:
    try:
        return SIZES[name]
    except KeyError:
        raise ValueError(f"unknown size {name!r}; known: {', '.join(SIZES)}") from None


# --- How to run an experiment ------------------------------------------------------------

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# How the training step computes (trainer.PhaseTrainer): "lean" in fewer ops (fused Adam, fused batch
# norm, a lighter sanitiser and EMA), "reference" op by op as first written; the same maths.
STEPS = ("lean", "reference")


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How to run an experiment (where, on what hardware); the experiment itself is the ExperimentConfig."""

    model_dir: str  # the run directory (rundir.py): config.json, checkpoints, TensorBoard events, samples
    data_dir: str = ""  # per-resolution TFRecords (data_prep/)
    seed: int = 0  # latents, data order and fresh variables
    preprocessing: str = "original"  # data.make_dataset: "original" (docs/original_system.md §4.7) or "plain"
    mirror: bool = False  # random left-right flips of the real images (the thesis used none)
    strategy: str = "default"  # one of STRATEGIES (tf.distribute)
    devices: Optional[tuple] = None  # for "mirrored": explicit device names
    mixed_precision: str = "float32"  # one of PRECISIONS (Keras dtype policy)
    jit_compile: bool = False  # XLA-compile the training step
    step: str = "lean"  # one of STEPS
    deterministic: bool = False  # tf.config.experimental.enable_op_determinism
    verify_data: bool = False  # check the records' SHA-256 against the manifest at start (sizes always)
    allow_changed_data: bool = False  # resume although the seed or the dataset differ from the run's identity
    summary_every_steps: int = 700  # TensorBoard scalars and sample grids
    log_every_secs: float = 30.0  # progress log line
    checkpoint_every_secs: float = 7200.0  # besides the checkpoint at each phase's end
    keep_checkpoints: int = 3  # newest checkpoints kept (0: all), besides each phase's final one
    stop_at_step: Optional[int] = None  # end the call (with a checkpoint) after this global step
    progress_bar: bool = True  # a progress bar per phase
