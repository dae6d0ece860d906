"""JSON-RPC 2.0 framing, free of I/O: a request body in, a response body (or nothing) out.

Parsing, batches, notifications, method lookup and error mapping live here, so HTTP and WebSocket behave
identically and the framing is tested without a socket. Nothing a caller sends can escape as an exception:
every failure becomes a JSON-RPC error object, and anything unexpected is logged and reported as -32603.
A request (a single call or a whole batch) that admitted txs passes one durability barrier before any of its
replies leaves: the backend makes them crash-proof together, or the replies that acknowledged them become errors.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from dataclasses import dataclass

from node.errors import InvalidParams, NodeError
from node.rpc.backend.api import NodeBackend
from node.rpc.errors import (
    INTERNAL_ERROR,
    InternalError,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    ResponseTooLarge,
    error_data,
)
from node.rpc.filters import FilterRegistry
from node.rpc.json_text import encode_reply, parse_json, valid_id
from node.rpc.limits import RpcLimits
from node.rpc.logfmt import log_event
from node.rpc.methods import CallContext, Method, build_methods
from node.rpc.params import format_data, json_type
from node.rpc.prepare import MIN_BODY_BYTES, SEND_RAW, prepare_batch
from node.rpc.subscriptions import SubscriptionSession
from node.tx.model import from_field_values

logger = logging.getLogger("colend.rpc")

_NO_ID = object()


@dataclass(frozen=True)
class _Request:
    """A request object that passed framing checks; `id` is _NO_ID for a notification."""

    id: object
    method: str
    params: list[object] | dict[str, object]


@dataclass(frozen=True)
class _Prepared:
    """A call whose framing and params a worker already checked and parsed (node/rpc/prepare.py)."""

    request: _Request
    args: tuple[object, ...]


class Dispatcher:
    """Turns request bodies into response bodies against one backend; one per server."""

    def __init__(self, backend: NodeBackend, limits: RpcLimits, filters: FilterRegistry | None = None) -> None:
        self._backend = backend
        self._limits = limits
        self._filters = filters if filters is not None else FilterRegistry(backend, limits)
        self._methods: dict[str, Method] = build_methods(limits)

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(self._methods)

    def handle(self, body: bytes | str, session: SubscriptionSession | None = None, peer: str = "-") -> str | None:
        """The response text for a request body, or None when every request in it was a notification."""
        if isinstance(body, bytes | bytearray) and len(body) >= MIN_BODY_BYTES:
            prepared = self._prepared(bytes(body), peer)
            if prepared is not None:
                return self._handle_batch(prepared, CallContext(self._backend, self._limits, self._filters, session),
                                          peer)
        try:
            payload = parse_json(body)
        except (ValueError, RecursionError) as exc:
            # ValueError covers bad UTF-8, bad JSON and integers too long to convert; deep nesting recurses.
            return self._error_response(None, ParseError(f"parse error: {_first_line(exc)}"), "-", peer)
        ctx = CallContext(self._backend, self._limits, self._filters, session)
        if isinstance(payload, list):
            return self._handle_batch(payload, ctx, peer)
        return self._answer([payload], ctx, peer, None)[0]

    def _prepared(self, body: bytes, peer: str) -> list[object] | None:
        """A big batch parsed, and its raw txs decoded, by a worker of the node (None: parse it here)."""
        try:
            prepared = self._backend.offload(prepare_batch, body, self._limits)
        except Exception as exc:  # a worker died or timed out: this thread does the same work
            log_event(logger, logging.WARNING, "rpc_prepare_failed", peer=peer, bytes=len(body), exc=_first_line(exc))
            return None
        if prepared is None:
            return None
        return [_Prepared(_Request(ref[0], SEND_RAW, []), (from_field_values(ref[1]),)) if ok else ref  # type: ignore[index]
                for ok, ref in prepared]

    def _handle_batch(self, batch: list[object], ctx: CallContext, peer: str) -> str | None:
        if not batch:
            return self._error_response(None, InvalidRequest("empty batch"), "-", peer)
        if len(batch) > self._limits.max_batch:
            error = InvalidRequest(
                f"batch too large: {len(batch)} requests, limit {self._limits.max_batch}",
                data={"limit": self._limits.max_batch},
            )
            return self._error_response(None, error, "-", peer)
        with self._backend.prefetch_raw_transactions(_raw_transactions(batch)):
            replies = [r for r in self._answer(batch, ctx, peer, self._limits.max_batch_response_bytes) if r is not None]
        return "[" + ",".join(replies) + "]" if replies else None

    def _answer(self, items: list[object], ctx: CallContext, peer: str, max_bytes: int | None) -> list[str | None]:
        """Each item's reply, in order, once the txs they admitted are durable (one barrier for all of them)."""
        replies: list[str | None] = []
        acks: list[int] = []  # the replies that acknowledge an admitted tx
        size = 0
        for item in items:
            if max_bytes is not None and size > max_bytes:
                replies.append(self._refuse_over_size(item, peer))
                continue
            admitted = len(ctx.admitted)
            reply = self._handle_one(item, ctx, peer)
            if len(ctx.admitted) > admitted and reply is not None:
                acks.append(len(replies))
            replies.append(reply)
            size += len(reply) if reply is not None else 0
        if ctx.admitted:
            self._make_durable(items, replies, acks, ctx, peer)
        return replies

    def _make_durable(self, items: list[object], replies: list[str | None], acks: list[int], ctx: CallContext,
                      peer: str) -> None:
        """The barrier: a tx is never acknowledged before it is durable; if it cannot be, its reply is an error."""
        try:
            self._backend.make_durable(ctx.admitted)
        except Exception as exc:
            if isinstance(exc, NodeError):
                error = exc
            else:
                self._log_internal(exc, "eth_sendRawTransaction", peer)
                error = InternalError("internal error")
            for i in acks:
                item = items[i]  # it was framed and answered
                request_id = item.request.id if isinstance(item, _Prepared) else item.get("id")  # type: ignore[union-attr]
                replies[i] = self._error_response(request_id, error, _method_label(item), peer)

    def _refuse_over_size(self, item: object, peer: str) -> str | None:
        if isinstance(item, dict) and "id" not in item:
            return None
        if isinstance(item, _Prepared):
            request_id = item.request.id
        else:
            request_id = item.get("id") if isinstance(item, dict) and valid_id(item.get("id")) else None
        error = ResponseTooLarge(
            f"batch response too large, limit {self._limits.max_batch_response_bytes} bytes; call not run",
            data={"limit": self._limits.max_batch_response_bytes},
        )
        return self._error_response(request_id, error, _method_label(item), peer)

    def _handle_one(self, item: object, ctx: CallContext, peer: str) -> str | None:
        args: tuple[object, ...] | None = None
        if isinstance(item, _Prepared):
            request, args = item.request, item.args
        else:
            try:
                request = _frame(item)
            except InvalidRequest as exc:
                request_id = item.get("id") if isinstance(item, dict) and valid_id(item.get("id")) else None
                return self._error_response(request_id, exc, _method_label(item), peer)
        try:
            result = self._call(request, ctx, args)
            if request.id is _NO_ID:
                return None
            reply = encode_reply({"jsonrpc": "2.0", "id": request.id, "result": result})
        except NodeError as exc:
            if request.id is _NO_ID:
                self._log_error(exc, request.method, peer)
                return None
            return self._error_response(request.id, exc, request.method, peer)
        except Exception as exc:
            self._log_internal(exc, request.method, peer)
            if request.id is _NO_ID:
                return None
            return _encode_error(request.id, INTERNAL_ERROR, "internal error", {"code": InternalError.code})
        return reply

    def _call(self, request: _Request, ctx: CallContext, args: tuple[object, ...] | None = None) -> object:
        """Run the method; `args`: its params as a worker already parsed them."""
        method = self._methods.get(request.method)
        if method is None:
            raise MethodNotFound(f"the method {request.method[:80]} does not exist/is not available")
        if args is None:
            if isinstance(request.params, dict):
                # Ethereum JSON-RPC is positional; by-name params are a per-method failure, not a bad envelope.
                raise InvalidParams("named params are not supported; pass params as an array")
            args = tuple(method.parse_args(request.params))
        return method.handler(ctx, *args)

    def _error_response(self, request_id: object, exc: NodeError, method: str, peer: str) -> str:
        self._log_error(exc, method, peer)
        return _encode_error(request_id, exc.rpc_code, exc.message, error_data(exc))

    def _log_error(self, exc: NodeError, method: str, peer: str) -> None:
        log_event(
            logger, logging.INFO, "rpc_error",
            method=method[:80], code=exc.rpc_code, kind=exc.code, peer=peer, message=exc.message,
        )

    def _log_internal(self, exc: Exception, method: str, peer: str) -> None:
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        log_event(
            logger, logging.ERROR, "rpc_internal_error",
            method=method[:80], code=INTERNAL_ERROR, peer=peer, exc_type=type(exc).__name__,
            exc=_first_line(exc), at=f"{frame.filename}:{frame.lineno}" if frame else None,
        )


