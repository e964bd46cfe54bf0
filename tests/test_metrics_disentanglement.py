"""MIG, DCI, SAP, modularity and explicitness (metrics/disentanglement.py): the cases
disentanglement_lib tests its own metrics on, and small cases computed by hand."""

import math

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from progressive_infogan.metrics import disentanglement as d

NUM_FACTORS = 5
ALL = 1.0  # train_fraction: hand cases use every row


def binary_entropy(p):
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


@pytest.fixture(scope="module")
def factors():
    return np.random.default_rng(0).uniform(size=(3000, NUM_FACTORS))


@pytest.fixture(scope="module")
def identity_scores(factors):
    return d.all_scores(factors, factors, 0, n_jobs=2)


# --- Building blocks ----------------------------------------------------------------------

def test_histogram_discretisation_is_the_librarys():
    values = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]]).T
    assert d.discretize(values, num_bins=3).T.tolist() == [[1, 1, 2, 2, 3, 3], [3, 3, 2, 2, 1, 1]]
    # Bins from other rows: values beyond their range fall in the end bins.
    edges = d.histogram_edges(values, num_bins=3)
    assert d.discretize(np.array([[-5.0, 0.0], [0.35, 0.35], [9.0, 9.0]]), 3, edges).tolist() == [[1, 1], [2, 2], [3, 3]]
    assert np.all(d.discretize(np.full((5, 1), 2.0)) == d.discretize(np.full((5, 1), 2.0))[0])


def test_mutual_information_and_entropy_match_the_plug_in_estimates():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 4, size=(200, 3)), rng.integers(0, 6, size=(200, 2))
    b[:, 0] = a[:, 0] // 2  # some dependence
    expected = [[mutual_info_score(a[:, i], b[:, j]) for j in range(2)] for i in range(3)]
    assert d.mutual_information(a, b) == pytest.approx(np.array(expected), abs=1e-12)
    assert d.entropy(np.array([[1, 1, 2, 2, 3, 3]]).T) == pytest.approx([math.log(3)])
    xs = np.array([[1, 2, 1, 2], [1, 1, 2, 2]]).T
    ys = np.array([[1, 2, 1, 2], [2, 2, 1, 1]]).T
    assert d.mutual_information(xs, ys) == pytest.approx(np.array([[math.log(2), 0], [0, math.log(2)]]), abs=1e-12)


def test_split_is_a_shuffle_with_two_thirds_for_training():
    train, test = d.split_indices(15000, random_state=3)
    assert len(train) == 10000 and len(test) == 5000
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(15000))
    assert np.array_equal(d.split_indices(15000, 3)[0], train) and not np.array_equal(d.split_indices(15000, 4)[0], train)


# --- By hand ------------------------------------------------------------------------------

def test_mig_by_hand():
    factor = np.array([0, 0, 0, 0, 1, 1, 1, 1], np.float64)[:, None]
    codes = np.stack([factor[:, 0], [0, 0, 0, 1, 1, 1, 1, 1]], axis=1).astype(np.float64)
    # MI(code 0) = H = log 2; code 1 = 0 at 3 rows, all of class 0: H(factor | code 1) = 5/8 h(1/5).
    second = math.log(2) - 5 / 8 * binary_entropy(0.2)
    scores = d.mig(codes, factor, train_fraction=ALL)
    assert scores["mutual_information"][:, 0] == pytest.approx([math.log(2), second])
    assert scores["mig"] == pytest.approx((math.log(2) - second) / math.log(2))
    assert scores["mig"] == pytest.approx(0.4512, abs=1e-4)


def test_dci_from_an_importance_matrix_by_hand():
    importance = np.array([[1.0, 1.0], [0.0, 2.0]])
    # Code 0 splits its importance evenly (D_0 = 0), code 1 serves one factor (D_1 = 1); each carries half.
    assert d.dci_disentanglement(importance)[0] == pytest.approx(0.5)
    # Factor 0 lies in one code (C = 1, weight 1/4); factor 1 is (1/3, 2/3) over two codes (weight 3/4).
    completeness = 0.25 + 0.75 * (1 - binary_entropy(1 / 3) / math.log(2))
    assert d.dci_completeness(importance)[0] == pytest.approx(completeness)


