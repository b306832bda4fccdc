"""A model's structured answers: what a rejection says, and what it must not."""

from __future__ import annotations

import json

import pytest

from bot.structured import InvalidOutput, Proposal, parse_model_json


def test_a_rejected_answer_says_where_and_why_without_quoting_it():
    """The rejection is logged and kept with the model call; it quoted the answer (pydantic's
    ``input_value``), which may quote the person."""
    answer = json.dumps({"items": [{"title": "my landlord Quokka Xylander " * 20}]})
    with pytest.raises(InvalidOutput) as raised:
        parse_model_json(answer, Proposal)
    message = str(raised.value)
    assert "Xylander" not in message
    assert message.startswith("items.0.title: String should have at most 200 characters")


def test_an_answer_that_is_not_json_is_named_without_its_text():
    with pytest.raises(InvalidOutput) as raised:
        parse_model_json("{Quokka Xylander}", Proposal)
    assert "Xylander" not in str(raised.value) and "not JSON" in str(raised.value)
