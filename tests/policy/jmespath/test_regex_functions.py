"""regex_match, regex_replace_all(_literal) and pattern_match, with Go's rules."""

from __future__ import annotations

import pytest

from bot.policy.jmespath import JMESPathError, regexes, search


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("regex_match('12.*', 'hgf\\'b1a2r\\'b12g')", True),
        ("regex_match('^[1-7]$', `1`)", True),
        ("regex_match('^[1-7]$', '1')", True),
        ("regex_match('^[1-7]$', `8`)", False),
        ("regex_match('12.*', abs(`-12`))", True),
        ("regex_match('^abc$', 'abc\n')", False),
        ("regex_match('^abc\\z', 'abc')", True),
        ("regex_match('(?m)^abc$', 'abc\nxyz')", True),
        ("regex_match('^\\d+$', '\u0663')", False),
        ("regex_match('^[[:alpha:]]+$', 'abcXYZ')", True),
        ("regex_match('^[[:digit:]]+$', 'abc')", False),
        ("regex_match('\\Qa.b\\E', 'a.b')", True),
        ("regex_match('\\Qa.b\\E', 'axb')", False),
        ("regex_match('^[1.5]+$', `1.5`)", True),
        ("regex_match('^1e\\+21$', `1e21`)", False),
        ("regex_match('^123456790$', `123456789`)", True),
        (
            "regex_replace_all('([Hh]e|G)l', 'Hello world, helworldlo', '${2}G')",
            "Glo world, Gworldlo",
        ),
        ("regex_replace_all('(a)(b)', 'ab', '$2$1')", "ba"),
        ("regex_replace_all('(?P<first>a)', 'ab', '<${first}>')", "<a>b"),
        ("regex_replace_all('(?<first>a)', 'ab', '<$first>')", "<a>b"),
        ("regex_replace_all('a', 'aa', '$$')", "$$"),
        ("regex_replace_all('a', 'aa', '$1x')", ""),
        ("regex_replace_all('a', 'aa', '${')", "${${"),
        ("regex_replace_all('x*', 'abxd', '-')", "-a-b-d-"),
        ("regex_replace_all('h.*', '2160h0m0s', '')", "2160"),
        ("regex_replace_all('^', 'abc', '>')", ">abc"),
        ("regex_replace_all('[0-9]', `1234`, 'n')", "nnnn"),
        (
            "regex_replace_all_literal('[Hh]el?', 'Hello world, helworldlo', 'G')",
            "Glo world, Gworldlo",
        ),
        ("regex_replace_all_literal('(a)', 'ab', '$1')", "$1b"),
        ("pattern_match('prefix-*', 'prefix-foo')", True),
        ("pattern_match('12*', abs(`-12`))", True),
        ("pattern_match('158-7?-4*', '158-73-417')", True),
        ("pattern_match('158-7?-4*', '158-7-417')", False),
        ("pattern_match('', '')", True),
        ("pattern_match('a[b]', 'a[b]')", True),
    ],
)
def test_regex_function_matches_go(expression: str, expected: object) -> None:
    assert search(expression, {}) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("regex_match('(', 'x')", "JMESPath function 'regex_match': error parsing regexp"),
        ("regex_replace_all('[', 'x', 'y')", "error parsing regexp"),
        ("regex_match('[[:^alpha:]]', 'x')", "negated POSIX class"),
        ("regex_match('a', `true`)", "invalid type"),
        ("pattern_match('a', `[]`)", "invalid type"),
        ("regex_replace_all('a', 'b', `null`)", "invalid type"),
    ],
)
def test_regex_function_rejects_bad_input(expression: str, message: str) -> None:
    with pytest.raises(JMESPathError) as caught:
        search(expression, {})

    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("pattern", "translated"),
    [
        ("^a$", "^a\\Z"),
        ("(?m)^a$", "(?m)^a$"),
        ("[$]", "[$]"),
        ("a\\$", "a\\$"),
        ("[]a]", "[\\]a]"),
        ("\\x{41}", "\\U00000041"),
        ("(?<n>x)(?<=y)", "(?P<n>x)(?<=y)"),
    ],
)
def test_translate_rewrites_go_only_syntax(pattern: str, translated: str) -> None:
    assert regexes.translate(pattern) == translated
