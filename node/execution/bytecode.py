"""Contract code between revm and the node: the deployed bytes, and accounts whose code revm has analysed.

revm stores deployed code analysed, padded with at least 33 zero bytes (its jump table needs them), and
pyrevm's get_code returns the padded bytes: what eth_getCode must return, and what the store keeps, is the
code as deployed, whose keccak is the account's code hash (unpadded()).

pyrevm's AccountInfo(code=...) wraps raw bytecode, and revm analyses raw bytecode again on every call frame
that runs it: for the suite's 10-13 KB contracts that was 20 of the 51 us a Clearing.postEntry took (three
frames). So each distinct code is deployed once in a scratch EVM, where revm analyses it, and that account's
info (nonce 1, balance 0, analysed code) is reused for every contract account holding it. Analysis changes
neither results nor gas; anything else falls back to raw code.
"""

from __future__ import annotations

import threading

import pyrevm

from network.hashing import keccak256 as keccak

SCRATCH_DEPLOYER = "0x" + "00" * 19 + "01"
MAX_RUNTIME_BYTES = 0xFFFF  # PUSH2 in the copying constructor below (EIP-170 allows 24,576 anyway)

_lock = threading.Lock()
_by_hash: dict[bytes, pyrevm.AccountInfo | None] = {}


def unpadded(code: bytes, code_hash: bytes) -> bytes:
    """`code` without revm's trailing zero padding: the longest prefix ending where keccak gives code_hash
    (deployed code may itself end in zeros, so zeros are given back one at a time)."""
    if keccak(code) == code_hash:
        return code
    end = len(code.rstrip(b"\x00"))
    while end <= len(code):
        if keccak(code[:end]) == code_hash:
            return code[:end]
        end += 1
    return code  # not revm's padding: leave it as it is


def copying_constructor(code: bytes) -> bytes:
    """Init code that returns `code` as the runtime code: CODECOPY(0, 12, len); RETURN(0, len)."""
    size = len(code).to_bytes(2, "big")
    return b"\x61" + size + b"\x80\x60\x0c\x60\x00\x39\x60\x00\xf3" + code


def fresh_contract_info(code_hash: bytes, code: bytes, spec: str) -> pyrevm.AccountInfo | None:
    """AccountInfo(nonce=1, balance=0, code) with analysed code, or None when revm would not deploy it."""
    with _lock:
        if code_hash in _by_hash:
            return _by_hash[code_hash]
    info = None
    code = unpadded(code, code_hash)
    if code and len(code) <= MAX_RUNTIME_BYTES:
        evm = pyrevm.EVM(spec_id=spec)
        try:
            address = evm.deploy(SCRATCH_DEPLOYER, copying_constructor(code), gas=30_000_000)
        except RuntimeError:  # e.g. code starting with 0xEF (EIP-3541) or over EIP-170's limit
            address = None
        if address is not None:
            deployed = evm.basic(address)
            if bytes(deployed.code_hash) == code_hash and (deployed.nonce, deployed.balance) == (1, 0):
                info = deployed
    with _lock:
        _by_hash[code_hash] = info
    return info
