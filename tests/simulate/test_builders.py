import pytest

from skim.errors import SkimError
from skim.pipeline import check_config
from skim.simulate.builders import BUILDERS, BuilderEntry


def test_a_registered_builder_is_a_choice_of_the_config():
    def build(out_dir, settings, seed):  # pragma: no cover - only its name is checked here
        raise AssertionError

    raw = {"dataset": {"builder": "toy"}}
    with pytest.raises(SkimError, match=r"\[dataset\] builder must be one of wordnet$"):
        check_config(raw)
    BUILDERS.register("toy", BuilderEntry(build, "a toy"))
    try:
        assert check_config(raw)["dataset"]["builder"] == "toy"
    finally:
        BUILDERS.unregister("toy")