def _raw_transactions(batch: list[object]) -> list[bytes]:
    """The raw txs a batch's eth_sendRawTransaction calls carry, as far as they look like hex: a hint for the
    node to verify them ahead; each call is still parsed and checked on its own."""
    raws = []
    for item in batch:
        if isinstance(item, dict) and item.get("method") == "eth_sendRawTransaction":
            params = item.get("params")
            if isinstance(params, list) and params and isinstance(params[0], str) and params[0].startswith("0x"):
                with contextlib.suppress(ValueError):
                    raws.append(bytes.fromhex(params[0][2:]))
    return raws


def _frame(item: object) -> _Request:
    """Check a request object's envelope (JSON-RPC 2.0 section 4)."""
    if not isinstance(item, dict):
        raise InvalidRequest(f"invalid request: expected an object, got {json_type(item)}")
    if "id" in item and not valid_id(item["id"]):
        raise InvalidRequest(f"invalid request: id must be a string, number or null, got {json_type(item['id'])}")
    if item.get("jsonrpc") != "2.0":
        raise InvalidRequest('invalid request: "jsonrpc" must be exactly "2.0"')
    method = item.get("method")
    if not isinstance(method, str) or not method:
        raise InvalidRequest(f'invalid request: "method" must be a non-empty string, got {json_type(method)}')
    params = item.get("params")
    if params is None:
        params = []
    elif not isinstance(params, list | dict):
        raise InvalidRequest(f'invalid request: "params" must be an array or object, got {json_type(params)}')
    return _Request(item.get("id", _NO_ID), method, params)


def _method_label(item: object) -> str:
    if isinstance(item, _Prepared):
        return item.request.method
    method = item.get("method") if isinstance(item, dict) else None
    return method[:80] if isinstance(method, str) else "-"


def _jsonable(data: object) -> object:
    return format_data(data) if isinstance(data, bytes | bytearray) else data


def _encode_error(request_id: object, code: int, message: str, data: object) -> str:
    error: dict[str, object] = {"code": code, "message": message}
    if data is not None:
        error["data"] = _jsonable(data)
    try:
        return encode_reply({"jsonrpc": "2.0", "id": request_id, "error": error})
    except (TypeError, ValueError):
        error.pop("data")
        return encode_reply({"jsonrpc": "2.0", "id": request_id, "error": error})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

