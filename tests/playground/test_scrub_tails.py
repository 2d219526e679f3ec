"""Scrubber: a text that ends part-way through a secret (a stream still arriving, or cut, mid-key)
has that beginning redacted, the longest one of TAIL_MIN or more characters, for any secret and text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.settings.scrub import REDACTED, TAIL_MIN, Scrubber

ALPHABET = "ab-_kK9\n"


def longest_tail(scrub: Scrubber, text: str) -> str:
    """The rule, spelt out: the first secret (longest first) whose 8+-character proper beginning
    ends the text, its longest such beginning redacted."""
    for secret in scrub.secrets:
        for length in range(min(len(secret) - 1, len(text)), TAIL_MIN - 1, -1):
            if text.endswith(secret[:length]):
                return text[:-length] + REDACTED
    return text


@settings(max_examples=400, deadline=None)
@given(
    secrets=st.lists(st.text(alphabet=ALPHABET, min_size=4, max_size=24), min_size=1, max_size=3),
    text=st.text(alphabet=ALPHABET + "x ", max_size=40),
    cut=st.integers(0, 24),
    which=st.integers(0, 2),
)
def test_the_longest_beginning_of_a_secret_ending_a_text_is_redacted(secrets: list[str], text: str, cut: int, which: int) -> None:
    scrub = Scrubber(secrets)
    if scrub.secrets:
        text += scrub.secrets[which % len(scrub.secrets)][:cut]  # often a text cut mid-key
    assert scrub._cut_tail(text) == longest_tail(scrub, text)


def test_short_beginnings_and_whole_secrets_are_left_to_the_other_rules() -> None:
    scrub = Scrubber(["sk-abcdefghij"])
    assert scrub("ends with sk-abcd") == "ends with sk-abcd"  # 7 characters: could be prose
    assert scrub("ends with sk-abcdefgh") == "ends with " + REDACTED
    assert scrub("the key sk-abcdefghij") == "the key " + REDACTED  # whole: replaced, not cut
