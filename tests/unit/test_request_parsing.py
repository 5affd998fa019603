"""Request syntax of the OAuth endpoints: form or flat JSON, each parameter once."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl

import pytest

from chalicelib.errors import InvalidRequest
from chalicelib.oauth.request import (
    FORM,
    JSON,
    MAX_BODY_BYTES,
    MAX_FIELDS,
    IncomingRequest,
    Parameters,
    parse_parameters,
)


def parse(body: bytes | str, content_type: str | None = FORM) -> Parameters:
    raw = body.encode() if isinstance(body, str) else body
    return parse_parameters(IncomingRequest(body=raw, content_type=content_type))


# -- form ---------------------------------------------------------------------


def test_parses_form_body_decoding_plus_and_percent_escapes() -> None:
    params = parse("grant_type=client_credentials&scope=a+b%3Ac&name=Zo%C3%AB")

    assert params.single("grant_type") == "client_credentials"
    assert params.single("scope") == "a b:c"
    assert params.single("name") == "Zoë"
    assert params.single("missing") is None


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=UTF-8",
        'Application/X-WWW-Form-Urlencoded;charset="utf-8"',
        "application/x-www-form-urlencoded; charset=utf8",
    ],
)
def test_accepts_utf8_charset_parameter_in_any_case(content_type: str) -> None:
    assert parse("a=1", content_type).single("a") == "1"


def test_rejects_charset_other_than_utf8_with_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        parse("a=1", "application/x-www-form-urlencoded; charset=iso-8859-1")


def test_rejects_repeated_parameters_with_invalid_request_when_read_as_single() -> None:
    params = parse("scope=a&scope=b&resource=x&resource=y")

    with pytest.raises(InvalidRequest):
        params.single("scope")
    assert params.all("resource") == ("x", "y")


def test_repeated_parameter_is_invalid_even_if_one_value_is_empty() -> None:
    with pytest.raises(InvalidRequest):
        parse("scope=&scope=a").single("scope")


def test_empty_value_counts_as_omitted() -> None:
    params = parse("scope=&audience=")

    assert params.single("scope") is None
    assert params.all("audience") == ()


@pytest.mark.parametrize("body", ["a&b", "a=1&b", "=&&", "a=%FF", "a=%ED%A0%80"])
def test_rejects_malformed_form_or_invalid_utf8_escapes_with_invalid_request(body: str) -> None:
    with pytest.raises(InvalidRequest):
        parse(body)


def test_rejects_form_body_that_is_not_utf8_with_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        parse(b"name=Zo\xeb")


def test_rejects_form_with_too_many_fields_with_invalid_request() -> None:
    body = "&".join(f"p{i}=v" for i in range(MAX_FIELDS + 1))
    assert len(parse("&".join(f"p{i}=v" for i in range(MAX_FIELDS))).values) == MAX_FIELDS

    with pytest.raises(InvalidRequest):
        parse(body)


def _as_parse_qsl_reads_it(body: bytes) -> dict[str, tuple[str, ...]] | None:
    """The parameters the standard library's strict parser finds; None if it refuses."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text),
                          max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    collected: dict[str, list[str]] = {}
    for name, value in pairs:
        collected.setdefault(name, []).append(value)
    return {name: tuple(values) for name, values in collected.items()}


def test_form_parser_answers_as_the_standard_librarys_strict_parse_qsl() -> None:
    # GIVEN bodies built from the characters that matter to the form encoding (separators,
    # escapes valid and not, UTF-8 and not), including more fields than allowed
    pieces = ["a", "b", "=", "&", "+", "%", "%2", "%20", "%3D", "%26", "%2B", "%C3%A9",
              "%FF", "%ED%A0%80", "%zz", "é", "<ff>", "grant_type=client_credentials"]
    rng = random.Random(15)
    bodies = [b"", b"&" * MAX_FIELDS, b"a=&" * (MAX_FIELDS - 1) + b"a="]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        bodies.append(text.encode("utf-8").replace(b"<ff>", b"\xff"))  # not UTF-8
    for body in bodies:
        expected = _as_parse_qsl_reads_it(body)
        # WHEN our parser reads it THEN it finds the same parameters, or refuses it too
        if expected is None:
            with pytest.raises(InvalidRequest):
                parse(body)
        else:
            assert dict(parse(body).values) == expected, body


