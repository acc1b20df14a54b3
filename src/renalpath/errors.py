"""The kinds of expected failure, shared by every layer and mapped once by each front end.

Why: an expected failure (a value a calculator refuses, a record that does not exist, a database
without its schema) must reach the user as a clear message with the right status, while a bug
must stay a bug — a traceback in the CLI, a 500 with a logged trace on the web. Every exception
class a layer raises on purpose subclasses one of the kinds below; the CLI maps them in
`renalpath.cli.errors` and the web app in `renalpath.web.errors`, and neither catches a bare
`ValueError` (which would turn a programming error into a clinical refusal).

Exit codes and statuses:

| kind            | CLI exit | HTTP |
|-----------------|----------|------|
| `Refusal`       | 1        | 422  |
| `InvalidInput`  | 1        | 422  |
| `UnknownPack`   | 1        | 422  |
| `NotFound`      | 1        | 404  |
| `Conflict`      | 1        | 409  |
| `SchemaMissing` | 1        | 503  |

The CLI keeps one refusal exit code (1) for every kind, so scripts need to test only 0 / 1 / 2
(2 is a usage error, Click's own).
"""

from __future__ import annotations


class RenalpathError(Exception):
    """Base of every expected failure: the message is meant for the user, not a developer."""

    exit_code: int = 1
    http_status: int = 422

    def messages(self) -> list[str]:
        """One line per problem (a front end prints each as a refusal)."""
        return [str(self)]


class Refusal(RenalpathError):
    """The request cannot be carried out as given (bad data, a missing optional engine)."""


class InvalidInput(Refusal):
    """An input value is refused: out of range, wrong unit, not a date."""


class UnknownPack(Refusal):
    """A rule pack id that is not in the pack set."""


class NotFound(RenalpathError):
    """The thing named does not exist (a record id, a user)."""

    http_status = 404


class Conflict(RenalpathError):
    """The write contradicts what is stored (a duplicate key, dependents block a delete)."""

    http_status = 409


class SchemaMissing(RenalpathError):
    """The database has no registry schema, or needs a migration first."""

    http_status = 503
