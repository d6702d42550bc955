"""Fixtures of the postmortem tests: people inside and outside a restricted incident's circle."""

import pytest

from governance.kernel.roles import Role
from tests.factories import make_user


@pytest.fixture
def outsider(db):
    """A data scientist who is not a member of any restricted incident."""
    return make_user("olive_outsider", Role.DATA_SCIENCE, first_name="Olive", last_name="Outsider")


@pytest.fixture
def member(db):
    return make_user("mo_member", Role.ENGINEERING, first_name="Mo", last_name="Member")
