import argparse

import pytest

from skim.errors import SkimError
from skim.registry import Registry, load


def test_a_registry_is_the_live_list_of_names_in_registration_order():
    colours = Registry("colour")
    colours.register("red", 1)
    colours.register("blue", 2)
    assert list(colours) == ["red", "blue"] and colours["blue"] == 2 and "red" in colours
    assert ", ".join(colours) == "red, blue"
    assert colours.help_text() == "red: ; blue: "  # entries without a help attribute
    with pytest.raises(SkimError, match="unknown colour 'green'; choose one of red, blue"):
        colours.lookup("green")
    with pytest.raises(ValueError, match="already registered"):
        colours.register("red", 3)
    parser = argparse.ArgumentParser()
    parser.add_argument("--colour", choices=colours)
    colours.register("green", 3)  # registered after the parser was built: still a choice
    assert parser.parse_args(["--colour", "green"]).colour == "green"
    colours.unregister("green")
    assert list(colours) == ["red", "blue"]


def test_load_takes_a_callable_or_a_lazy_reference():
    assert load(len) is len
    assert load("os.path:join")("a", "b").replace("\\", "/") == "a/b"
