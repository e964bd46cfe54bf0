"""Unsupervised accuracy of a categorical code: its categories matched one-to-one to the labels.

A categorical code learns the classes in an arbitrary order, so InfoGAN's "classification error"
of the code needs a matching first. Here it is the best one-to-one assignment of categories to
labels (Hungarian algorithm on the contingency table, `scipy.optimize.linear_sum_assignment`):
accuracy = the fraction of samples whose category is matched to their label. With more
categories than labels the extra categories count as errors, and vice versa.
"""

from __future__ import annotations

import dataclasses
from typing import Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclasses.dataclass(frozen=True)
class Matching:
    accuracy: float
    pairs: Tuple[Tuple[int, int], ...]  # (category, label) of the assignment
    contingency: np.ndarray  # [categories, labels]: how many samples of each label got each category


def best_matching(categories: np.ndarray, labels: np.ndarray, num_categories: int) -> Matching:
    categories, labels = np.asarray(categories, np.int64), np.asarray(labels, np.int64)
    if categories.shape != labels.shape or not categories.size:
        raise ValueError(f"categories {categories.shape} and labels {labels.shape} must be equal, non-empty vectors")
    num_labels = int(labels.max()) + 1
    contingency = np.zeros([max(num_categories, int(categories.max()) + 1), num_labels], np.int64)
    np.add.at(contingency, (categories, labels), 1)
    rows, columns = linear_sum_assignment(contingency, maximize=True)
    return Matching(accuracy=float(contingency[rows, columns].sum() / len(labels)),
                    pairs=tuple((int(r), int(c)) for r, c in zip(rows, columns)), contingency=contingency)