@pytest.mark.parametrize("importance, disentanglement, completeness", [
    (np.diag(5.0 * np.ones(5)), 1.0, 1.0),
    (np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), 1.0, 1.0),  # an empty code
    (np.zeros([10, 10]), 0.0, 0.0),
    (np.vstack([np.diag(5.0 * np.ones(5))] * 2), 1.0, 1 - math.log(2) / math.log(10)),  # redundant codes
    (np.diag(5.0 * np.ones(5))[:2], 1.0, 1.0),  # missed factors
    (np.hstack([np.diag(5.0 * np.ones(5))] * 2), 1 - math.log(2) / math.log(10), 1.0),  # one code, two factors
])
def test_dci_library_cases(importance, disentanglement, completeness):
    assert d.dci_disentanglement(importance)[0] == pytest.approx(disentanglement, abs=1e-7)
    assert d.dci_completeness(importance)[0] == pytest.approx(completeness, abs=1e-7)


def test_sap_by_hand():
    factor = np.array([[1.0], [2.0], [3.0], [4.0]])
    codes = np.array([[1, 1], [2, 3], [3, 2], [4, 4]], np.float64)
    # corr(code 1, factor) = 4 / 5 (deviations -1.5, .5, -.5, 1.5 against -1.5, -.5, .5, 1.5).
    scores = d.sap(codes, factor, train_fraction=ALL)
    assert scores["sap_matrix"][:, 0] == pytest.approx([1.0, 0.64])
    assert scores["sap"] == pytest.approx(0.36)
    # A constant code or factor scores 0, not NaN.
    assert d.sap_score_matrix(np.ones((4, 1)), factor)[0, 0] == 0.0
    assert d.sap_score_matrix(codes, np.ones((4, 1))).tolist() == [[0.0], [0.0]]


@pytest.mark.parametrize("information, expected", [
    (np.array([[2.0, 1.0], [0.0, 3.0]]), 0.5 * (1 - (5 - 4) / 4) + 0.5 * 1.0),  # by hand: 0.875
    (np.diag(5.0 * np.ones(5)), 1.0),
    (np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), 2 / 3),  # a code with no information scores 0
    (np.zeros([10, 10]), 0.0),
    (np.vstack([np.diag(5.0 * np.ones(5))] * 2), 1.0),
    (np.hstack([np.diag(5.0 * np.ones(5))] * 2), 1 - 1 / 9),
])
def test_modularity_cases(information, expected):
    assert d.modularity_from_information(information)[0] == pytest.approx(expected)


# --- Representations, as the library tests its metrics -------------------------------------

def test_identity_representation_is_near_perfect(identity_scores):
    s = identity_scores
    # MIG: the second-best MI is the plug-in bias of two independent 20-bin variables, ~19^2 / (2 N) nats.
    assert 0.95 < s["mig"] <= 1.0
    assert s["dci_disentanglement"] > 0.99 and s["dci_completeness"] > 0.99
    assert s["dci_informativeness_train"] > 0.99 and s["dci_informativeness_test"] > 0.99
    assert s["sap"] > 0.99
    assert s["modularity"] > 0.95
    assert s["explicitness_test"] > 0.9
    assert s["importance"].shape == (NUM_FACTORS, NUM_FACTORS)
    assert np.argmax(s["importance"], axis=0).tolist() == list(range(NUM_FACTORS))


def test_constant_representation_scores_zero(factors):
    s = d.all_scores(np.zeros_like(factors), factors, 0, n_jobs=1)
    assert s["mig"] == 0.0 and s["sap"] == 0.0 and s["modularity"] == 0.0
    assert s["dci_disentanglement"] == pytest.approx(0.0, abs=1e-7)
    assert s["dci_completeness"] == pytest.approx(0.0, abs=1e-7)
    assert s["dci_informativeness_test"] <= 0.0 + 1e-12 and np.all(s["importance"] == 0)
    assert s["explicitness_test"] == pytest.approx(0.5)  # a constant classifier: chance AUC


def test_a_random_mixing_scores_low(factors):
    # Every code a different random mixture of all factors: no code is aligned with one factor.
    mixing = np.random.default_rng(5).normal(size=(NUM_FACTORS, NUM_FACTORS))
    s = d.all_scores(factors @ mixing, factors, 0, n_jobs=2)
    assert s["mig"] < 0.3 and s["sap"] < 0.4
    assert s["dci_disentanglement"] < 0.6 and s["dci_completeness"] < 0.6


