"""The node's Consortium calls agree with the compiled contract: selectors and result decoding."""

from eth_abi import encode

from contracts.abi import ContractCodec
from contracts.artifacts import load_artifact
from node.execution import consortium_calls as calls


def test_every_selector_the_node_uses_is_the_compiled_abis() -> None:
    codec = ContractCodec(load_artifact("Consortium").abi, "Consortium")
    account, member_id = b"\x11" * 20, b"\x22" * 32
    assert calls.encode_can_write(account) == codec.encode_call("canWrite", "0x" + account.hex())
    assert calls.encode_validators() == codec.encode_call("validators")
    assert calls.encode_member_ids() == codec.encode_call("memberIds")
    assert calls.encode_member(member_id) == codec.encode_call("member", member_id)


def test_results_decode_as_the_contract_returns_them() -> None:
    validators = [b"\x01" * 20, b"\x02" * 20]
    assert calls.decode_validators(encode(["address[]"], [validators])) == tuple(validators)
    assert calls.decode_member_ids(encode(["bytes32[]"], [[b"\x03" * 32]])) == (b"\x03" * 32,)
    assert calls.decode_member(encode(["string", "uint8", "bool"], ["Bank A", 2, True])) == ("Bank A", "OBSERVER", True)
    assert calls.decode_member(encode(["string", "uint8", "bool"], ["gone", 7, False])) == ("gone", "NONE", False)
    assert calls.decode_bool(encode(["bool"], [True])) and not calls.decode_bool(b"")
