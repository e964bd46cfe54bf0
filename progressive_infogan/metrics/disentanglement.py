"""Supervised disentanglement scores of a representation against known factors (issue 10).

Pure numpy / scikit-learn functions of ``(codes [N, K], factors [N, F], random_state)``,
each returning a dict of named scores: MIG (Chen et al. 2018), DCI (Eastwood & Williams
2018), SAP (Kumar et al. 2018), modularity and explicitness (Ridgeway & Mozer 2018). The
protocol follows disentanglement_lib (Locatello et al. 2019), written here because the
library cannot be installed beside TF 2.21; docs/disentanglement_metrics.md explains every
number. Where our factors differ from the library's datasets (ours are continuous, theirs
discrete) the choice is stated:

- Discretisation: 20 equal-width histogram bins per code dimension (the library's
  `histogram_discretizer`, num_bins = 20) for MIG and modularity. The library's factors are
  already discrete; ours are continuous, so they get the same 20-bin histogram.
- Splits: the rows are shuffled with `random_state` and the first `train_fraction` are the
  training set; 2/3 of N = 15000 is the library's num_train = 10000, num_test = 5000. MIG,
  modularity and SAP use the training rows only (the library computes them from its
  training sample), DCI and explicitness fit on them and also score the test rows.
- DCI: the library fits one `GradientBoostingClassifier` per (discrete) factor. Ours are
  continuous, and a 20-class classifier costs 20 trees per boosting stage, so we fit the
  regressor variant with the library's boosting settings (100 stages of depth-3 trees,
  learning rate 0.1) and report informativeness as R^2 (the library: accuracy). The
  importance matrix is the trees' impurity importance (squared-error reduction of each
  code dimension's splits). By default the trees are scikit-learn's histogram-based
  regressor, splits over 255 quantile bins: ~50x faster than `GradientBoostingRegressor`
  (estimator="exact", also here), whose importances it matches closely (tested).
- SAP: the SAP paper's continuous-attribute score (the library's continuous_factors=True),
  the squared correlation of one code dimension with one factor, on the training rows.
- Explicitness: the library's one-vs-rest ROC-AUC of a logistic regression from all
  standardised codes to the factor's 20-bin class (bin edges from the training rows).
"""

from __future__ import annotations

import math
import warnings
from typing import Dict, Optional, Tuple

import numpy as np

NUM_BINS = 20
TRAIN_FRACTION = 2.0 / 3.0  # 10000 of 15000: disentanglement_lib's num_train / num_test


