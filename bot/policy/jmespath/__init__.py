"""JMESPath as Kyverno evaluates it: the standard language, Kyverno's custom
functions, and the rules of Kyverno's go-jmespath fork.

Use `search(expression, data)` for one-off queries and
`compile_expression(expression).search(data)` to reuse a parsed expression
(compilation is cached either way). Every failure raises `JMESPathError`,
whose message names the expression. Pass `missing_key_errors=True` to get
Kyverno's "Unknown key ... in path" failures (`KeyNotFoundError`) instead of
nulls. docs/jmespath-functions.md lists the functions and the differences
from standard JMESPath.

This package evaluates expressions only; finding the `{{ ... }}` in a policy
and substituting results is the engine's job.
"""

from bot.policy.jmespath.errors import JMESPathError, KeyNotFoundError
from bot.policy.jmespath.expressions import ParsedExpression, compile_expression, search
from bot.policy.jmespath.functions import KYVERNO_FUNCTIONS, OMITTED, implemented

__all__ = [
    "KYVERNO_FUNCTIONS",
    "OMITTED",
    "JMESPathError",
    "KeyNotFoundError",
    "ParsedExpression",
    "compile_expression",
    "implemented",
    "search",
]
