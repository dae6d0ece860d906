"""The /v1 JSON API, one route module per resource, each with its pydantic models beside its handlers.

The app factory (`clearing.service.app.api_app`) adds their route tables in the order of `RESOURCES` there,
which is the order of the OpenAPI document; what they share (validation, parameter types, the error body,
replies and paging) is in `common`.
"""
