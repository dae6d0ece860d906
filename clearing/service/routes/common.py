"""What every route module shares: input validation (aiohttp-pydantic), parameter types, the error body,
JSON replies, cursor paging and the bank a per-bank listing reads.

Every list that can grow pages by cursor (`after` = the `next` of the previous page, `limit` <= 500).
A bank sees only loans in which it holds a tranche and cycles and entries it is party to; anything else
answers exactly like something that does not exist.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_pydantic.decorator import inject_params
from aiohttp_pydantic.oas.typing import r200, r400, r401, r404
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clearing.errors import BadRequest
from clearing.service.access import Access, access, hidden, scope

T = TypeVar("T")
ID_TEXT = r"^[\x21-\x7e]{1,32}$"
Limit = Annotated[int, Field(ge=1, le=500)]
Cursor = Annotated[str | None, Field(max_length=200)]
IdText = Annotated[str, Field(pattern=ID_TEXT)]
CycleId = Annotated[int, Field(ge=0, le=2**63 - 1)]


class Strict(BaseModel):  # request bodies: unknown fields are refused (no docstring: it would enter the schema)
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine code, clearing.<reason>")
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


# what a listing answers (a page, a bad query, no key) and a read of one thing (it, no key, nothing by that id)
Listed = r200[T] | r400[ErrorBody] | r401[ErrorBody]
Found = r200[T] | r401[ErrorBody] | r404[ErrorBody]


async def _validation_error(exc: ValidationError, context: str) -> web.StreamResponse:
    first = exc.errors(include_url=False)[0] if exc.errors() else {"loc": (), "msg": "invalid"}
    where = ".".join(str(p) for p in first.get("loc", ()))
    raise BadRequest(f"{context} {where}: {first.get('msg')}".strip())


inject = inject_params(on_validation_error=_validation_error).and_request


class ApiRoutes:
    """One resource's route table. A route is declared with its path and access rule; it gets the input
    validation and the resource's OpenAPI tag (aiohttp-pydantic reads tags from the docstring)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self._table = web.RouteTableDef()

    def __iter__(self) -> Iterator[web.AbstractRouteDef]:
        return iter(self._table)

    def get(self, path: str, rule: Access, *, tag: str | None = None) -> Callable[[Callable[..., Any]], Handler]:
        return self._declare("GET", path, rule, tag or self.tag)

    def post(self, path: str, rule: Access) -> Callable[[Callable[..., Any]], Handler]:
        return self._declare("POST", path, rule, self.tag)

    def _declare(self, method: str, path: str, rule: Access, tag: str) -> Callable[[Callable[..., Any]], Handler]:
        def declare(handler: Callable[..., Any]) -> Handler:
            handler.__doc__ = f"{inspect.cleandoc(handler.__doc__ or '')}\n\nTags: {tag}"
            checked = access(rule)(inject(handler))
            self._table.route(method, path)(checked)
            return checked

        return declare


def reply(model: Any, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)


def int_cursor(after: str | None) -> int | None:
    if after is None:
        return None
    try:
        return int(after)
    except ValueError as exc:
        raise BadRequest(f"bad cursor {after!r}") from exc


def next_cursor(items: Sequence[T], limit: int, key: Callable[[T], object]) -> str | None:
    """The `next` of a page: the key of its last item when the page is full (more may follow), else None."""
    return str(key(items[-1])) if len(items) == limit else None


def page_reply(
    model: Callable[..., BaseModel], rows: Sequence[T], limit: int, key: Callable[[T], object],
    item: Callable[[T], Any] = lambda row: row, **extra: Any,
) -> web.Response:  # fmt: skip
    """`rows` (read with `limit`) as the page `model`: each row through `item`, and the cursor of the next page."""
    return reply(model(items=[item(r) for r in rows], next=next_cursor(rows, limit, key), **extra))


def whose(request: web.Request, bank: str | None) -> str:
    """The bank a per-bank listing reads: the caller's own, or for a regulator the one it names."""
    mine = scope(request)
    if mine is not None:
        if bank is not None and bank != mine:
            raise hidden(f"data of bank {bank}")
        return mine
    if bank is None:
        raise BadRequest("a regulator names the bank to list (?bank=...)")
    return bank
