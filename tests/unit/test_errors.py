"""The Helix error tree: hierarchy, exit codes per branch, and carried attributes."""

from __future__ import annotations

import pytest

from helix.errors import (
    ConcurrencyError,
    ConfigError,
    DomainError,
    DuplicateError,
    HelixError,
    InfrastructureError,
    ProjectionError,
    ServiceUnavailable,
    StoreError,
    StreamConfigError,
    ValidationError,
)

BRANCHES: list[type[HelixError]] = [
    ConfigError,
    DomainError,
    ConcurrencyError,
    InfrastructureError,
]


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (ConfigError, HelixError),
        (DomainError, HelixError),
        (ValidationError, DomainError),
        (ConcurrencyError, HelixError),
        (DuplicateError, ConcurrencyError),
        (InfrastructureError, HelixError),
        (ServiceUnavailable, InfrastructureError),
        (StoreError, InfrastructureError),
        (StreamConfigError, StoreError),
        (ProjectionError, InfrastructureError),
        (HelixError, Exception),
    ],
)
def test_hierarchy(child: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(child, parent)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (ValidationError, ConcurrencyError),
        (DuplicateError, DomainError),
        (StoreError, ConcurrencyError),
        (ConfigError, InfrastructureError),
    ],
)
def test_branches_are_disjoint(a: type[Exception], b: type[Exception]) -> None:
    assert not issubclass(a, b)
    assert not issubclass(b, a)


def test_exit_codes_are_distinct_per_branch() -> None:
    codes = [cls.exit_code for cls in BRANCHES]
    assert len(set(codes)) == len(codes)
    assert HelixError.exit_code not in codes


def test_exit_codes_are_nonzero() -> None:
    classes: list[type[HelixError]] = [HelixError, *BRANCHES]
    assert all(cls.exit_code != 0 for cls in classes)


@pytest.mark.parametrize(
    ("cls", "branch"),
    [
        (ValidationError, DomainError),
        (DuplicateError, ConcurrencyError),
        (ServiceUnavailable, InfrastructureError),
        (StoreError, InfrastructureError),
        (StreamConfigError, InfrastructureError),
        (ProjectionError, InfrastructureError),
    ],
)
def test_subclasses_inherit_their_branch_exit_code(
    cls: type[HelixError], branch: type[HelixError]
) -> None:
    assert cls.exit_code == branch.exit_code


def test_concurrency_error_carries_subject_and_expected() -> None:
    err = ConcurrencyError("conflict", subject="ldg.order.u1", expected=7)
    assert (str(err), err.subject, err.expected) == ("conflict", "ldg.order.u1", 7)


def test_concurrency_error_defaults() -> None:
    err = ConcurrencyError("conflict")
    assert (err.subject, err.expected) == ("", None)


def test_duplicate_error_is_caught_as_concurrency_error() -> None:
    with pytest.raises(ConcurrencyError) as info:
        raise DuplicateError("exists", subject="s", expected=1)
    assert isinstance(info.value, DuplicateError)
    assert info.value.subject == "s"


def test_projection_error_carries_projector_and_seq() -> None:
    err = ProjectionError("cannot apply", projector="positions", seq=12)
    assert (str(err), err.projector, err.seq) == ("cannot apply", "positions", 12)


def test_stream_config_error_is_caught_as_store_error() -> None:
    with pytest.raises(StoreError):
        raise StreamConfigError("incompatible")
