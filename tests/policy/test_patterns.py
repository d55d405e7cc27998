import pytest

from bot.policy.patterns import PatternOutcome, validate_pattern


def _pod(*containers, **spec):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"containers": list(containers), **spec},
    }


def _container(name="app", image="nginx:1.25", **fields):
    return {"name": name, "image": image, **fields}


def _verdict(resource, pattern):
    outcome = validate_pattern(resource, pattern)
    return outcome.status, outcome.path


NON_ROOT = {"spec": {"containers": [{"securityContext": {"runAsNonRoot": True}}]}}


@pytest.mark.parametrize(
    ("resource", "pattern", "expected"),
    [
        (_pod(_container()), {"spec": {"containers": [{"image": "nginx:*"}]}}, ("pass", "")),
        (
            _pod(_container(image="redis:7")),
            {"spec": {"containers": [{"image": "nginx:*"}]}},
            ("fail", "/spec/containers/0/image/"),
        ),
        (
            _pod(_container(securityContext={"runAsNonRoot": False})),
            NON_ROOT,
            ("fail", "/spec/containers/0/securityContext/runAsNonRoot/"),
        ),
        (
            _pod(_container(securityContext={})),
            NON_ROOT,
            ("fail", "/spec/containers/0/securityContext/runAsNonRoot/"),
        ),
        (_pod(_container()), NON_ROOT, ("fail", "/spec/containers/0/securityContext/")),
        (
            _pod(_container(securityContext="yes")),
            NON_ROOT,
            ("fail", "/spec/containers/0/securityContext/"),
        ),
        ({"spec": {"containers": {"name": "x"}}}, NON_ROOT, ("fail", "/spec/containers/")),
        ("text", {"spec": {}}, ("fail", "/")),
        ("text", "t*", ("pass", "")),
    ],
)
def test_plain_keys_must_match_and_fail_at_their_path(resource, pattern, expected):
    assert _verdict(resource, pattern) == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"team": "a"}, ("pass", "")),
        ({"team": ""}, ("pass", "")),
        ({"team": None}, ("fail", "/metadata/labels/")),
        ({}, ("fail", "/metadata/labels/")),
    ],
)
def test_bare_star_wants_a_non_null_value_and_fails_at_parent(labels, expected):
    resource = {"metadata": {"labels": labels}}

    assert _verdict(resource, {"metadata": {"labels": {"team": "*"}}}) == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"team": "a"}, ("pass", "")),
        ({"team": ""}, ("fail", "/metadata/labels/team/")),
        ({}, ("fail", "/metadata/labels/team/")),
    ],
)
def test_question_star_wants_a_non_empty_value(labels, expected):
    resource = {"metadata": {"labels": labels}}

    assert _verdict(resource, {"metadata": {"labels": {"team": "?*"}}}) == expected


@pytest.mark.parametrize(
    ("containers", "expected"),
    [
        ([], ("pass", "")),
        ([_container(), _container(name="b")], ("pass", "")),
        (
            [_container(), _container(name="b", image="redis")],
            ("fail", "/spec/containers/1/image/"),
        ),
    ],
)
def test_one_map_in_a_pattern_list_applies_to_every_item(containers, expected):
    pattern = {"spec": {"containers": [{"image": "nginx:*"}, {"image": "ignored"}]}}

    assert _verdict(_pod(*containers), pattern) == expected


@pytest.mark.parametrize(
    ("args", "pattern", "expected"),
    [
        (["--a", "--b"], ["--*"], ("pass", "")),
        (["--a", "b"], ["--*"], ("fail", "/spec/args/")),
        (["--a", "b"], "--*", ("fail", "/spec/args/")),
        (["--a", "--b"], "--*", ("pass", "")),
        ([], ["--*"], ("pass", "")),
        (["b"], ["--*", "b"], ("fail", "/spec/args/")),
        ("--a", ["--*"], ("fail", "/spec/args/")),
    ],
)
def test_scalar_patterns_hold_for_every_list_item(args, pattern, expected):
    assert _verdict({"spec": {"args": args}}, {"spec": {"args": pattern}}) == expected


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ([[1], [2], [3]], ("pass", "")),
        ([[1], [5]], ("fail", "/m/1/")),
        ([[1]], ("fail", "")),
    ],
)
def test_nested_lists_match_by_position(matrix, expected):
    assert _verdict({"m": matrix}, {"m": [[1], [2]]}) == expected


def test_empty_pattern_list_never_matches():
    assert _verdict({"a": [1]}, {"a": []}) == ("fail", "/a/")


IMAGE_POLICY = {
    "spec": {
        "containers": [{"name": "*", "(image)": "*:latest | !*:*", "imagePullPolicy": "!Always"}]
    }
}


