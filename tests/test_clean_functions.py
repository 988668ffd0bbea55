"""The str -> str cleaners, one behaviour each."""

from __future__ import annotations

from pipelines.config import CleanConfig
from pipelines.model import ElementType
from pipelines.stages.clean import (
    clean_text,
    join_hyphenated,
    normalize_dashes,
    normalize_unicode,
    normalize_whitespace,
    repair_mojibake,
    straighten_quotes,
    unwrap_lines,
)
from pipelines.textmetrics import WordList, english_words


def test_ligatures_and_compatibility_forms_via_nfkc() -> None:
    assert normalize_unicode("The beneﬁts of ﬂow") == "The benefits of flow"
    assert normalize_unicode("ｆｕｌｌ") == "full"


def test_real_letters_ae_oe_are_kept() -> None:
    # unstructured's clean_ligatures would make these "coeur" / "aether".
    assert normalize_unicode("cœur æther") == "cœur æther"


def test_soft_hyphen_and_zero_width_removed() -> None:
    assert normalize_unicode("co\u00adoperate\u200b") == "cooperate"


def test_quotes_and_dashes() -> None:
    assert straighten_quotes("“Hi” ‘there’") == "\"Hi\" 'there'"
    assert normalize_dashes("1990–1995 ‐ a−b") == "1990-1995 - a-b"
    assert normalize_dashes("wait—no") == "wait—no"  # em dash is punctuation, kept


def test_mojibake_repaired() -> None:
    assert repair_mojibake("donâ\x80\x99t") == "don't"
    assert repair_mojibake("plain text") == "plain text"


def test_whitespace() -> None:
    assert normalize_whitespace("  a \t  b  \n\n  c\u00a0d ") == "a b\nc d"


def test_dehyphenation_on_evidence() -> None:
    assert join_hyphenated("the capabili-\nties of") == "the capabilities of"
    assert join_hyphenated("a well-\nknown case") == "a well-known case"
    assert join_hyphenated("n-\noctanal") == "n-octanal"


def test_unwrap_lines() -> None:
    assert unwrap_lines("one\ntwo\n three") == "one two three"


def test_clean_text_keeps_table_rows() -> None:
    cfg = CleanConfig()
    assert clean_text("a\tb\nc\td", cfg, ElementType.TABLE) == "a\tb\nc\td"
    assert clean_text("• first point", cfg, ElementType.LIST_ITEM) == "first point"
    assert clean_text("The ﬁrst “line”\nwraps here", cfg) == 'The first "line" wraps here'


def test_dehyphenation_follows_the_documents_own_spelling() -> None:
    vocab = frozenset({"something", "co-operate"})
    assert join_hyphenated("some-\nthing", vocab) == "something"
    assert join_hyphenated("co-\noperate", vocab) == "co-operate"


def test_word_list_membership_is_the_shipped_lists() -> None:
    words = english_words()
    assert len(words) > 100_000
    assert all(w in words for w in ("a", "relationship", "the", "zebra"))
    assert not any(w in words for w in ("", "capabili", "qqqzx", "zzzzzzzzzz"))
    small = WordList(["pear", "apple", "fig"])  # sorted on the way in
    assert [w in small for w in ("apple", "fig", "pear")] == [True, True, True]
    assert [w in small for w in ("", "banana", "zucchini", "pea", 3)] == [False] * 5
