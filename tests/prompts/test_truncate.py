import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

from skim.errors import SkimError
from skim.prompts import count_tokens, truncate_metadata

TEXT = "The exon is  a coding\tpart of a gene, kept in mRNA."


def test_word_approximation_keeps_three_words_per_four_tokens():
    assert truncate_metadata(TEXT, 4) == "The exon is"
    assert truncate_metadata(TEXT, 8) == "The exon is  a coding\tpart"  # whitespace kept as is
    assert truncate_metadata(TEXT, 1) == "The"  # at least one word
    assert truncate_metadata(TEXT, 100) == TEXT
    assert truncate_metadata(TEXT, None) == TEXT
    assert truncate_metadata("", 5) == ""


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_budget(bad):
    with pytest.raises(SkimError, match="positive integer"):
        truncate_metadata(TEXT, bad)


def _tokenizer() -> Tokenizer:
    words = ["[UNK]", "The", "exon", "is", "a", "coding", "part", "of", "gene", ",", "kept", "in"]
    tok = Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    return tok


def test_tokenizer_cuts_after_the_last_kept_token():
    tok = _tokenizer()  # "gene" "," are two tokens: punctuation counts
    assert truncate_metadata(TEXT, 3, tok) == "The exon is"
    assert truncate_metadata(TEXT, 10, tok) == "The exon is  a coding\tpart of a gene,"
    assert truncate_metadata(TEXT, 500, tok) == TEXT


def test_transformers_fast_tokenizer_gives_the_same_cut():
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_object=_tokenizer(), unk_token="[UNK]")
    assert truncate_metadata(TEXT, 10, fast) == "The exon is  a coding\tpart of a gene,"


def test_count_tokens_by_the_tokenizer_or_by_words_at_the_truncation_rate():
    from transformers import PreTrainedTokenizerFast

    # The exon is a coding part of a gene , kept in mRNA . -> 14 tokens, 12 words
    assert count_tokens(TEXT, _tokenizer()) == 14
    assert count_tokens(TEXT, PreTrainedTokenizerFast(tokenizer_object=_tokenizer())) == 14
    assert count_tokens(TEXT) == 16  # 12 / 0.75
    assert count_tokens("one two three four five") == 7  # ceil(6.67)
    assert count_tokens("") == 0


def test_unknown_tokenizer_name_is_a_user_error(tmp_path):
    with pytest.raises(SkimError, match="could not be loaded"):
        truncate_metadata(TEXT, 5, str(tmp_path / "no-such-tokenizer"))


def test_tokenizer_by_path(tmp_path):
    from transformers import PreTrainedTokenizerFast

    PreTrainedTokenizerFast(tokenizer_object=_tokenizer(), unk_token="[UNK]").save_pretrained(
        tmp_path / "tok"
    )
    assert truncate_metadata(TEXT, 3, str(tmp_path / "tok")) == "The exon is"


class _SlowTokenizer:
    """A tokenizer without offsets (like transformers' pure-Python ones): one id per word."""

    def __call__(self, text, add_special_tokens=True, return_offsets_mapping=False):
        if return_offsets_mapping:
            raise NotImplementedError
        self.words = text.split()
        return {"input_ids": list(range(len(self.words)))}

    def decode(self, ids, skip_special_tokens=False):
        return " ".join(self.words[i] for i in ids)


def test_tokenizer_without_offsets_decodes_a_prefix():
    assert truncate_metadata("The exon is a coding part", 3, _SlowTokenizer()) == "The exon is"
    assert truncate_metadata("The exon", 3, _SlowTokenizer()) == "The exon"
