"""Each extension function, through the real CEL environment, as a true/false table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.policy.cel import evaluation, lookups

OBJECT = {
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"replicas": 3, "containers": [{"name": "a", "image": "nginx:1.25"}]},
}

TRUE_EXPRESSIONS = [
    # strings (the library's extension, plus our merged overloads)
    "'ABC'.lowerAscii() == 'abc'",
    "'abc'.upperAscii() == 'ABC'",
    "'a,b,c'.split(',') == ['a', 'b', 'c']",
    "['a', 'b'].join('-') == 'a-b'",
    "'  x '.trim() == 'x'",
    "'banana'.indexOf('an') == 1 && 'banana'.lastIndexOf('an') == 3",
    "'hello'.substring(1, 3) == 'el'",
    "'hello'.charAt(1) == 'e'",
    "'a-b'.replace('-', '_') == 'a_b'",
    "'%s has %d'.format(['web', 3]) == 'web has 3'",
    # regex
    "'abc123def'.find('[0-9]+') == '123'",
    "'abc'.find('[0-9]+') == ''",
    "'a1b22c333'.findAll('[0-9]+') == ['1', '22', '333']",
    "'a1b22c333'.findAll('[0-9]+', 2) == ['1', '22']",
    "'nginx:1.25'.matches('^nginx:')",
    # lists
    "[1, 2, 3].isSorted() && !['b', 'a'].isSorted()",
    "[1, 2, 3].sum() == 6 && [1.5, 2.5].sum() == 4.0",
    "[3, 1, 2].min() == 1 && [3, 1, 2].max() == 3",
    "[1, 2, 1].indexOf(1) == 0 && [1, 2, 1].lastIndexOf(1) == 2",
    "[1, 2].indexOf(3) == -1",
    "[1, 2, 3, 4].slice(1, 3) == [2, 3]",
    "[[1], [2, [3]]].flatten() == [1, 2, [3]]",
    "[[1], [2, [3]]].flatten(2) == [1, 2, 3]",
    "[1, 2, 1, 3].distinct() == [1, 2, 3]",
    "[3, 1, 2].sort() == [1, 2, 3]",
    "[1, 2].reverse() == [2, 1] && 'ab'.reverse() == 'ba'",
    "lists.range(3) == [0, 1, 2]",
    "sets.contains([1, 2, 3], [1, 3]) && !sets.contains([1], [2])",
    "sets.equivalent([1, 2], [2, 1]) && sets.intersects([1, 2], [2, 5])",
    # quantities
    "quantity('1Gi').isGreaterThan(quantity('512Mi'))",
    "quantity('100m').isLessThan(quantity('1'))",
    "quantity('1').compareTo(quantity('1000m')) == 0",
    "quantity('1.5').add(quantity('500m')).asInteger() == 2",
    "quantity('3').sub(1).asInteger() == 2",
    "quantity('250m').asApproximateFloat() == 0.25",
    "quantity('-1').sign() == -1 && quantity('0').sign() == 0",
    "quantity('1k').isInteger() && !quantity('1m').isInteger()",
    "isQuantity('2Gi') && !isQuantity('2 Gi')",
    # semantic versions
    "semver('1.2.3').isLessThan(semver('1.10.0'))",
    "semver('1.0.0-alpha').isLessThan(semver('1.0.0'))",
    "semver('2.1.0').major() == 2 && semver('2.1.0').minor() == 1",
    "isSemver('1.2.3') && !isSemver('1.2')",
    # URLs
    "url('https://example.com:8443/a%20b?x=1&x=2').getPort() == '8443'",
    "url('https://example.com/path').getHostname() == 'example.com'",
    "url('https://user@example.com:80/').getHost() == 'example.com:80'",
    "url('https://example.com/?x=1&x=2').getQuery() == {'x': ['1', '2']}",
    "url('/relative/path').getScheme() == ''",
    "isURL('https://a.b') && !isURL('not a url')",
    # IPs and CIDRs
    "ip('10.0.0.1').family() == 4 && ip('::1').family() == 6",
    "ip('127.0.0.1').isLoopback() && ip('0.0.0.0').isUnspecified()",
    "ip('10.0.0.1').isGlobalUnicast() && !ip('224.0.0.1').isGlobalUnicast()",
    "cidr('10.0.0.0/8').containsIP('10.1.2.3') && !cidr('10.0.0.0/8').containsIP('11.0.0.1')",
    "cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')",
    "cidr('10.1.2.3/8').masked() == '10.0.0.0/8' && cidr('10.0.0.0/8').prefixLength() == 8",
    "cidr('10.0.0.0/8').ip() == '10.0.0.0'",
    "isIP('1.2.3.4') && !isIP('1.2.3') && isCIDR('::/0')",
    # Kyverno's image references and users
    "image('nginx').registry() == 'index.docker.io'",
    "image('nginx').repository() == 'library/nginx' && image('nginx').tag() == 'latest'",
    "parseImageReference('ghcr.io/org/app:v1').registry() == 'ghcr.io'",
    "parseImageReference('ghcr.io/org/app:v1').identifier() == 'v1'",
    "!image('nginx:1').containsDigest()",
    "isImage('nginx:1.25') && !isImage('UPPER/case')",
    "parseServiceAccount('system:serviceaccount:ns:sa').Namespace == 'ns'",
    "parseServiceAccount('alice').Name == ''",
    "time.now() == timestamp('2030-01-02T03:04:05Z')",
    "time.toCron(timestamp('2030-01-02T03:04:05Z')) == '4 3 2 1 3'",
    "time.truncate(timestamp('2030-01-02T03:04:05Z'), duration('1h'))"
    " == timestamp('2030-01-02T03:00:00Z')",
    # CEL core and optional types on our data
    "object.spec.containers.all(c, c.image.contains(':'))",
    "object.spec.?initContainers.orValue([]).size() == 0",
    "object.metadata.?labels.app.orValue('') == 'web'",
    "has(object.spec.replicas) && !has(object.spec.paused)",
    "object.spec.containers.exists_one(c, c.name == 'a')",
    "object.spec.containers.map(c, c.name).filter(n, n != '') == ['a']",
    # Kyverno also accepts orValue on a value that is not optional.
    "object.spec.containers.orValue([]).size() == 1",
]

ERRORS = [
    ("object.spec.missing", "no such key: missing"),
    ("quantity('ten')", "is not a quantity"),
    ("[1, 'a'].isSorted()", "one comparable type"),
    ("[].min()", "empty list"),
    ("[1, 2].slice(2, 1)", "must not exceed"),
    ("semver('one')", "not a semantic version"),
    ("url('no scheme')", "not an absolute URI"),
    ("ip('1.2.3.4%eth0')", "zone"),
    ("image('a@sha256:short')", "invalid digest"),
    ("http.Get('https://example.com')", "not made by offline checks"),
    ("image.GetMetadata('nginx')", "not found in the context"),
    ("resource.Get('v1', 'configmaps', 'default', 'nope')", 'configmaps "nope" not found'),
    ("1 +", "compilation failed"),
    ("authorizer.group('').resource('pods').check('get').allowed()", "live cluster"),
    # Optionals must never reach Python code: the binding would crash.
    ("[object.?spec.?paused].isSorted()", "cannot pass optional values"),
    ("[timestamp('2020-01-01T00:00:00Z')].min()", "cannot hand back to CEL"),
]


@pytest.fixture
def scope() -> evaluation.Scope:
    found = lookups.Lookups(now=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    return evaluation.Scope({"object": OBJECT}, found=found)


@pytest.mark.parametrize("expression", TRUE_EXPRESSIONS)
def test_extension_expression_holds(scope: evaluation.Scope, expression: str) -> None:
    result = scope.evaluate(expression)

    assert (result.kind, result.value, result.error) == ("bool", True, "")


@pytest.mark.parametrize(("expression", "fragment"), ERRORS)
def test_extension_error_names_the_problem(
    scope: evaluation.Scope, expression: str, fragment: str
) -> None:
    result = scope.evaluate(expression)

    assert result.failed
    assert fragment in result.error


def test_lookups_answer_resource_and_image_calls() -> None:
    found = lookups.from_context_document(
        {
            "kind": "Context",
            "spec": {
                "resources": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": "cfg", "namespace": "team", "labels": {"a": "b"}},
                        "data": {"key": "value"},
                    }
                ],
                "images": [{"image": "nginx:1", "config": {"created": "2020-01-01T00:00:00Z"}}],
            },
        }
    )
    scope = evaluation.Scope({}, found=found)
    expressions = [
        "resource.Get('v1', 'configmaps', 'team', 'cfg').data.key == 'value'",
        "resource.List('v1', 'configmaps', 'team').items.size() == 1",
        "resource.List('v1', 'configmaps', 'team', {'a': 'c'}).items.size() == 0",
        "resource.list('v1', 'configmaps', 'other').items.size() == 0",
        "image.GetMetadata('nginx:1').config.created == '2020-01-01T00:00:00Z'",
        "image.getMetadata('nginx:1').registry == ''",
    ]

    results = [scope.evaluate(expression) for expression in expressions]

    assert [(r.value, r.error) for r in results] == [(True, "")] * len(expressions)


def test_global_context_entries_and_projections() -> None:
    found = lookups.Lookups(global_context={"cfg": {"replicas": 2}})
    scope = evaluation.Scope({}, found=found)

    whole = scope.evaluate("globalContext.Get('cfg', '').replicas == 2")
    projected = scope.evaluate("globalContext.Get('cfg', 'replicas') == 2")
    missing = scope.evaluate("globalContext.Get('other', '') == null")

    assert (whole.value, projected.value, missing.value) == (True, True, True)