@pytest.mark.parametrize(
    ("containers", "expected"),
    [
        ([_container(image="nginx:1.2", imagePullPolicy="Always")], ("skip", "")),
        (
            [_container(image="nginx:latest", imagePullPolicy="Always")],
            ("fail", "/spec/containers/0/imagePullPolicy/"),
        ),
        (
            [_container(image="nginx", imagePullPolicy="Always")],
            ("fail", "/spec/containers/0/imagePullPolicy/"),
        ),
        ([_container(image="nginx", imagePullPolicy="Never")], ("pass", "")),
        (
            [
                _container(image="busybox:1.28", imagePullPolicy="Always"),
                _container(image="nginx", imagePullPolicy="Always"),
            ],
            ("fail", "/spec/containers/1/imagePullPolicy/"),
        ),
        (
            [
                _container(image="busybox:1.28", imagePullPolicy="Always"),
                _container(image="nginx:latest", imagePullPolicy="Never"),
            ],
            ("pass", ""),
        ),
        (
            [
                _container(image="busybox:1.28", imagePullPolicy="Always"),
                _container(image="nginx:1.2", imagePullPolicy="Always"),
            ],
            ("skip", ""),
        ),
    ],
)
def test_failed_condition_skips_only_its_list_item(containers, expected):
    assert _verdict(_pod(*containers), IMAGE_POLICY) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"}, ("pass", "")),
        ({"hostNetwork": True, "dnsPolicy": "Default"}, ("fail", "/spec/dnsPolicy/")),
        ({"hostNetwork": False, "dnsPolicy": "Default"}, ("skip", "")),
        ({"dnsPolicy": "Default"}, ("skip", "")),
    ],
)
def test_conditional_anchor_gates_its_siblings(spec, expected):
    pattern = {"spec": {"(hostNetwork)": True, "dnsPolicy": "ClusterFirstWithHostNet"}}

    assert _verdict({"spec": spec}, pattern) == expected


def test_conditions_are_settled_before_plain_keys():
    resource = {"spec": {"mode": "off", "a": "wrong"}}

    assert _verdict(resource, {"spec": {"a": "right", "(mode)": "on"}}) == ("skip", "")


@pytest.mark.parametrize(
    ("volumes", "expected"),
    [
        ([{"name": "cache", "emptyDir": {}}], ("skip", "")),
        ([{"name": "data", "emptyDir": {}}], ("fail", "/spec/volumes/0/emptyDir/sizeLimit/")),
        ([{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}], ("pass", "")),
        ([{"name": "data"}], ("pass", "")),
        ([{"name": "cache"}, {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}], ("pass", "")),
    ],
)
def test_failed_condition_masks_sibling_failures(volumes, expected):
    pattern = {"spec": {"=(volumes)": [{"(name)": "!cache", "=(emptyDir)": {"sizeLimit": "?*"}}]}}

    assert _verdict({"spec": {"volumes": volumes}}, pattern) == expected


NESTED_SKIP = {"=(a)": {"(b)": 1, "c": 2}}


@pytest.mark.parametrize(
    ("resource", "extra", "expected"),
    [
        ({"a": {"b": 0}, "e": "x"}, {"e": "y"}, ("skip", "")),
        ({"a": {"b": 0}, "d": 5, "e": "x"}, {"=(d)": 5, "e": "y"}, ("fail", "/e/")),
        ({"a": {"b": 0}, "d": 6}, {"=(d)": 5}, ("fail", "/d/")),
        ({"a": {"b": 1, "c": 3}, "d": 5}, {"=(d)": 5}, ("fail", "/a/c/")),
    ],
)
def test_deeper_skips_yield_to_anchors_that_applied(resource, extra, expected):
    assert _verdict(resource, {**NESTED_SKIP, **extra}) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, ("pass", "")),
        ({"securityContext": {}}, ("pass", "")),
        ({"securityContext": {"runAsNonRoot": True}}, ("pass", "")),
        (
            {"securityContext": {"runAsNonRoot": False}},
            ("fail", "/spec/securityContext/runAsNonRoot/"),
        ),
        ({"securityContext": None}, ("fail", "/spec/securityContext/")),
    ],
)
def test_equality_anchor_checks_only_present_keys(spec, expected):
    pattern = {"spec": {"=(securityContext)": {"=(runAsNonRoot)": True}}}

    assert _verdict({"spec": spec}, pattern) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"containers": [_container(image="a"), _container(image="nginx:1")]}, ("pass", "")),
        ({"containers": [_container(image="a")]}, ("fail", "/spec/containers/")),
        ({"containers": []}, ("fail", "/spec/containers/")),
        ({}, ("pass", "")),
        ({"containers": {"image": "nginx:1"}}, ("fail", "/spec/containers/")),
    ],
)
def test_existence_anchor_wants_one_matching_item(spec, expected):
    pattern = {"spec": {"^(containers)": [{"image": "nginx:*"}]}}

    assert _verdict({"spec": spec}, pattern) == expected


