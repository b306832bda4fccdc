"""Structured model output: pull the JSON object out of a reply and validate it.

Models wrap JSON in prose or code fences now and then; we take the outermost object, validate
it against a pydantic schema, and reject (log, never store) anything that does not fit.
"""

from __future__ import annotations

import json
import logging
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)


class InvalidOutput(Exception):
    """The model's answer did not match the expected structure."""


def parse_model_json(text: str, schema: type[T]) -> T:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise InvalidOutput("no JSON object in the model's answer")
    try:
        return schema.model_validate(json.loads(text[start : end + 1]))
    except json.JSONDecodeError as exc:
        raise InvalidOutput(f"not JSON: {exc.msg} at {exc.pos}") from exc
    except ValidationError as exc:
        # Where and why, never the values: the answer may quote the person, and this text
        # is logged and kept with the model call.
        raise InvalidOutput(_where_and_why(exc)) from exc


def _where_and_why(exc: ValidationError) -> str:
    problems = exc.errors(include_input=False, include_url=False, include_context=False)
    return "; ".join(
        f"{'.'.join(map(str, problem['loc'])) or 'answer'}: {problem['msg']}"
        for problem in problems
    )[:500]


def _clean(value: str) -> str:
    return " ".join(value.split())


class ProposedItem(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    topics: list[str] = Field(default_factory=list, max_length=8)
    reason: str = Field(default="", max_length=300)

    @field_validator("title", "reason")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return _clean(value)

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        return [_clean(t).lower()[:60] for t in value if t.strip()]


class Proposal(BaseModel):
    items: list[ProposedItem] = Field(min_length=1, max_length=20)


class SummaryInterest(BaseModel):
    topic: str = Field(min_length=1, max_length=100)
    strength: Literal["high", "medium", "low"]


class ProfileSummaryOutput(BaseModel):
    interests: list[SummaryInterest] = Field(default_factory=list, max_length=10)
    style: str = Field(default="", max_length=200)
    notes: list[str] = Field(default_factory=list, max_length=5)

    @field_validator("notes")
    @classmethod
    def _short_notes(cls, value: list[str]) -> list[str]:
        if any(len(note) > 150 for note in value):
            raise ValueError("notes must be short")
        return [_clean(n) for n in value if n.strip()]
