"""app/text.py: the normalisation behind the duplicate hashes, and what is storable on both databases."""

import re
import unicodedata

from app.text import content_hash, input_hash, normalise, pair_hashes, storable, storable_json


def test_normalise_is_nfkc_casefold_and_collapsed_whitespace():
    assert normalise("  Ｈｅｌｌｏ\t\tWORLD\n\u00a0straße \x1c end ") == "hello world strasse end"
    # The same as the regex definition, on every whitespace character Python knows.
    whitespace = "".join(chr(c) for c in range(0x3100) if chr(c).isspace())
    text = f"a{whitespace}b{whitespace}"
    assert normalise(text) == re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip() == "a b"


def test_pair_hashes_match_the_single_hashes():
    assert pair_hashes("sys", "In", "Out") == (input_hash("In"), content_hash("sys", "In", "Out"))
    assert pair_hashes(None, "x", "y") == pair_hashes("", "x", "y")
    assert pair_hashes(None, "Same  input", "y")[0] == pair_hashes(None, "same input", "z")[0]


def test_storable_replaces_nul_and_lone_surrogates_only():
    assert storable("plain ascii") == "plain ascii"
    assert storable("a\x00b") == "a\ufffdb"
    assert storable("x\ud800y\udfffz") == "x\ufffdy\ufffdz"
    assert storable("emoji 😀 and e\u0301") == "emoji 😀 and e\u0301"
    assert storable_json({"k\x00": ["v\ud800", 1, None]}) == {"k\ufffd": ["v\ufffd", 1, None]}
