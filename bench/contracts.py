"""Gas per clearing entry (single vs batched) and pyrevm throughput for the suite's main entry points.

Prints one JSON object. Run: python -m bench.contracts [--calls N] [--tiny]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from contracts.evm import EvmSession
from contracts.ids import bank_id, text_id
from contracts.suite import MemberSpec, Suite

BANKS = {"WEBANK": "0x" + "a1" * 20, "MYBANK": "0x" + "b1" * 20, "XWBANK": "0x" + "c1" * 20}
VALUE_DATE = 20261124


def fresh_suite() -> Suite:
    members = [MemberSpec(b, b, "BANK", (a,)) for b, a in BANKS.items()]
    return Suite.deploy(EvmSession(), "0x" + "de" * 20, members, ["0x" + "99" * 20])


def entry(i: int) -> dict:
    return {
        "entryId": text_id(f"E-{i}"), "payer": bank_id("MYBANK"), "payee": bank_id("WEBANK"), "amount": 100 + i,
        "kind": 2, "loanId": b"\0" * 32, "valueDate": VALUE_DATE, "ref": b"\0" * 32,
    }  # fmt: skip


def loan(i: int) -> dict:
    tranches = [{"bank": bank_id("WEBANK"), "shareBps": 3_000}, {"bank": bank_id("MYBANK"), "shareBps": 5_000},
                {"bank": bank_id("XWBANK"), "shareBps": 2_000}]  # fmt: skip
    return {
        "loanId": text_id(f"LN-{i}"), "servicer": bank_id("WEBANK"), "currency": b"CNY", "principal": 1_000_000,
        "borrowerHash": b"\x11" * 32, "termsHash": b"\x22" * 32, "tranches": tranches,
    }  # fmt: skip


def gas_of(suite: Suite, sender: str, contract: str, fn: str, *args: object) -> int:
    outcome = suite.transact(sender, contract, fn, *args)
    assert outcome.success, outcome.error
    return outcome.gas_used


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.contracts", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5_000, help="calls per throughput measurement")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (50 calls)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.calls = 50
    suite = fresh_suite()
    my = BANKS["MYBANK"]
    we = BANKS["WEBANK"]
    gas_of(suite, my, "Clearing", "postEntry", entry(0))  # warm the cycle's participant slots
    single = [gas_of(suite, my, "Clearing", "postEntry", entry(i)) for i in range(1, 101)]
    batch = gas_of(suite, my, "Clearing", "postEntries", [entry(i) for i in range(1_000, 1_100)])

    gas_register = gas_of(suite, we, "CoLending", "registerLoan", loan(0))
    gas_register_batch = gas_of(suite, we, "CoLending", "registerLoans", [loan(i) for i in range(1, 101)]) / 100
    dd = {"loanId": text_id("LN-0"), "drawdownId": text_id("DD-0"), "amount": 1_000_000, "valueDate": VALUE_DATE}
    gas_drawdown = gas_of(suite, we, "CoLending", "drawdown", dd)
    rp = {
        "loanId": text_id("LN-0"), "repaymentId": text_id("RP-0"), "principal": 10_000, "interest": 321,
        "penalty": 0, "valueDate": VALUE_DATE,
    }  # fmt: skip
    gas_repay = gas_of(suite, we, "CoLending", "repay", rp)

    # Throughput: pre-encoded calldata, so this measures the EVM and not the ABI encoder.
    session = suite.session
    clearing = suite.address("Clearing")
    codec = suite.codecs["Clearing"]
    payloads = [codec.encode_call("postEntry", entry(10_000 + i)) for i in range(args.calls)]
    started = time.perf_counter()
    for data in payloads:
        session.evm.message_call(my, clearing, data)
    entry_calls_per_s = args.calls / (time.perf_counter() - started)

    view = suite.codecs["Consortium"].encode_call("canWrite", we)
    consortium = suite.address("Consortium")
    started = time.perf_counter()
    for _ in range(args.calls):
        session.evm.message_call(we, consortium, view, is_static=True)
    view_calls_per_s = args.calls / (time.perf_counter() - started)

    result = {
        "gas_per_entry_single": round(sum(single) / len(single)),
        "gas_per_entry_batch100": round(batch / 100),
        "gas_register_loan": gas_register,
        "gas_register_loan_batch100_each": round(gas_register_batch),
        "gas_drawdown_3_tranches": gas_drawdown,
        "gas_repayment_3_tranches": gas_repay,
        "calls_per_s": round(entry_calls_per_s),
        "post_entry_calls_per_s": round(entry_calls_per_s),
        "can_write_view_calls_per_s": round(view_calls_per_s),
        "inputs": {"calls": args.calls, "engine": "pyrevm", "banks": len(BANKS), "evm": "shanghai"},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
