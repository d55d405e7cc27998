"""semver_compare, image_normalize and is_external_url."""

from __future__ import annotations

import pytest

from bot.policy.jmespath import JMESPathError, search


@pytest.mark.parametrize(
    ("version", "constraint", "expected"),
    [
        ("4.1.3", ">=4.1.x", True),
        ("4.1.3", "!4.x.x", False),
        ("1.8.6", ">1.0.0 <2.0.0", True),
        ("2.1.5", "<2.0.0 || >=3.0.0", False),
        ("3.0.0", "<2.0.0 || >=3.0.0", True),
        ("1.2.3", "1.2.x", True),
        ("1.3.0", "1.2.x", False),
        ("1.9.9", "<=1.x", True),
        ("2.0.0", "<=1.x", False),
        ("1.2.3", ">= 1.2.3", True),
        ("1.2.3", "=1.2.3", True),
        ("1.2.3", "!=1.2.3", False),
        ("1.0.0-alpha", "<1.0.0", True),
        ("1.0.0-alpha.1", ">1.0.0-alpha", True),
        ("1.0.0-2", "<1.0.0-alpha", True),
        ("1.0.0+build.5", "1.0.0", True),
        ("v1.2.3", ">1.0.0", False),
        ("1.2", "<0.0.1", True),
    ],
)
def test_semver_compare_follows_blang_semver(version: str, constraint: str, expected: bool) -> None:
    assert search("semver_compare(@[0], @[1])", [version, constraint]) is expected


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ("~>1.0.0", "could not parse comparator"),
        ("|| 1.0.0", "first element in range"),
        ("1.0.0 ||", "last element in range"),
        (">=1.0", "could not parse version"),
        ("latest", "could not get version"),
    ],
)
def test_semver_compare_rejects_bad_ranges(constraint: str, message: str) -> None:
    with pytest.raises(JMESPathError, match=message):
        search("semver_compare('1.0.0', @)", constraint)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("nginx", "docker.io/nginx:latest"),
        ("docker.io/nginx", "docker.io/nginx:latest"),
        ("docker.io/library/nginx", "docker.io/library/nginx:latest"),
        ("ghcr.io/library/nginx", "ghcr.io/library/nginx:latest"),
        ("ghcr.io/nginx:1.2", "ghcr.io/nginx:1.2"),
        ("team/app:v1", "docker.io/team/app:v1"),
        ("localhost/app", "localhost/app:latest"),
        ("registry:5000/app", "registry:5000/app:latest"),
        ("app@sha256:" + "a" * 64, "docker.io/app@sha256:" + "a" * 64),
        ("app:v1@sha256:" + "b" * 64, "docker.io/app@sha256:" + "b" * 64),
    ],
)
def test_image_normalize_adds_registry_and_tag(image: str, expected: str) -> None:
    assert search("image_normalize(@)", image) == expected


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (
            "",
            "bad image: docker.io/, defaultRegistry: docker.io, "
            "enableDefaultRegistryMutation: true: invalid reference format",
        ),
        ("Nginx", "repository name must be lowercase"),
        ("app@sha256:abc", "invalid reference format"),
        ("app@sha256:" + "A" * 64, "invalid checksum digest format"),
        ("app@md5:" + "a" * 32, "unsupported digest algorithm"),
        ("a" * 300, "must not be more than 255 characters"),
    ],
)
def test_image_normalize_reports_bad_references(image: str, message: str) -> None:
    with pytest.raises(JMESPathError) as caught:
        search("image_normalize(@)", image)

    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost", False),
        ("http://127.0.0.1", False),
        ("http://172.16.1.1", False),
        ("http://10.1.1.1", False),
        ("http://192.168.0.1", False),
        ("http://8.8.8.8", True),
        ("http://245.48.83.160", True),
        ("http://169.254.169.254", True),
        ("http://[fd12:3456:789a:1::1]", False),
        ("http://[::1]", False),
        ("http://[::ffff:10.0.0.1]", False),
        ("http://[2001:db8::ff00:42:8329]", True),
        ("http://www.example.com@192.168.1.3", False),
        ("https://10.0.0.1:8443/path", False),
    ],
)
def test_is_external_url_classifies_ip_literals(url: str, expected: bool) -> None:
    assert search("is_external_url(@)", url) is expected


def test_is_external_url_refuses_to_resolve_names() -> None:
    with pytest.raises(JMESPathError, match="needs the cluster's DNS"):
        search("is_external_url('https://example.com')", {})
