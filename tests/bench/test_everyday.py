"""The everyday-chat benchmark's labelled lines (bench/everyday.py)."""

import re

from bench.everyday import everyday_lines


def test_the_lines_load_with_their_labels_and_small_talk():
    lines = everyday_lines()
    assert len(lines) == 181
    assert sum(1 for line in lines if not line.wanted) == 40  # small talk
    assert all(line.text.strip() and "\t" not in line.text for line in lines)


def test_every_label_is_made_of_its_lines_own_words():
    """A label asks only for what the line says ("succulent" from "succulents"), never for
    knowledge no extractor here has ("fermentation" for "made kimchi")."""
    for line in everyday_lines():
        words = re.findall(r"[\w']+", line.text.lower())
        for label in line.wanted:
            assert label == label.lower() and line.wanted.count(label) == 1, line
            for part in label.split():
                assert any(w == part or (w.startswith(part) and len(w) - len(part) <= 2)
                           for w in words), (label, line.text)
