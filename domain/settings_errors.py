"""One plain line for a bad setting: what is wrong with the value, without pydantic's wording."""

from __future__ import annotations

from typing import Any

# pydantic error type → plain words ({…} filled from the error's context)
PLAIN = {
    "missing": "missing",
    "extra_forbidden": "unknown key (typo?)",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text in quotes",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "dict_type": "must be a section of keys",
    "model_type": "must be a section of keys",
    "model_attributes_type": "must be a section of keys",
    "list_type": "must be a list such as [1, 2]",
    "string_too_short": "must be at least {min_length} characters",
    "string_too_long": "must be at most {max_length} characters",
}
OWN_WORDS = ("value_error", "assertion_error")  # our validators' own messages: shown as they are
PREFIXES = ("Value error, ", "Assertion failed, ", "Input should be ")
SHOWN_INPUT_CHARS = 40


def plain_message(error: dict[str, Any]) -> str:
    """The reason of one pydantic error in plain words, on one line."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind in OWN_WORDS and ctx.get("error") is not None:
        text = str(ctx["error"])
    elif kind in PLAIN:
        try:
            text = PLAIN[kind].format(**ctx)
        except (KeyError, IndexError):
            text = PLAIN[kind].split(" {")[0]
        if kind not in ("missing", "extra_forbidden"):
            text += _got(error.get("input"))
    else:
        text = str(error.get("msg", "invalid value"))
        for prefix in PREFIXES:
            if text.startswith(prefix):
                text = ("must be " if prefix == "Input should be " else "") + text[len(prefix):]
    return " ".join(text.split())


def _got(value: Any) -> str:
    """' (got "abc")' for a short scalar input, else nothing."""
    if isinstance(value, bool):
        return f" (got {str(value).lower()})"
    if isinstance(value, int | float):
        return f" (got {value})"
    if isinstance(value, str) and len(value) <= SHOWN_INPUT_CHARS:
        return f' (got "{value}")'
    return ""