def test_permuted_factors_and_codes_give_the_same_scores(factors, identity_scores):
    permutation = np.array([3, 0, 4, 1, 2])
    for codes, targets in ((factors, factors[:, permutation]), (factors[:, permutation], factors)):
        s = d.all_scores(codes, targets, 0, n_jobs=2)
        for name in d.SCALAR_SCORES:
            assert s[name] == pytest.approx(identity_scores[name], abs=2e-3), name


def test_duplicated_codes(factors):
    # Two copies of every code: each factor's best two codes tie (MIG and SAP 0), each code
    # still serves one factor (D, modularity ~1), each factor spreads over two of 2F codes.
    s = d.all_scores(np.hstack([factors, factors]), factors, 0, n_jobs=2)
    assert s["mig"] == pytest.approx(0.0, abs=1e-12) and s["sap"] == pytest.approx(0.0, abs=1e-12)
    assert s["dci_disentanglement"] > 0.99 and s["modularity"] > 0.95
    # The exact trees visit features in a random order at every node, so two equal splits
    # go to either copy: half the importance each, as in the library's test.
    exact = d.dci(np.hstack([factors, factors])[:1200], factors[:1200], 0, n_jobs=2, estimator="exact")
    assert exact["dci_disentanglement"] > 0.99
    assert exact["dci_completeness"] == pytest.approx(1 - math.log(2) / math.log(2 * NUM_FACTORS), abs=0.05)
    # The histogram trees take the first of equal splits: exact copies look complete.
    assert s["dci_completeness"] > 0.99
    assert np.all(s["importance"][NUM_FACTORS:] < 1e-3)


def test_duplicated_factors(factors, identity_scores):
    # Two copies of every factor: each copy still has one best code (MIG, SAP, C unchanged);
    # each code serves two of 2F factors: D = 1 - log 2 / log 2F, modularity 1 - 1 / (2F - 1).
    s = d.all_scores(factors, np.hstack([factors, factors]), 0, n_jobs=2)
    assert s["mig"] == pytest.approx(identity_scores["mig"], abs=1e-12)
    assert s["sap"] == pytest.approx(identity_scores["sap"], abs=1e-12)
    assert s["dci_completeness"] > 0.99
    assert s["dci_disentanglement"] == pytest.approx(1 - math.log(2) / math.log(2 * NUM_FACTORS), abs=0.01)
    assert s["modularity"] == pytest.approx(1 - 1 / (2 * NUM_FACTORS - 1), abs=0.04)


def test_parallel_fits_give_the_same_importance(factors):
    codes = factors[:600] + 0.1 * np.random.default_rng(2).normal(size=(600, NUM_FACTORS))
    assert np.array_equal(d.dci(codes, factors[:600], 0, n_jobs=1)["importance"],
                          d.dci(codes, factors[:600], 0, n_jobs=2)["importance"])


def test_histogram_trees_give_the_exact_trees_importances():
    # Codes with graded relevance to two factors, plus pure noise codes.
    rng = np.random.default_rng(4)
    codes = rng.normal(size=(900, 6))
    targets = np.stack([codes[:, 0] + 0.5 * codes[:, 1] + 0.1 * rng.normal(size=900),
                        np.tanh(codes[:, 2]) + 0.3 * codes[:, 3] ** 2 + 0.05 * rng.normal(size=900)], axis=1)
    train, test = slice(0, 600), slice(600, None)
    histogram = d.importance_matrix(codes[train], targets[train], codes[test], targets[test], 0)
    exact = d.importance_matrix(codes[train], targets[train], codes[test], targets[test], 0, estimator="exact")
    assert np.allclose(histogram[0].sum(axis=0), 1.0) and np.allclose(exact[0].sum(axis=0), 1.0)
    assert histogram[0] == pytest.approx(exact[0], abs=0.03)
    assert histogram[2] == pytest.approx(exact[2], abs=0.03)  # test R^2
    assert np.argsort(histogram[0], axis=0)[-2:].tolist() == np.argsort(exact[0], axis=0)[-2:].tolist()
    with pytest.raises(ValueError, match="estimator"):
        d.importance_matrix(codes, targets, codes, targets, estimator="forest")


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="rows"):
        d.mig(np.zeros((4, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        d.sap(np.zeros(4), np.zeros((4, 2)))
