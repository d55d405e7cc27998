"""The function table: JMESPath's built-ins plus every Kyverno function we run.

`KyvernoFunctions` stacks the family mixins on top of the library's
`Functions`, whose metaclass registers every `_func_<name>` method, so a
Kyverno function with a built-in's name (`sum`) replaces the built-in, as it
does in Kyverno. `KYVERNO_FUNCTIONS` lists what Kyverno itself registers
(pkg/engine/jmespath/functions.go and time.go) and `OMITTED` says why the
few we leave out are missing; the tests hold the three in step.
"""

from __future__ import annotations

from jmespath import functions as jp_functions

from bot.policy.jmespath.arithmetic_functions import ArithmeticFunctions
from bot.policy.jmespath.encoding_functions import EncodingFunctions
from bot.policy.jmespath.object_functions import ObjectFunctions
from bot.policy.jmespath.reference_functions import ReferenceFunctions
from bot.policy.jmespath.regex_functions import RegexFunctions
from bot.policy.jmespath.standard_functions import StandardFunctions
from bot.policy.jmespath.string_functions import StringFunctions
from bot.policy.jmespath.time_functions import TimeFunctions

KYVERNO_FUNCTIONS = (
    "compare", "equal_fold", "replace", "replace_all", "to_upper", "to_lower",
    "trim", "trim_prefix", "split", "regex_replace_all", "regex_replace_all_literal",
    "regex_match", "pattern_match", "label_match", "to_boolean", "add", "sum",
    "subtract", "multiply", "divide", "modulo", "round", "base64_decode",
    "base64_encode", "time_since", "time_now", "time_now_utc", "path_canonicalize",
    "truncate", "semver_compare", "parse_json", "parse_yaml", "lookup", "items",
    "object_from_lists", "random", "x509_decode", "time_to_cron", "time_add",
    "time_parse", "time_utc", "time_diff", "time_before", "time_after",
    "time_between", "time_truncate", "image_normalize", "is_external_url",
    "sha256", "sha1", "md5",
)  # fmt: skip

OMITTED = {
    "random": (
        "its output is random by design, so the bot can never reproduce the value "
        "the cluster generated; evaluating it would explain a rejection with a "
        "value that never existed"
    ),
    "x509_decode": (
        "decoding certificates needs the `cryptography` package, which is not a "
        "dependency of Policybot"
    ),
}


# NB: the library ships no type hints, hence the ignore on its base class.
class KyvernoFunctions(
    ArithmeticFunctions,
    EncodingFunctions,
    ObjectFunctions,
    ReferenceFunctions,
    RegexFunctions,
    StandardFunctions,
    StringFunctions,
    TimeFunctions,
    jp_functions.Functions,  # type: ignore[misc]
):
    """Built-in JMESPath functions with Kyverno's added and replaced ones."""


def implemented() -> frozenset[str]:
    """Names of every function an expression may call."""
    return frozenset(KyvernoFunctions.FUNCTION_TABLE)