# -- JSON ---------------------------------------------------------------------


def test_parses_flat_json_object_of_strings() -> None:
    params = parse('{"grant_type": "client_credentials", "name": "Zo\\u00eb"}', JSON)

    assert params.single("grant_type") == "client_credentials"
    assert params.single("name") == "Zoë"


def test_accepts_json_with_charset_parameter() -> None:
    assert parse('{"a": "1"}', "application/json; charset=utf-8").single("a") == "1"


def test_json_null_and_empty_string_count_as_omitted() -> None:
    params = parse('{"scope": null, "audience": ""}', JSON)

    assert params.single("scope") is None
    assert params.single("audience") is None
    assert "scope" not in params.values


@pytest.mark.parametrize("value", ["1", "true", "1.5", '["a"]', '{"b": "c"}'])
def test_rejects_json_non_string_value_with_invalid_request(value: str) -> None:
    params = parse(f'{{"scope": {value}}}', JSON)
    with pytest.raises(InvalidRequest):
        params.single("scope")


def test_ignores_unknown_json_members_whatever_their_type() -> None:
    params = parse('{"grant_type": "client_credentials", "extra": {"a": [1, 2]}}', JSON)
    assert params.single("grant_type") == "client_credentials"


@pytest.mark.parametrize("body", ["[]", '["a"]', '"a"', "1", "null", "true"])
def test_rejects_json_top_level_array_or_scalar_with_invalid_request(body: str) -> None:
    with pytest.raises(InvalidRequest):
        parse(body, JSON)


def test_accepts_empty_json_object_and_empty_json_body() -> None:
    assert parse("{}", JSON).values == {}
    assert parse(b"", JSON).values == {}
    assert parse(b"  \n", JSON).values == {}


def test_duplicate_json_keys_count_as_repeated_parameter() -> None:
    params = parse('{"scope": "a", "scope": "b"}', JSON)

    with pytest.raises(InvalidRequest):
        params.single("scope")


@pytest.mark.parametrize("body", [b"{", b'{"a": "1",}', b"{'a': '1'}", b'{"a": "\xff"}'])
def test_rejects_malformed_json_or_invalid_utf8_with_invalid_request(body: bytes) -> None:
    with pytest.raises(InvalidRequest):
        parse(body, JSON)


def test_rejects_deeply_nested_json_with_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        parse('{"a": ' + "[" * 5000 + "]" * 5000 + "}", JSON)  # under 16 KiB


def test_rejects_json_with_too_many_fields_with_invalid_request() -> None:
    body = "{" + ",".join(f'"p{i}": "v"' for i in range(MAX_FIELDS + 1)) + "}"

    with pytest.raises(InvalidRequest):
        parse(body, JSON)


def test_rejects_json_string_with_lone_surrogate_escape_with_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        parse('{"client_secret": "\\ud800"}', JSON)


# -- body and content type ------------------------------------------------------------


def test_rejects_body_over_16_kib_with_invalid_request() -> None:
    at_limit = "a=" + "x" * (MAX_BODY_BYTES - 2)
    assert len(parse(at_limit).single("a") or "") == MAX_BODY_BYTES - 2

    with pytest.raises(InvalidRequest):
        parse(at_limit + "x")


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data", "application/xml"])
def test_rejects_unsupported_content_type_with_invalid_request(content_type: str) -> None:
    with pytest.raises(InvalidRequest):
        parse("a=1", content_type)


@pytest.mark.parametrize("content_type", [None, "", "  "])
def test_missing_content_type_with_empty_body_gives_no_parameters(
    content_type: str | None,
) -> None:
    assert parse(b"", content_type).values == {}


@pytest.mark.parametrize("content_type", [None, ""])
def test_missing_content_type_with_a_body_is_invalid_request(content_type: str | None) -> None:
    with pytest.raises(InvalidRequest):
        parse("grant_type=client_credentials", content_type)
