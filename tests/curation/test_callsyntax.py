"""ToolACE bracket call syntax: names with spaces, nesting, unicode, and nothing ever evaluated."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rest.curation.callsyntax import CallSyntaxError, parse_call_list


def test_names_with_spaces_and_parallel_calls():
    text = '[Get Stock Cash Flow Statement(symbol="AAPL"), Convert Currency(amount=100.0, from="USD", to="EUR")]'
    assert parse_call_list(text) == [
        {"name": "Get Stock Cash Flow Statement", "parameters": {"symbol": "AAPL"}},
        {"name": "Convert Currency", "parameters": {"amount": 100.0, "from": "USD", "to": "EUR"}},
    ]


def test_nested_arguments_literals_and_unicode():
    text = ("[Météo(city='Zürich', opts={\"days\": [1, 2], \"alerts\": true, \"x\": null}, "
            "flag=False, n=-3, none=None, t=(1, 2), s=\"a, b=(c)\")]")
    (call,) = parse_call_list(text)
    assert call == {"name": "Météo", "parameters": {
        "city": "Zürich", "opts": {"days": [1, 2], "alerts": True, "x": None},
        "flag": False, "n": -3, "none": None, "t": [1, 2], "s": "a, b=(c)"}}


def test_empty_arguments_and_trailing_comma():
    assert parse_call_list("[Country Information API()]") == [{"name": "Country Information API", "parameters": {}}]
    assert parse_call_list("[f(a=1,)]") == [{"name": "f", "parameters": {"a": 1}}]


def test_known_names_may_contain_parentheses():
    text = '[Forecast (v2)(city="Oslo")]'
    with pytest.raises(CallSyntaxError):
        parse_call_list(text)
    assert parse_call_list(text, known_names=["Forecast (v2)"]) == [
        {"name": "Forecast (v2)", "parameters": {"city": "Oslo"}}]


@pytest.mark.parametrize("text", [
    'Convert Currency(amount=1)',            # no brackets
    '[Convert Currency(amount=1]',           # unbalanced
    '[f(x="unclosed)]',                      # unclosed string
    '[f("positional")]',                     # not key=value
    '[f(a=1, a=2)]',                         # duplicate argument
    '[f(a=1) g(b=2)]',                       # missing comma
    '[f(a=float("nan"))]',                   # a call is not a literal
    '[f(a=__import__("os").system("echo pwned"))]',
    '[f(a=x.y)]',
    '[f(a=1e999)]',                          # not finite
    '[]',
])
def test_malformed_call_lists_raise(text):
    with pytest.raises(CallSyntaxError):
        parse_call_list(text)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('[](){}"\',=:. _aZ1-\\é')), max_size=60))
def test_arbitrary_text_raises_only_call_syntax_errors(text):
    try:
        calls = parse_call_list(text)
    except CallSyntaxError:
        return
    assert all(isinstance(c["name"], str) and isinstance(c["parameters"], dict) for c in calls)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False, width=32),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)
names = st.text(alphabet=st.sampled_from(list("AbcZ _-.0")), min_size=1, max_size=12).map(str.strip).filter(bool)
keys = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(names, st.dictionaries(keys, json_values, max_size=4)), min_size=1, max_size=3))
def test_round_trip_from_json_values(calls):
    """Calls written in the bracket syntax (JSON spelling of values) parse back unchanged."""
    text = "[" + ", ".join(
        f"{n}(" + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items()) + ")"
        for n, args in calls) + "]"
    assert parse_call_list(text) == [{"name": n, "parameters": args} for n, args in calls]