def test_existence_anchor_needs_every_pattern_item_found():
    resource = {"spec": {"ports": [{"port": 80}, {"port": 443}]}}
    pattern = {"spec": {"^(ports)": [{"port": 80}, {"port": 8080}]}}

    assert _verdict(resource, pattern) == ("fail", "/spec/ports/")


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        ({"name": "a", "emptyDir": {}}, ("pass", "")),
        ({"name": "a", "hostPath": {"path": "/etc"}}, ("fail", "/spec/volumes/0/hostPath/")),
        ({"name": "a", "hostPath": None}, ("fail", "/spec/volumes/0/hostPath/")),
    ],
)
def test_negation_anchor_forbids_the_key(volume, expected):
    pattern = {"spec": {"=(volumes)": [{"X(hostPath)": "null"}]}}

    assert _verdict({"spec": {"volumes": [volume]}}, pattern) == expected


GLOBAL_POLICY = {
    "spec": {"containers": [{"name": "*", "<(image)": "*:latest", "imagePullPolicy": "!Always"}]}
}


@pytest.mark.parametrize(
    ("containers", "expected"),
    [
        ([_container(image="nginx:v1", imagePullPolicy="Always")], ("skip", "")),
        (
            [_container(image="nginx:latest", imagePullPolicy="Always")],
            ("fail", "/spec/containers/0/imagePullPolicy/"),
        ),
        ([_container(image="nginx:latest", imagePullPolicy="IfNotPresent")], ("pass", "")),
        (
            [
                _container(image="nginx:latest", imagePullPolicy="IfNotPresent"),
                _container(image="nginx:v2", imagePullPolicy="Always"),
            ],
            ("pass", ""),
        ),
    ],
)
def test_global_anchor_mismatch_skips(containers, expected):
    assert _verdict(_pod(*containers), GLOBAL_POLICY) == expected


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"name": "x", "labels": {"tier": "db"}}, ("fail", "/spec/imagePullSecrets/0/name/")),
        ({"name": "x", "labels": {"tier": "web"}}, ("skip", "")),
        ({"name": "x"}, ("fail", "/metadata/labels/")),
    ],
)
def test_global_anchor_elsewhere_decides_for_the_rule(metadata, expected):
    resource = {"metadata": metadata, "spec": {"imagePullSecrets": [{"name": "other"}]}}
    pattern = {
        "metadata": {"labels": {"<(tier)": "db"}},
        "spec": {"imagePullSecrets": [{"name": "regcred"}]},
    }

    assert _verdict(resource, pattern) == expected


@pytest.mark.parametrize(
    ("resource", "pattern", "expected"),
    [
        ({"a": "x", "b": {"c": 0, "d": 2}}, {"a": "y", "b": {"(c)": 1, "d": 2}}, ("skip", "")),
        ({"a": 0, "b": 0}, {"a": 1, "b": 2}, ("fail", "/a/")),
        ({"a": 0, "b": {"k": 0}}, {"a": 1, "b": {"=(k)": 1}}, ("fail", "/b/k/")),
        ({"y": {"k": 0}, "z": {"k": 0}}, {"y": {"=(k)": 1}, "z": {"=(k)": 1}}, ("fail", "/z/k/")),
    ],
)
def test_keys_hiding_anchors_are_checked_first_in_reverse(resource, pattern, expected):
    assert _verdict(resource, pattern) == expected


@pytest.mark.parametrize(
    ("labels", "pattern", "expected"),
    [
        ({"app.kubernetes.io/name": "web"}, {"app.kubernetes.io/*": "?*"}, ("pass", "")),
        (
            {"app": "web"},
            {"app.kubernetes.io/*": "?*"},
            ("fail", "/metadata/labels/app.kubernetes.io/*/"),
        ),
        ({"team-a": "x"}, {"team-?": "x"}, ("pass", "")),
        ({"team-a": "y"}, {"team-?": "x"}, ("fail", "/metadata/labels/team-a/")),
        ({"b": "1", "c": "2"}, {"*": "?*"}, ("pass", "")),
        (
            {"sidecar.io/inject": "true"},
            {"=(sidecar.*)": "false"},
            ("fail", "/metadata/labels/sidecar.io/inject/"),
        ),
        ({"other": "true"}, {"=(sidecar.*)": "false"}, ("pass", "")),
        ({"count": "2"}, {"count": 1}, ("pass", "")),
    ],
)
def test_wildcard_label_keys_resolve_against_the_resource(labels, pattern, expected):
    resource = {"metadata": {"labels": labels}}

    assert _verdict(resource, {"metadata": {"labels": pattern}}) == expected


