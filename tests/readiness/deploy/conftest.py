"""The loopback api.github.com (defined beside the GitHub contract tests) for every deploy-tool test."""

from tests.readiness.deploy.test_github import github  # noqa: F401
