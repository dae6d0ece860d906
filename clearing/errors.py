"""The clearing package's exception hierarchy: every error carries a stable machine `code` for CLI and API."""

from __future__ import annotations


class ClearingError(Exception):
    """Base of every error the clearing service reports to a caller."""

    code: str = "clearing.error"

    def __init__(self, message: str, *, data: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class InvalidRecord(ClearingError):
    """A record that breaks the record model (unknown kind, negative principal, forbidden characters)."""

    code = "clearing.invalid_record"


class IndexStoreError(ClearingError):
    code = "clearing.index_store"


class CorruptIndex(IndexStoreError):
    """A stored value that does not decode: the index must be rebuilt from the chain."""

    code = "clearing.index_corrupt"


class BooksError(ClearingError):
    code = "clearing.books_error"


class MappingError(BooksError):
    """The column-mapping file is unreadable or names a field, unit or format we do not know."""

    code = "clearing.bad_mapping"


class MissingColumn(BooksError):
    """The source lacks a column the mapping needs for a required field, so no row can be read."""

    code = "clearing.missing_column"


class BadHeader(BooksError):
    """A CSV header naming the same column twice, so values cannot be told apart."""

    code = "clearing.bad_header"


class UnsupportedSource(BooksError):
    """A books location whose kind (file extension or URL scheme) no adapter reads."""

    code = "clearing.unsupported_source"


class SourceUnavailable(BooksError):
    """The file cannot be opened or the database refused the connection or query."""

    code = "clearing.books_unavailable"


class ReconError(ClearingError):
    code = "clearing.recon_error"


class UnexplainedResidual(ReconError):
    """chain total - books total - explained differences != 0: the engine lost or double-counted money."""

    code = "clearing.unexplained_residual"


class BreakStoreError(ClearingError):
    code = "clearing.breaks_error"


class UnknownBreak(BreakStoreError):
    code = "clearing.unknown_break"


class IllegalTransition(BreakStoreError):
    """A workflow move the break lifecycle does not allow (e.g. resolving an unassigned break by hand)."""

    code = "clearing.illegal_transition"


class NodeUnavailable(ClearingError):
    """The node did not answer, or answered something that is not a Colend chain."""

    code = "clearing.node_unavailable"


class PolicyError(ClearingError):
    code = "clearing.policy"


class InvalidLimit(PolicyError):
    """A policy limit outside 0..10,000 basis points, or not an integer."""

    code = "clearing.invalid_limit"


class ServiceError(ClearingError):
    """An error the clearing service API answers with; `status` is its HTTP status."""

    code = "clearing.service"
    status = 500


class BadRequest(ServiceError):
    """Input the API cannot accept: malformed JSON, a field of the wrong type, an unknown filter value."""

    code = "clearing.bad_request"
    status = 400


class Unauthenticated(ServiceError):
    """No API key, or one the service does not know."""

    code = "clearing.unauthenticated"
    status = 401


class Forbidden(ServiceError):
    """The caller's role may not do this (a viewer writing, a regulator writing anything)."""

    code = "clearing.forbidden"
    status = 403


class NotFound(ServiceError):
    """No such resource, or one outside the caller's bank scope: both answer exactly alike."""

    code = "clearing.not_found"
    status = 404


class MethodNotAllowed(ServiceError):
    code = "clearing.method_not_allowed"
    status = 405


class Conflict(ServiceError):
    """The request is valid but the resource's state does not allow it now (a run already going, a
    payment reference already pending approval, an illegal break transition)."""

    code = "clearing.conflict"
    status = 409


class FourEyes(Conflict):
    """The officer who entered a payment reference tried to approve it too: a second officer must."""

    code = "clearing.four_eyes"


class PayloadTooLarge(ServiceError):
    code = "clearing.payload_too_large"
    status = 413


class ChainRejected(ServiceError):
    """The contract refused the settlement transaction (reverted by name): the chain's state does not
    allow it, as for any other conflict."""

    code = "clearing.chain_rejected"
    status = 409


class NodeUnreachable(ServiceError):
    """The node did not answer the settlement transaction in time."""

    code = "clearing.node_unreachable"
    status = 502


class NotReady(ServiceError):
    """A part the request needs is not running (no signer in regulator mode, no books configured)."""

    code = "clearing.not_ready"
    status = 503


class ConfigError(ClearingError):
    """service.toml or the API keys file is unreadable or inconsistent."""

    code = "clearing.bad_config"


class SettlementStoreError(ClearingError):
    """The settlement store (SQLite) cannot be opened or read."""

    code = "clearing.settlement_store"


class AuditError(ServiceError):
    """The append-only audit log cannot be opened or written."""

    code = "clearing.audit"