def test_wildcard_annotation_keys_resolve_too():
    resource = {"metadata": {"annotations": {"policy.io/owner": "me"}}}
    pattern = {"metadata": {"annotations": {"policy.io/*": "you"}}}

    assert _verdict(resource, pattern) == ("fail", "/metadata/annotations/policy.io/owner/")


def test_wildcard_keys_outside_metadata_are_literal():
    resource = {"spec": {"nodeSelector": {"zone": "a"}}}

    assert _verdict(resource, {"spec": {"nodeSelector": {"*": "?*"}}}) == (
        "fail",
        "/spec/nodeSelector/*/",
    )


def test_wildcard_labels_without_resource_labels_stay_literal():
    resource = {"metadata": {"name": "x"}}
    pattern = {"metadata": {"labels": {"app*": "?*"}}}

    assert _verdict(resource, pattern) == ("fail", "/metadata/labels/")


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        (3, ">1", ("pass", "")),
        ("3", 3, ("pass", "")),
        (3.0, 3, ("pass", "")),
        ("true", True, ("fail", "/spec/x/")),
        (True, "true", ("pass", "")),
        ("512Mi", "<=1Gi", ("pass", "")),
        ("2Gi", "<=1Gi", ("fail", "/spec/x/")),
        ("45s", "10s-1m", ("pass", "")),
        (None, None, ("pass", "")),
        ("", None, ("pass", "")),
    ],
)
def test_values_convert_between_types_as_kyverno_does(value, pattern, expected):
    assert _verdict({"spec": {"x": value}}, {"spec": {"x": pattern}}) == expected


def test_failure_beside_absent_existence_key_has_no_path():
    resource = {"spec": {"replicas": 1}}
    pattern = {"spec": {"^(volumes)": [{"name": "*"}], "replicas": ">1"}}

    assert _verdict(resource, pattern) == ("fail", "")


def test_absent_negation_key_keeps_the_path():
    resource = {"spec": {"replicas": 1}}
    pattern = {"spec": {"X(hostPID)": "null", "replicas": ">1"}}

    assert _verdict(resource, pattern) == ("fail", "/spec/replicas/")


def test_negation_failure_keeps_path_despite_absent_keys():
    resource = {"spec": {"hostPID": True}}
    pattern = {"spec": {"^(volumes)": [{"name": "*"}], "X(hostPID)": "null"}}

    assert _verdict(resource, pattern) == ("fail", "/spec/hostPID/")


def test_add_anchor_is_a_literal_key_in_validation():
    resource = {"spec": {"dnsPolicy": "Default"}}

    assert _verdict(resource, {"spec": {"+(dnsPolicy)": "Default"}}) == (
        "fail",
        "/spec/+(dnsPolicy)/",
    )


def test_passing_outcome_has_no_path_or_reason():
    outcome = validate_pattern(_pod(_container()), {"spec": {"containers": [{"name": "?*"}]}})

    assert outcome == PatternOutcome("pass")


@pytest.mark.parametrize(
    ("resource", "pattern", "words"),
    [
        ({"a": "x"}, {"a": "y"}, ('"y"', '"x"', "/a/")),
        ({"a": {"b": 1}}, {"a": {"X(b)": "null"}}, ("absent", "/a/b/")),
        ({}, {"a": "*"}, ("set", "/a/")),
        ({"a": [1]}, {"a": [[1], [2]]}, ("at least 2",)),
        ({"a": 1}, {"(a)": 2, "b": 1}, ("condition", "/a/")),
        ({"a": ["b"]}, {"^(a)": [{"c": 1}]}, ("at least one",)),
    ],
)
def test_reasons_say_what_was_expected_and_found(resource, pattern, words):
    reason = validate_pattern(resource, pattern).reason

    assert all(word in reason for word in words), reason


@pytest.mark.parametrize(
    ("resource", "pattern", "expected"),
    [
        ({"ports": {80: "http"}}, {"ports": {"80": "http"}}, ("pass", "")),
        ({"flags": {True: "x"}}, {"flags": {"true": "y"}}, ("fail", "/flags/true/")),
        ({"ports": {"80": "http"}}, {"ports": {80: "?*"}}, ("pass", "")),
    ],
)
def test_non_string_keys_are_read_as_json_text(resource, pattern, expected):
    assert _verdict(resource, pattern) == expected
