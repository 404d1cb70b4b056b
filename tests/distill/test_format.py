from skim.distill import format_completion, format_prompt, parse_completion


def test_prompt_has_item_and_metadata_and_ends_where_output_begins():
    prompt = format_prompt("dog", "a domesticated\ncanine", "queries-to-labels")
    assert prompt == (
        "task: queries-to-labels\nitem: dog\nmetadata: a domesticated canine\noutput:\n"
    )


def test_no_metadata_leaves_metadata_out():
    prompt = format_prompt("dog", "secret gloss", "queries-to-labels", no_metadata=True)
    assert "secret" not in prompt and "metadata" not in prompt


def test_metadata_is_cut_to_word_budget():
    prompt = format_prompt("x", "one two three four", "labels-to-queries", max_metadata_words=2)
    assert "metadata: one two\n" in prompt


def test_completion_round_trips_through_parser():
    texts = ["canine", "domestic animal"]
    assert parse_completion(format_completion(texts)) == texts


def test_parser_cleans_lists_and_duplicates():
    raw = "Labels:\n1. Canine\n- canine\n* domestic  animal\n\n2) pet\n"
    assert parse_completion(raw) == ["Canine", "domestic animal", "pet"]
    assert parse_completion(raw, max_texts=2) == ["Canine", "domestic animal"]
