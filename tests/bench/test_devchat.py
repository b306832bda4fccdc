"""The developer-chat benchmark's matching rule (bench/devchat.py)."""

from bench.devchat import LINES, _covers


def test_a_wanted_topic_is_covered_by_a_whole_word_sequence_only():
    assert _covers("flaky integration test", "integration test")
    assert _covers("terraform plan", "terraform")
    assert not _covers("testing", "test")  # words, not characters
    assert not _covers("postgres", "postgresql")


def test_labels_are_lower_case_and_distinct_per_line():
    for line in LINES:
        labels = (*line.wanted, *line.also)
        assert all(label == label.lower() for label in labels), line
        assert len(set(labels)) == len(labels), line
