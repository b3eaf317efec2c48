import math

import pytest

from ttrl_kit.core import metrics


def test_pass_at_k_hand_computed():
    # n=4, c=1, k=2: 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert metrics.pass_at_k(4, 1, 2) == pytest.approx(0.5)
    assert metrics.pass_at_k(4, 0, 4) == 0.0
    assert metrics.pass_at_k(4, 3, 2) == 1.0
    assert metrics.pass_at_k(16, 2, 1) == pytest.approx(2 / 16)
    # n=5, c=2, k=3: 1 - C(3,3)/C(5,3) = 1 - 1/10
    assert metrics.pass_at_k(5, 2, 3) == pytest.approx(0.9)
    with pytest.raises(ValueError):
        metrics.pass_at_k(3, 4, 1)


def test_avg_and_maj_at_k():
    correct = [True, False, False, True]
    assert metrics.avg_at_k(correct) == 0.5
    # classes 0,1,1,0,2 -> tie between 0 and 1, class 0 seen first
    assert metrics.maj_at_k([0, 1, 1, 0, 2], [True, False, False]) == 1.0
    assert metrics.maj_at_k([1, 1, 0], [True, False]) == 0.0
    assert metrics.maj_at_k([None, None], []) == 0.0


def test_label_and_reward_accuracy():
    assert metrics.label_accuracy([True, False, None, True]) == 0.5
    # agrees vs correct: match at positions 0, 3
    assert metrics.reward_accuracy([True, True, False, False], [True, False, True, False]) == 0.5
    with pytest.raises(ValueError):
        metrics.reward_accuracy([True], [True, False])


def test_majority_ratio_and_entropy():
    assert metrics.majority_ratio([3, 1], 5) == 0.6
    assert metrics.answer_entropy([2, 2]) == pytest.approx(math.log(2))
    assert metrics.answer_entropy([2, 2], normalise=True) == pytest.approx(math.log(2) / math.log(4))
    assert metrics.answer_entropy([4]) == 0.0
    assert metrics.answer_entropy([]) == 0.0
