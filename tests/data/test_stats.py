import pytest

from skim.data.stats import dataset_stats, format_stats


def test_stats_of_tiny_dataset(tiny_dataset):
    s = dataset_stats(tiny_dataset)
    assert (s["train_points"], s["test_points"], s["labels"]) == (3, 2, 4)
    assert s["train_pairs"] == 3 and s["test_pairs"] == 2
    assert s["labels_per_train_point"] == {"mean": 1.0, "median": 1.0, "max": 1.0}
    assert s["train_points_per_label"] == {"mean": 0.75, "median": 1.0, "max": 1.0}
    assert s["tail_label_share"] == 1.0
    # 5 true train pairs, 3 observed -> 40% missing; test: 4 true, 2 observed -> 50%.
    assert s["train_missing_share"] == pytest.approx(0.4)
    assert s["test_missing_share"] == pytest.approx(0.5)
    text = format_stats(s)
    assert "train missing share: 40.0%" in text and "labels: 4" in text


def test_no_missing_share_without_unbiased_labels(tiny_dataset):
    s = dataset_stats(tiny_dataset.replace(trn_X_Y_unbiased=None, tst_X_Y_unbiased=None))
    assert "train_missing_share" not in s and "test_missing_share" not in s
