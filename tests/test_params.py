"""Stage parameters objects: settings vs runtime fields, keyword overrides, clear errors."""

import pytest

from skim.learners.params import TrainParams
from skim.map.params import MapParams
from skim.teach import TeachParams, teach


def test_to_dict_leaves_runtime_fields_and_secrets_out():
    params = TeachParams(endpoint="http://x/v1", model="m", api_key="sk-secret", progress=False)
    settings = params.to_dict()
    assert settings["model"] == "m" and settings["n"] == 10
    assert "api_key" not in settings and "progress" not in settings
    assert "sk-secret" not in repr(params)


def test_overrides_apply_on_a_copy_and_unknown_keywords_are_type_errors():
    given = MapParams(topk=3, tau=0.7)
    built = MapParams.build(given, "map_synthetic", tau=0.9)
    assert (built.topk, built.tau, given.tau) == (3, 0.9, 0.7)
    assert MapParams.build(None, "map_synthetic").to_dict() == MapParams().to_dict()
    with pytest.raises(TypeError, match=r"teach\(\) got an unexpected keyword argument 'nn'"):
        teach("unused", "unused.jsonl", "labels-to-queries", "http://x", "m", nn=3)


def test_another_learner_gets_its_own_default_learning_rate_unless_one_was_set():
    ova = TrainParams(learner="ova")
    assert TrainParams.build(ova, "train", learner="dual").lr == TrainParams(learner="dual").lr
    mine = TrainParams(learner="ova", lr=0.5)
    assert TrainParams.build(mine, "train", learner="dual").lr == 0.5
    assert "encoder" not in ova.to_dict() and ova.to_dict()["lr"] == ova.lr


def test_a_settings_check_of_the_dataclass_is_a_one_sentence_error():
    from skim.errors import SkimError
    from skim.generate import GenerateParams

    with pytest.raises(SkimError, match="num_return must be a positive integer, got 0"):
        GenerateParams(num_return=0)
    with pytest.raises(SkimError, match="binary or calibrated"):
        MapParams(binary=True, calibrated=True)
