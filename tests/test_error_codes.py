"""Every package's errors follow one code scheme, `package.reason` in lower snake case, so a caller can branch
on a code without knowing which layer raised it."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

ERROR_MODULES = ["node.errors", "node.rpc.errors", "network.errors", "network.qbft.errors", "clearing.errors", "contracts.errors",
                 "colend.errors"]
SCHEME = re.compile(r"^(?P<package>[a-z]+)\.[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def _error_classes(module_name: str) -> list[type[Exception]]:
    module = importlib.import_module(module_name)
    return [obj for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, Exception) and obj.__module__ == module_name]


@pytest.mark.parametrize("module_name", ERROR_MODULES)
def test_every_error_code_is_package_dot_reason(module_name: str) -> None:
    classes = _error_classes(module_name)
    assert classes
    package = module_name.split(".")[0]
    for cls in classes:
        match = SCHEME.match(cls.code)
        assert match and match["package"] == package, f"{cls.__name__}.code = {cls.code!r}"


def test_no_two_errors_share_a_code() -> None:
    codes = [cls.code for name in ERROR_MODULES for cls in _error_classes(name)]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
