import pytest

from skim.prompts import format_completion, parse_response


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("exon\nintron\ngene", ["exon", "intron", "gene"]),
        ("1. exon\n2. intron\n10. gene", ["exon", "intron", "gene"]),
        ("1) exon\n2) intron", ["exon", "intron"]),
        ("(1) exon\n(2) intron", ["exon", "intron"]),
        ("1: exon\n2 - intron", ["exon", "intron"]),
        (
            "- exon\n* intron\n+ gene\n\u2022 codon\n\u2013 allele",
            ["exon", "intron", "gene", "codon", "allele"],
        ),
        ("a) exon\nb) intron", ["exon", "intron"]),
        ("- [ ] exon\n- [x] intron", ["exon", "intron"]),
        ("\n\nexon\n\n\nintron\n\n", ["exon", "intron"]),
        ("exon\r\nintron\r\n", ["exon", "intron"]),
        ("Query 1: exon\nQ2. intron\n- Label #3 - gene", ["exon", "intron", "gene"]),
        ("Q&A sites\nquery languages", ["Q&A sites", "query languages"]),
    ],
)
def test_list_styles(answer, expected):
    assert parse_response(answer) == expected


def test_headed_sections_and_indented_hierarchy():
    answer = (
        "Sure! Here are the categories:\n\n"
        "#### Immediate categories\n"
        "Rift lakes\n"
        "Lakes of Buryatia\n\n"
        "#### Broader categories\n"
        "Rift lakes\n"
        "  Lakes of Asia\n"
        "  Bodies of water\n"
        "Parent categories:\n"
        "Lakes of Buryatia\n"
        "  Lakes of Russia\n"
    )
    assert parse_response(answer) == [
        "Rift lakes",
        "Lakes of Buryatia",
        "Lakes of Asia",
        "Bodies of water",
        "Lakes of Russia",
    ]


def test_markup_quotes_and_punctuation_are_removed():
    answer = (
        "```\n"
        '1. **exon definition**\n2. "what is an intron"\n3. `codon`\n'
        "4. \u201cgene expression\u201d\n5. _allele_,\n6. Rift lakes.\n7. U.S.\n"
        "```"
    )
    assert parse_response(answer) == [
        "exon definition",
        "what is an intron",
        "codon",
        "gene expression",
        "allele",
        "Rift lakes",
        "U.S.",
    ]


def test_duplicates_are_dropped_case_and_space_insensitively_keeping_the_first():
    answer = "1. Exon  Definition\n2. exon definition\n- EXON DEFINITION\n3. intron"
    assert parse_response(answer) == ["Exon Definition", "intron"]


def test_single_line_lists_are_split_but_a_comma_inside_one_label_is_kept():
    assert parse_response("exon; intron; gene") == ["exon", "intron", "gene"]
    assert parse_response("exon, intron, gene") == ["exon", "intron", "gene"]
    one = "Populated places in North Western Province, Sri Lanka"
    assert parse_response(one) == [one]


def test_nothing_to_parse():
    assert parse_response("") == []
    assert parse_response("### Queries\n\n---\n") == []
    assert parse_response("Here are the queries:") == []


def test_an_item_that_starts_like_chatter_is_kept_when_it_is_a_list_item():
    assert parse_response("1. here is the news\n2. sure fire") == ["here is the news", "sure fire"]


def test_format_completion_round_trips():
    texts = ["exon definition", "what is an  intron", "gene"]
    completion = format_completion(texts)
    assert completion == "exon definition\nwhat is an intron\ngene"
    assert parse_response(completion) == ["exon definition", "what is an intron", "gene"]
