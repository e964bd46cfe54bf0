"""Where every coordinate of the InfoGAN code lives, and from which phase it takes part.

Coordinates are numbered consecutively in increasing block order. Each one has

- an **input block**: the generator block it enters and the discriminator block whose Q
  head predicts it (`ModelConfig.code_sizes`; all 80 at block 2 for vanilla,
  gradual_loss and unmask);
- an **owner block**: its group (`ModelConfig.schedule_groups`, by default the input
  blocks). The owner decides when exp_unmask unmasks it and gradual_loss / unmask start
  its MI penalty, and which block's figures report it in the per-block metrics.

A block exists from the phase of the same number on, so at phase p a coordinate
feeds G when its input block is <= p (and, under unmask, its owner block too), is
predicted by Q when its input block is <= p, and belongs to a built block when its owner
block is <= p. `ModelConfig.code_layout` is the one place these rules are written.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Dict, Iterable, Optional, Sequence, Tuple

import numpy as np

from progressive_infogan.config import MIN_PHASE
from progressive_infogan.errors import UserError

Counts = Tuple[Tuple[int, int], ...]  # ((block, number of coordinates), ...) in increasing block order


@dataclasses.dataclass(frozen=True)
class Coordinate:
    index: int
    input_block: int  # enters G here; D's Q head on this block predicts it
    owner_block: int  # its unmask / gradual-MI group and per-block metric


@dataclasses.dataclass(frozen=True)
class CodeLayout:
    coordinates: Tuple[Coordinate, ...]
    unmask: bool  # exp_unmask: G sees a coordinate only from its owner block's phase on

    @property
    def size(self) -> int:
        return len(self.coordinates)

    # --- where the coordinates are --------------------------------------------------------
    def input_ranges(self) -> Dict[int, range]:
        """Block -> the coordinates entering G at it and predicted by its Q head."""
        return _ranges((c.index, c.input_block) for c in self.coordinates)

    def owner_ranges(self) -> Dict[int, range]:
        """Block -> the coordinates it owns (blocks owning none are absent)."""
        return _ranges((c.index, c.owner_block) for c in self.coordinates)

    def block_ranges(self, phase: int) -> Dict[int, range]:
        """Every block 2..phase -> the coordinates it owns, an empty range if none (per-block reports)."""
        owned = self.owner_ranges()
        return {block: owned.get(block, range(0)) for block in range(MIN_PHASE, phase + 1)}

    # --- which take part at a phase -------------------------------------------------------
    def feeding_g(self, phase: int) -> Tuple[int, ...]:
        """Coordinates the phase-p generator reads (the others change nothing it draws)."""
        return tuple(c.index for c in self.coordinates
                     if c.input_block <= phase and (not self.unmask or c.owner_block <= phase))

    def predicted(self, phase: int) -> Tuple[int, ...]:
        """Coordinates with a Q head at phase p (the others are predicted as 0)."""
        return tuple(c.index for c in self.coordinates if c.input_block <= phase)

    def built(self, phase: int) -> Tuple[int, ...]:
        """Coordinates owned by the blocks 2..p: the union of the per-block reports at phase p.

        For the per-block variants these are also the ones that feed G and have a Q head;
        at phase 5 the 16 block-6 coordinates are not among them."""
        return tuple(c.index for c in self.coordinates if c.owner_block <= phase)

    def in_mi_penalty(self, phase: int, gradual_mi: bool) -> Tuple[int, ...]:
        """Coordinates averaged in the MI penalty: with gradual MI (gradual_loss, unmask) those
        of built blocks; otherwise all, including those without a Q head yet (mu = 0)."""
        return self.built(phase) if gradual_mi else tuple(range(self.size))

    # --- the same as 0/1 vectors over the code ---------------------------------------------
    def mask(self, indices: Iterable[int]) -> np.ndarray:
        vector = np.zeros([self.size], np.float32)
        vector[list(indices)] = 1.0
        return vector

    def unmask_mask(self, phase: int) -> np.ndarray:
        """exp_unmask's mask on G's code input: on for built blocks' coordinates. The switch
        is hard, at the first step of the phase (thesis text: gradual)."""
        return self.mask(self.built(phase))

    def mi_weights(self, phase: int, gradual_mi: bool) -> np.ndarray:
        return self.mask(self.in_mi_penalty(phase, gradual_mi))

    # --- one coordinate ------------------------------------------------------------------
    def coordinate(self, index: int) -> Coordinate:
        if not 0 <= index < self.size:
            raise ValueError(f"coordinate {index} is not in the code (size {self.size})")
        return self.coordinates[index]


def _ranges(pairs: Iterable[Tuple[int, int]]) -> Dict[int, range]:
    ranges: Dict[int, range] = {}
    for index, block in pairs:
        start = ranges[block].start if block in ranges else index
        ranges[block] = range(start, index + 1)
    return ranges


def _blocks(counts: Counts) -> Sequence[int]:
    return [block for block, count in counts for _ in range(count)]


def layout_of(code_sizes: Counts, schedule_groups: Optional[Counts] = None, unmask: bool = False) -> CodeLayout:
    """The layout `ModelConfig.code_layout` describes, from its fields of the same names."""
    return _layout(_freeze(code_sizes), None if schedule_groups is None else _freeze(schedule_groups), bool(unmask))


def _freeze(counts) -> Counts:
    return tuple((int(block), int(count)) for block, count in counts)


# Networks and schedule ask for the layout at every build; it is the same object each time.
@functools.lru_cache(maxsize=None)
def _layout(code_sizes: Counts, schedule_groups: Optional[Counts], unmask: bool) -> CodeLayout:
    inputs = _blocks(code_sizes)
    owners = _blocks(code_sizes if schedule_groups is None else schedule_groups)
    if len(owners) != len(inputs):
        raise ValueError(f"schedule_groups {schedule_groups} cover {len(owners)} coordinates, "
                         f"code_sizes {code_sizes} {len(inputs)}")
    for counts in (code_sizes, schedule_groups or ()):
        blocks = [block for block, _ in counts]
        if blocks != sorted(set(blocks)):
            raise ValueError(f"blocks must increase: {counts}")
    coordinates = tuple(Coordinate(index, input_block, owner_block)
                        for index, (input_block, owner_block) in enumerate(zip(inputs, owners)))
    return CodeLayout(coordinates=coordinates, unmask=unmask)


# --- Coordinates by name -------------------------------------------------------------------
# The figures label coordinate c "C<c>"; the commands take coordinates by that label.

_LABEL = re.compile(r"^C(\d+)$")
_BARE = re.compile(r"^C?(\d+)$")


def parse_coordinate_values(text: Optional[str], flag: str, code_size: Optional[int] = None,
                            bare: bool = False) -> Dict[int, float]:
    """'C19=2.5,C3=-1' -> {19: 2.5, 3: -1.0} (with `bare`, '19=2.5' too), checked against the code's
    size when it is given; a UserError names `flag` and the item at fault."""
    values: Dict[int, float] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        label, separator, value = item.partition("=")
        coordinate = parse_coordinate_label(label, bare=bare)
        if not separator or coordinate is None:
            raise UserError(f"{flag}: {item!r} is not C<coordinate>=<value>, e.g. C19=2.5")
        if code_size is not None:
            try:
                check_coordinate(coordinate, code_size)
            except UserError as error:
                raise UserError(f"{flag}: {error}") from None
        try:
            values[coordinate] = float(value)
        except ValueError:
            raise UserError(f"{flag}: {item!r}: {value.strip()!r} is not a number") from None
    return values


def parse_coordinate_label(text: str, bare: bool = False) -> Optional[int]:
    """'C19' -> 19 (with `bare`, '19' too); None when `text` is no coordinate label."""
    match = (_BARE if bare else _LABEL).match(text.strip())
    return int(match.group(1)) if match else None


def check_coordinate(coordinate: int, code_size: int) -> None:
    """UserError unless `coordinate` is in a code of `code_size` coordinates."""
    if not 0 <= coordinate < code_size:
        raise UserError(f"C{coordinate} is not in this model's code (C0..C{code_size - 1})" if code_size
                        else f"C{coordinate}: this model has no code")