def _as_matrix(values: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(values, np.float64)
    if values.ndim != 2:
        raise ValueError(f"{name} must be [N, D], got shape {values.shape}")
    return values


def _check(codes: np.ndarray, factors: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    codes, factors = _as_matrix(codes, "codes"), _as_matrix(factors, "factors")
    if len(codes) != len(factors):
        raise ValueError(f"codes have {len(codes)} rows but factors {len(factors)}")
    return codes, factors


def split_indices(num_rows: int, random_state=0, train_fraction: float = TRAIN_FRACTION
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """(train, test) row indices: a shuffle by `random_state`, the first ceil(fraction N) train."""
    order = np.random.default_rng(random_state).permutation(num_rows)
    num_train = min(num_rows, int(math.ceil(num_rows * train_fraction)))
    return order[:num_train], order[num_train:]


# --- Discretisation and mutual information ---------------------------------------------------

def histogram_edges(values: np.ndarray, num_bins: int = NUM_BINS) -> list:
    """Per column, the left edges of `num_bins` equal-width bins over its range."""
    return [np.histogram(column, num_bins)[1][:-1] for column in _as_matrix(values, "values").T]


def discretize(values: np.ndarray, num_bins: int = NUM_BINS, edges: Optional[list] = None) -> np.ndarray:
    """int [N, D] bin numbers 1..num_bins per column (the library's histogram discretiser);
    with `edges` (from `histogram_edges` of other rows), values outside them go to the end bins."""
    values = _as_matrix(values, "values")
    edges = histogram_edges(values, num_bins) if edges is None else edges
    out = np.empty(values.shape, np.int64)
    for column, left_edges in enumerate(edges):
        out[:, column] = np.clip(np.digitize(values[:, column], left_edges), 1, len(left_edges))
    return out


def mutual_information(discrete_a: np.ndarray, discrete_b: np.ndarray) -> np.ndarray:
    """[Da, Db] mutual information in nats between every column of a and of b (int [N, D]),
    the plug-in estimate of sklearn.metrics.mutual_info_score."""
    a, b = np.asarray(discrete_a), np.asarray(discrete_b)
    num_rows = len(a)
    result = np.zeros([a.shape[1], b.shape[1]])
    if num_rows == 0:
        return result
    recoded_a = [np.unique(column, return_inverse=True)[1] for column in a.T]
    recoded_b = [np.unique(column, return_inverse=True)[1] for column in b.T]
    for i, x in enumerate(recoded_a):
        size_x = int(x.max()) + 1
        p_x = np.bincount(x, minlength=size_x) / num_rows
        for j, y in enumerate(recoded_b):
            size_y = int(y.max()) + 1
            joint = np.bincount(x * size_y + y, minlength=size_x * size_y).reshape(size_x, size_y) / num_rows
            p_y = joint.sum(axis=0)
            nonzero = joint > 0
            outer = np.outer(p_x, p_y)
            result[i, j] = max(0.0, float(np.sum(joint[nonzero] * np.log(joint[nonzero] / outer[nonzero]))))
    return result


def entropy(discrete: np.ndarray) -> np.ndarray:
    """[D] entropy in nats of every column of int [N, D]."""
    values = np.asarray(discrete)
    result = np.zeros(values.shape[1])
    for j, column in enumerate(values.T):
        p = np.unique(column, return_counts=True)[1] / len(column)
        result[j] = float(-np.sum(p * np.log(p)))
    return result


# --- MIG ----------------------------------------------------------------------------------

def mig(codes, factors, random_state=0, *, num_bins: int = NUM_BINS,
        train_fraction: float = TRAIN_FRACTION) -> Dict[str, object]:
    """Mutual Information Gap: per factor, (largest - second largest MI with one code
    dimension) / H(factor), averaged over factors; on the training rows.

    Returns {"mig": float, "mig_per_factor": [F], "mutual_information": [K, F]}. A constant
    factor (H = 0) has no gap (NaN) and is left out of the mean.
    """
    codes, factors = _check(codes, factors)
    train, _ = split_indices(len(codes), random_state, train_fraction)
    discrete_codes = discretize(codes[train], num_bins)
    discrete_factors = discretize(factors[train], num_bins)
    information = mutual_information(discrete_codes, discrete_factors)
    factor_entropy = entropy(discrete_factors)
    ordered = -np.sort(-information, axis=0)
    second = ordered[1] if len(ordered) > 1 else np.zeros(factors.shape[1])
    gap = ordered[0] - second if len(ordered) else np.zeros(factors.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        per_factor = np.where(factor_entropy > 0, gap / factor_entropy, np.nan)
    return {"mig": _nanmean(per_factor), "mig_per_factor": per_factor, "mutual_information": information}


def _nanmean(values: np.ndarray) -> float:
    values = np.asarray(values, np.float64)
    return float(np.mean(values[np.isfinite(values)])) if np.isfinite(values).any() else math.nan


# --- DCI ----------------------------------------------------------------------------------

def _entropy_base(p: np.ndarray, base: int, axis: int) -> np.ndarray:
    # scipy.stats.entropy normalises, as the library's +1e-11 keeps empty rows finite.
    p = p + 1e-11
    p = p / p.sum(axis=axis, keepdims=True)
    return -np.sum(p * np.log(p), axis=axis) / math.log(base)


def dci_disentanglement(importance: np.ndarray) -> Tuple[float, np.ndarray]:
    """(D, per code): per code dimension 1 - H_F(its importance over factors), weighted by
    the code's share of the total importance."""
    importance = np.asarray(importance, np.float64)
    num_factors = importance.shape[1]
    per_code = 1.0 - _entropy_base(importance, num_factors, axis=1) if num_factors > 1 else np.ones(len(importance))
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    weights = weights.sum(axis=1) / weights.sum()
    return float(np.sum(per_code * weights)), per_code


def dci_completeness(importance: np.ndarray) -> Tuple[float, np.ndarray]:
    """(C, per factor): per factor 1 - H_K(its importance over code dimensions), weighted by
    the factor's share of the total importance."""
    importance = np.asarray(importance, np.float64)
    num_codes = importance.shape[0]
    per_factor = 1.0 - _entropy_base(importance, num_codes, axis=0) if num_codes > 1 else np.ones(importance.shape[1])
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    weights = weights.sum(axis=0) / weights.sum()
    return float(np.sum(per_factor * weights)), per_factor


def _r2(targets: np.ndarray, predictions: np.ndarray) -> float:
    total = float(np.sum((targets - targets.mean()) ** 2))
    return 1.0 - float(np.sum((targets - predictions) ** 2)) / total if total > 0 else 0.0


ESTIMATORS = ("histogram", "exact")
# The library's GradientBoosting defaults: 100 stages of depth-3 trees, learning rate 0.1,
# leaves of one sample allowed, no regularisation and no early stopping.
_BOOSTING = dict(learning_rate=0.1, max_depth=3, min_samples_leaf=1)


def _split_gains(model, num_features: int) -> np.ndarray:
    """Total squared-error reduction of every feature's splits over all trees of a fitted
    HistGradientBoostingRegressor: the impurity importance GradientBoostingRegressor
    reports, unnormalised. scikit-learn keeps the trees in a private attribute (stable
    since 0.21; setup.py pins the version, and a test checks this against the exact
    estimator's `feature_importances_`)."""
    predictors = getattr(model, "_predictors", None)
    if predictors is None:
        raise RuntimeError("this scikit-learn's HistGradientBoostingRegressor keeps no _predictors; "
                           "use estimator='exact' or the version setup.py pins")
    gains = np.zeros(num_features)
    for stage in predictors:
        for tree in stage:
            nodes = tree.nodes
            splits = ~nodes["is_leaf"].astype(bool)
            np.add.at(gains, nodes["feature_idx"][splits].astype(np.int64), nodes["gain"][splits])
    return gains


def _fit_factor(x_train, y_train, x_test, y_test, seed, estimator):
    from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    if np.ptp(y_train) == 0 or x_train.shape[1] == 0:  # nothing to learn: no importance
        return np.zeros(x_train.shape[1]), 0.0, 0.0
    if estimator == "exact":
        model = GradientBoostingRegressor(n_estimators=100, random_state=seed, **_BOOSTING).fit(x_train, y_train)
        importance = model.feature_importances_
    else:
        # One OpenMP thread per fit: the factors run in parallel instead, and small trees
        # gain nothing from more threads on a busy CPU.
        with threadpool_limits(1, user_api="openmp"):
            model = HistGradientBoostingRegressor(max_iter=100, max_leaf_nodes=None, l2_regularization=0.0,
                                                  early_stopping=False, random_state=seed, **_BOOSTING)
            model.fit(x_train, y_train)
        gains = _split_gains(model, x_train.shape[1])
        importance = gains / gains.sum() if gains.sum() > 0 else gains
    return (np.abs(importance), _r2(y_train, model.predict(x_train)),
            _r2(y_test, model.predict(x_test)) if len(y_test) else math.nan)


def importance_matrix(codes_train, factors_train, codes_test, factors_test, random_state=0,
                      n_jobs: Optional[int] = None, estimator: str = "histogram"
                      ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """([K, F] importance, [F] train R^2, [F] test R^2) of one gradient-boosted regressor per
    factor (each factor's importances sum to 1).

    `estimator`: "histogram" (default) is HistGradientBoostingRegressor with the library's
    boosting settings: splits are searched over 255 quantile bins of each code dimension
    instead of every value, which makes it ~50x faster at N = 10000 (seconds instead of
    minutes) and changes the importances little (tested). "exact" is
    GradientBoostingRegressor, the library's estimator family. Constant code dimensions are
    left out of the fit (their importance is 0): the coordinates of blocks a checkpoint
    has not grown yet.
    """
    from joblib import Parallel, delayed

    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    codes_train, factors_train = _check(codes_train, factors_train)
    codes_test, factors_test = _check(codes_test, factors_test)
    used = np.flatnonzero(np.ptp(codes_train, axis=0) > 0) if len(codes_train) else np.array([], np.int64)
    seed = int(np.random.default_rng(random_state).integers(2 ** 31 - 1))
    # Threads: the trees are built without the GIL, and worker processes would each import
    # the package (and TensorFlow with it).
    fits = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_fit_factor)(codes_train[:, used], factors_train[:, j], codes_test[:, used], factors_test[:, j], seed,
                             estimator)
        for j in range(factors_train.shape[1]))
    importance = np.zeros([codes_train.shape[1], factors_train.shape[1]])
    for j, (column, _, _) in enumerate(fits):
        importance[used, j] = column
    return (importance, np.array([fit[1] for fit in fits], np.float64),
            np.array([fit[2] for fit in fits], np.float64))


def dci(codes, factors, random_state=0, *, train_fraction: float = TRAIN_FRACTION,
        n_jobs: Optional[int] = None, estimator: str = "histogram") -> Dict[str, object]:
    """Disentanglement, completeness and informativeness from gradient-boosted trees.

    Returns {"dci_disentanglement", "dci_completeness", "dci_informativeness_train",
    "dci_informativeness_test" (mean R^2 over factors), "importance": [K, F],
    "dci_completeness_per_factor": [F], "dci_informativeness_test_per_factor": [F]}.
    """
    codes, factors = _check(codes, factors)
    train, test = split_indices(len(codes), random_state, train_fraction)
    importance, train_r2, test_r2 = importance_matrix(codes[train], factors[train], codes[test], factors[test],
                                                      random_state, n_jobs, estimator)
    disentanglement, _ = dci_disentanglement(importance)
    completeness, completeness_per_factor = dci_completeness(importance)
    return {"dci_disentanglement": disentanglement, "dci_completeness": completeness,
            "dci_informativeness_train": _nanmean(train_r2), "dci_informativeness_test": _nanmean(test_r2),
            "importance": importance, "dci_completeness_per_factor": completeness_per_factor,
            "dci_informativeness_test_per_factor": test_r2}


# --- SAP ----------------------------------------------------------------------------------

def sap_score_matrix(codes, factors) -> np.ndarray:
    """[K, F] squared correlation of each code dimension with each factor (0 where either is constant)."""
    codes, factors = _check(codes, factors)
    centred_codes = codes - codes.mean(axis=0)
    centred_factors = factors - factors.mean(axis=0)
    covariance = centred_codes.T @ centred_factors
    code_squares, factor_squares = np.sum(centred_codes ** 2, axis=0), np.sum(centred_factors ** 2, axis=0)
    # The library's cut-off: var(code) > 1e-12 (ddof 1); a constant factor scores 0 too.
    valid = np.outer(code_squares > 1e-12 * max(1, len(codes) - 1), factor_squares > 0)
    variances = np.outer(code_squares, factor_squares)
    return np.where(valid, covariance ** 2 / np.where(valid, variances, 1.0), 0.0)


def sap(codes, factors, random_state=0, *, train_fraction: float = TRAIN_FRACTION) -> Dict[str, object]:
    """Separated Attribute Predictability: per factor, the gap between the two code
    dimensions that predict it best (score matrix above), averaged over factors.

    Returns {"sap": float, "sap_per_factor": [F], "sap_matrix": [K, F]}."""
    codes, factors = _check(codes, factors)
    train, _ = split_indices(len(codes), random_state, train_fraction)
    matrix = sap_score_matrix(codes[train], factors[train])
    ordered = np.sort(matrix, axis=0)
    per_factor = ordered[-1] - (ordered[-2] if len(ordered) > 1 else 0.0) if len(ordered) else np.zeros(
        factors.shape[1])
    return {"sap": float(np.mean(per_factor)) if per_factor.size else math.nan, "sap_per_factor": per_factor,
            "sap_matrix": matrix}


# --- Modularity and explicitness ----------------------------------------------------------

def modularity_from_information(information: np.ndarray) -> Tuple[float, np.ndarray]:
    """(modularity, per code): 1 - (sum of squared MI over factors but the top one) /
    (top squared MI * (F - 1)); a code with no information scores 0."""
    squared = np.square(np.asarray(information, np.float64))
    top = squared.max(axis=1) if squared.size else np.zeros(len(squared))
    num_factors = squared.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = (squared.sum(axis=1) - top) / (top * max(1, num_factors - 1))
    per_code = np.where(top > 0, 1.0 - delta, 0.0)
    return (float(np.mean(per_code)) if per_code.size else math.nan), per_code


def _explicitness_per_factor(x_train, labels_train, x_test, labels_test) -> Tuple[float, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import label_binarize

    classes = np.unique(labels_train)
    if len(classes) < 2:
        return math.nan, math.nan
    with warnings.catch_warnings():
        # Small evaluations (smoke) have few rows per class; the fit is still what is asked.
        warnings.simplefilter("ignore", UserWarning)
        model = LogisticRegression(max_iter=200).fit(x_train, labels_train)

    def auc(x, labels):
        truth = label_binarize(labels, classes=model.classes_)
        if truth.shape[1] == 1:  # two classes: label_binarize gives one column
            truth = np.concatenate([1 - truth, truth], axis=1)
        scores = model.predict_proba(x)
        # One-vs-rest AUC over the classes present both ways in these rows (macro average).
        keep = (truth.sum(axis=0) > 0) & (truth.sum(axis=0) < len(truth))
        return float(roc_auc_score(truth[:, keep], scores[:, keep], average="macro")) if keep.any() else math.nan

    return auc(x_train, labels_train), (auc(x_test, labels_test) if len(labels_test) else math.nan)


def modularity_explicitness(codes, factors, random_state=0, *, num_bins: int = NUM_BINS,
                            train_fraction: float = TRAIN_FRACTION, explicitness: bool = True) -> Dict[str, object]:
    """Modularity (from the 20-bin MI on the training rows) and, if asked, explicitness.

    Returns {"modularity", "modularity_per_code": [K], and with `explicitness`
    "explicitness_train", "explicitness_test" (mean one-vs-rest ROC-AUC over factors)}."""
    codes, factors = _check(codes, factors)
    train, test = split_indices(len(codes), random_state, train_fraction)
    information = mutual_information(discretize(codes[train], num_bins), discretize(factors[train], num_bins))
    modularity, per_code = modularity_from_information(information)
    scores: Dict[str, object] = {"modularity": modularity, "modularity_per_code": per_code}
    if explicitness:
        mean, std = codes[train].mean(axis=0), codes[train].std(axis=0)
        std = np.where(std > 0, std, 1.0)
        x_train, x_test = (codes[train] - mean) / std, (codes[test] - mean) / std
        edges = histogram_edges(factors[train], num_bins)
        labels_train = discretize(factors[train], num_bins, edges)
        labels_test = discretize(factors[test], num_bins, edges)
        from threadpoolctl import threadpool_limits

        # One BLAS thread: with more, these small fits run 40x slower on a contended CPU.
        with threadpool_limits(1):
            pairs = [_explicitness_per_factor(x_train, labels_train[:, j], x_test, labels_test[:, j])
                     for j in range(factors.shape[1])]
        scores["explicitness_train"] = _nanmean(np.array([pair[0] for pair in pairs]))
        scores["explicitness_test"] = _nanmean(np.array([pair[1] for pair in pairs]))
    return scores


# --- Everything -----------------------------------------------------------------------------

SCALAR_SCORES = ("mig", "dci_disentanglement", "dci_completeness", "dci_informativeness_train",
                 "dci_informativeness_test", "sap", "modularity", "explicitness_train", "explicitness_test")


def all_scores(codes, factors, random_state=0, *, num_bins: int = NUM_BINS, train_fraction: float = TRAIN_FRACTION,
               explicitness: bool = True, n_jobs: Optional[int] = None, estimator: str = "histogram"
               ) -> Dict[str, object]:
    """Every score above on one split (the same `random_state` gives every metric the same rows)."""
    scores: Dict[str, object] = {}
    scores.update(mig(codes, factors, random_state, num_bins=num_bins, train_fraction=train_fraction))
    scores.update(dci(codes, factors, random_state, train_fraction=train_fraction, n_jobs=n_jobs, estimator=estimator))
    scores.update(sap(codes, factors, random_state, train_fraction=train_fraction))
    scores.update(modularity_explicitness(codes, factors, random_state, num_bins=num_bins,
                                          train_fraction=train_fraction, explicitness=explicitness))
    return scores
