"""The in-process executor (node/execution/abc.py Executor): transactions run in pyrevm against the node's state,
producing receipts and the touched state; OpenBlock, a block run as its txs come, lives beside it.

The node owns nonces (pyrevm's message_call leaves the caller's nonce alone): each tx must carry the
sender's current nonce and the executor sets nonce + 1 afterwards, whether the tx succeeded or reverted.
Every tx is re-checked for permission (`Consortium.canWrite`) against the state at its position in the
block. The block's own number and timestamp are the EVM environment; the wall clock is never read here.

Gas must not depend on a node's history. pyrevm never ends a transaction: whatever its journal loaded stays
warm (EIP-2929) and keeps the "original" value of first load (EIP-2200 SSTORE pricing), so a node that
restarted would charge other gas than one that did not. Hence the head state lives in pyrevm's database
layer, never in its journal: insert_account_storage writes there only while the account is not in the
journal, so each insert runs inside its own snapshot/revert. A block executes inside one snapshot; once its
effects are read the snapshot is reverted (the journal is empty again) and the net diff is written back
to the database layer, exactly as load() does at restart. Every block thus starts all-cold with original =
block-start values, on every node. (Within a block, warmth and originals carry over between its txs: a
deterministic deviation from per-tx Ethereum pricing.) Snapshots are strictly paired with reverts; nothing
here calls commit(). Keeping the journal empty also keeps journal_str, parsed per block, proportional to
what the block touched rather than to the whole state.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pyrevm

from network.hashing import keccak256 as keccak
from node.chain.receipt import Log, Receipt
from node.chain.roots import block_roots
from node.chain.state import EMPTY_CODE_HASH, AccountRecord, StateDiff, TouchedAccount
from node.execution.abc import BlockContext, BlockExecution, BlockTicket, ExecutedBlock, TxSkipped
from node.execution.bytecode import fresh_contract_info, unpadded
from node.execution.consortium_calls import decode_bool, encode_can_write
from node.execution.touched_state import TouchedStateFormatError, touched_in
from node.rlp_codec import encode as rlp_encode
from node.tx.model import Transaction

EVM_SPEC = "SHANGHAI"  # matches the contracts' evmVersion (contracts.compiler)
PERMISSION_CHECK_GAS = 1_000_000
_REVERT_OUTPUT = re.compile(r"output: 0x([0-9a-fA-F]*)")
ZERO_ADDRESS = b"\x00" * 20


def hexaddr(address: bytes) -> str:
    return "0x" + address.hex()


@dataclass(frozen=True, slots=True)
class CallResult:
    success: bool
    output: bytes  # return data, or revert data when not successful
    gas_used: int
    error: str = ""


class EvmExecutor:
    """One pyrevm instance holding the head state (node/execution/abc.py Executor, in process); not thread-safe
    (the node serialises access)."""

    def __init__(self, chain_id: int, block_gas_limit: int, consortium: bytes | None) -> None:
        self.chain_id = chain_id
        self.block_gas_limit = block_gas_limit
        self.consortium = consortium
        self._evm = self._fresh_evm()
        self._coinbase = hexaddr(ZERO_ADDRESS)
        self._known_codes: set[bytes] = {EMPTY_CODE_HASH}
        self._log_addresses: dict[str, bytes] = {}
        self._open: OpenBlock | None = None  # a block whose txs run as they come (open_block)

    def _fresh_evm(self) -> pyrevm.EVM:
        env = pyrevm.Env(cfg=pyrevm.CfgEnv(chain_id=self.chain_id), block=pyrevm.BlockEnv(number=0, timestamp=0))
        return pyrevm.EVM(env=env, gas_limit=self.block_gas_limit, spec_id=EVM_SPEC)

    # -- state loading -------------------------------------------------------------------------------

    def loading(self, accounts: Iterable[tuple[bytes, AccountRecord]], code_of: Callable[[bytes], bytes],
                storage: Iterable[tuple[bytes, int, int]]) -> Iterator[tuple[bytes, int, int]]:
        """Replace the EVM with a fresh one holding exactly this state, all of it in the database layer, yielding
        `storage` on the way: a caller that also loads the state (the read view) reads the store once for both."""
        self.discard_open()
        self._evm = self._fresh_evm()
        self._coinbase = hexaddr(ZERO_ADDRESS)
        self._known_codes = {EMPTY_CODE_HASH}
        yield from _inserting(self, list(accounts), code_of, storage)

    def load(self, accounts: Iterable[tuple[bytes, AccountRecord]], code_of: Callable[[bytes], bytes],
             storage: Iterable[tuple[bytes, int, int]]) -> None:
        """loading(), all at once."""
        deque(self.loading(accounts, code_of, storage), maxlen=0)

    def insert_storage(self, code_of: Callable[[bytes], bytes], storage: Iterable[tuple[bytes, int, int]]) -> None:
        """More of the state being loaded: slots of accounts load() already inserted."""
        self.discard_open()
        _insert_state(self, [], code_of, storage)

    def apply(self, diff: StateDiff, code_of: Callable[[bytes], bytes]) -> None:
        """Write a committed block's net effects back into the (reverted) EVM, the way load() would (in any
        order: each write lands in a map, and no two of them hit the same slot)."""
        codes = diff.codes
        self.discard_open()
        _insert_state(self, sorted(diff.accounts.items()), lambda h: codes[h] if h in codes else code_of(h),
                      ((a, s, v) for (a, s), v in diff.storage.items()))

    @property
    def evm(self) -> pyrevm.EVM:
        """The live EVM, for genesis deployment and tests; callers must keep snapshots paired."""
        return self._evm

    # -- reads ----------------------------------------------------------------------------------------

    @contextmanager
    def _scratch(self) -> Iterator[pyrevm.EVM]:
        """A snapshot that is always reverted. revm preloads the coinbase without a journal entry (EIP-3651),
        which a revert would not undo; loading it first, journaled, keeps the journal truly empty after."""
        evm = self._evm
        checkpoint = evm.snapshot()
        try:
            evm.basic(self._coinbase)
            yield evm
        finally:
            evm.revert(checkpoint)

    def _read(self, read: Callable[[], object]) -> object:
        """Reads load accounts and slots, i.e. warm them: keep that out of the persistent journal."""
        with self._scratch():
            return read()

    def nonce(self, address: bytes) -> int:
        return self._read(lambda: self._evm.basic(hexaddr(address)).nonce)  # type: ignore[return-value]

    def balance(self, address: bytes) -> int:
        return self._read(lambda: self._evm.get_balance(hexaddr(address)))  # type: ignore[return-value]

    def code(self, address: bytes) -> bytes:
        """The code as deployed (eth_getCode), without revm's padding."""
        def read() -> bytes:
            info = self._evm.basic(hexaddr(address))
            return unpadded(self._evm.get_code(hexaddr(address)) or b"", bytes(info.code_hash))
        return self._read(read)  # type: ignore[return-value]

    def storage(self, address: bytes, slot: int) -> int:
        return self._read(lambda: self._evm.storage(hexaddr(address), slot))  # type: ignore[return-value]

    # -- calls without effect -------------------------------------------------------------------------

    def set_context(self, ctx: BlockContext) -> None:
        self._coinbase = hexaddr(ctx.proposer)
        self._evm.set_block_env(pyrevm.BlockEnv(
            number=ctx.number, timestamp=ctx.timestamp, coinbase=hexaddr(ctx.proposer), difficulty=0,
            prevrandao=b"\x00" * 32, basefee=0, gas_limit=ctx.gas_limit))

    def _permitted_here(self, sender: bytes) -> bool:
        if self.consortium is None:
            return True
        try:
            out = self._evm.message_call(hexaddr(ZERO_ADDRESS), hexaddr(self.consortium), encode_can_write(sender),
                                         gas=PERMISSION_CHECK_GAS, is_static=True)
        except RuntimeError:
            return False
        return decode_bool(bytes(out))

    def can_write(self, sender: bytes) -> bool:
        """Permission against the head state, leaving no trace in the journal."""
        with self._scratch():
            return self._permitted_here(sender)

    def call(self, sender: bytes, to: bytes | None, data: bytes, value: int = 0, gas: int | None = None) -> CallResult:
        """eth_call: execute against the head state and throw the effects away."""
        gas = min(gas or self.block_gas_limit, self.block_gas_limit)
        with self._scratch():
            return self._run(sender, to, data, value, gas)[0]

    def estimate_gas(self, sender: bytes, to: bytes | None, data: bytes, value: int = 0) -> CallResult:
        """Gas limit that lets the call succeed: measured use plus headroom for refunds and the 63/64 rule."""
        first = self.call(sender, to, data, value)
        if not first.success:
            return first
        guess = min(self.block_gas_limit, first.gas_used * 5 // 4 + 10_000)
        while guess < self.block_gas_limit and not self.call(sender, to, data, value, guess).success:
            guess = min(self.block_gas_limit, guess * 2)
        return CallResult(True, first.output, guess)

    def _run(self, sender: bytes, to: bytes | None, data: bytes, value: int, gas: int
             ) -> tuple[CallResult, bytes | None, list[Log]]:
        evm = self._evm
        created: bytes | None = None
        try:
            if to is None:
                created = bytes.fromhex(evm.deploy(hexaddr(sender), data, value=value, gas=gas)[2:])
                output = b""
            else:
                output = bytes(evm.message_call(hexaddr(sender), hexaddr(to), data, value=value, gas=gas))
        except RuntimeError as exc:
            result = evm.result
            message = str(exc)
            if result is None:  # refused before running (e.g. value without balance): no gas burned by code
                return CallResult(False, b"", 0, message), None, []
            match = _REVERT_OUTPUT.search(message) if result.reason == "Revert" else None
            revert = bytes.fromhex(match.group(1)) if match else b""
            return CallResult(False, revert, result.gas_used, result.reason), None, []
        result = evm.result
        logs = []
        addresses = self._log_addresses
        for lg in result.logs:
            address = addresses.get(lg.address)
            if address is None:
                address = addresses[lg.address] = bytes.fromhex(lg.address[2:])
            topics, payload = lg.data
            logs.append(Log(address, tuple(topics), bytes(payload)))
        if created is not None:
            output = self._evm.get_code(hexaddr(created)) or b""
        return CallResult(True, output, result.gas_used), created, logs

    # -- blocks ---------------------------------------------------------------------------------------

    def execute_block(self, ctx: BlockContext, txs: Sequence[Transaction], strict: bool,
                      gas_budget: int | None = None) -> BlockExecution:
        """Run txs in order. Non-strict (proposer) skips txs that may not run; strict (import) raises TxSkipped.
        `gas_budget` (proposer only): stop before the first tx whose gas limit no longer fits in what the block
        has actually used so far (geth's rule), leaving it and the rest to the pool.

        Leaves the EVM as it was: the caller writes the effects back with block_committed() once durable.
        """
        block = self._open_block(ctx, gas_budget, strict)
        try:
            block.extend(txs)
            return block.seal()
        finally:
            block.discard()

    def run_block(self, ctx: BlockContext, txs: Sequence[Transaction], strict: bool,
                  gas_budget: int | None = None) -> ExecutedBlock:
        """execute_block, then the receipts' encodings and the header's roots and bloom."""
        return finished(self.execute_block(ctx, txs, strict, gas_budget))

    def open_block(self, ctx: BlockContext, gas_budget: int | None = None) -> BlockTicket:
        """A block to run txs into as they come (OpenBlock); the one open before, if any, is discarded."""
        return self._open_block(ctx, gas_budget, False).ticket

    def _open_block(self, ctx: BlockContext, gas_budget: int | None, strict: bool) -> OpenBlock:
        self.discard_open()
        if self._evm.journal_state:  # out.slot_changes take block-start values from first loads in the journal
            raise TouchedStateFormatError("a block must start with an empty journal")
        self.set_context(ctx)
        self._open = OpenBlock(self, BlockTicket(ctx.number), ctx.gas_limit, strict, gas_budget)
        return self._open

    @property
    def open(self) -> OpenBlock | None:
        """The block open_block opened, until it is sealed or discarded."""
        return self._open

    def is_open(self, ticket: BlockTicket) -> bool:
        """Whether the block opened under `ticket` is still open: anything else run or written since discarded it."""
        return self._open is not None and self._open.ticket is ticket

    def extend_block(self, ticket: BlockTicket, txs: Sequence[Transaction]) -> None:
        """Run more txs into the open block, unless it was discarded meanwhile."""
        block = self._open
        if block is not None and block.ticket is ticket:
            block.extend(txs)

    def seal_block(self, ticket: BlockTicket) -> ExecutedBlock | None:
        """The open block, sealed and finished; None if it was discarded meanwhile."""
        block = self._open
        if block is None or block.ticket is not ticket:
            return None
        return finished(block.seal())

    def discard_open(self) -> None:
        """Throw away the open block, if any: whatever writes the state, or runs another block, calls this."""
        if self._open is not None:
            self._open.discard()

    def _write_nonce(self, sender: bytes, nonce: int) -> None:
        address = hexaddr(sender)
        info = self._evm.basic(address)
        if info.nonce != nonce:
            self._evm.insert_account_info(address, pyrevm.AccountInfo(
                nonce=nonce, balance=info.balance, code_hash=info.code_hash, code=info.code))

    def _skip_reason(self, tx: Transaction, gas_used: int, gas_limit: int, permitted: dict[bytes, bool],
                     nonces: dict[bytes, int]) -> str:
        if tx.chain_id != self.chain_id:
            return "wrong chain id"
        if gas_used + tx.gas_limit > gas_limit:
            return "block gas limit reached"
        expected = nonces.get(tx.sender)
        if expected is None:
            expected = nonces[tx.sender] = self._evm.basic(hexaddr(tx.sender)).nonce
        if tx.nonce != expected:
            return f"nonce {tx.nonce} is not the account nonce {expected}"
        allowed = permitted.get(tx.sender)
        if allowed is None:
            allowed = permitted[tx.sender] = self._permitted_here(tx.sender)
        if not allowed:
            return "sender not permitted to write"
        return ""

    def collect_touched(self, out: BlockExecution, senders: set[bytes], from_empty: bool = False) -> None:
        """Fill out.accounts/codes with the final values of everything the journal loaded, out.slot_changes with
        the slots whose value differs from block start."""
        evm = self._evm
        touched = touched_in(evm.journal_str)
        for address in sorted(touched.accounts | senders):
            info = evm.basic(hexaddr(address))
            code_hash = bytes(info.code_hash) if info.code_hash else EMPTY_CODE_HASH
            out.accounts[address] = TouchedAccount(info.nonce, info.balance, code_hash)
            if code_hash not in self._known_codes:
                out.codes[code_hash] = unpadded(evm.get_code(hexaddr(address)) or b"", code_hash)
        if from_empty:  # genesis: the state before is empty, whatever the journal took as first values
            out.slot_changes.update((key, (0, value)) for key, value in touched.slots.items())
        else:
            out.slot_changes.update(touched.changed)

    def block_committed(self, diff: StateDiff, code_of: Callable[[bytes], bytes]) -> None:
        """The block is durable: write its net effects back (execution was reverted)."""
        self.apply(diff, code_of)

    def close(self) -> None:
        """Nothing to release: the EVM lives in this process."""


class OpenBlock:
    """A block whose txs run as they come, inside one snapshot of the executor's EVM: a proposer executes what
    arrives while it waits for its block period (node/engine/next_block.py), instead of all of it once the period ends.

    extend() runs more txs on the state the earlier ones left; seal() reads the block's effects and reverts,
    as execute_block does, which is open, one extend and seal: txs run in any number of extends give the block
    that running them all at once gives. Nothing the EVM does between two extends but the block's own txs."""

    def __init__(self, executor: EvmExecutor, ticket: BlockTicket, gas_limit: int, strict: bool,
                 gas_budget: int | None) -> None:
        self._executor = executor
        self.ticket = ticket
        self._strict = strict
        self._gas_budget = gas_budget
        self._gas_limit = gas_limit
        evm = executor._evm
        self._checkpoint = evm.snapshot()
        evm.basic(executor._coinbase)  # see EvmExecutor._scratch
        self.out = BlockExecution()
        self.full = False  # a tx no longer fitted the gas budget: it and every later one wait for the next block
        self.closed = False
        self._senders: set[bytes] = set()
        # canWrite reads the Consortium's storage alone, which only a successful call into the Consortium
        # changes, and every such change emits an event from it: between two of those the answers stand.
        self._permitted: dict[bytes, bool] = {}
        self._nonces: dict[bytes, int] = {}  # each sender's nonce as this block has moved it, so as not to ask the EVM

    def extend(self, txs: Iterable[Transaction]) -> None:
        """Run these txs after the block's earlier ones (non-strict: a tx that may not run is skipped)."""
        if self.closed:
            raise TouchedStateFormatError("the block is no longer open")
        executor, out, budget = self._executor, self.out, self._gas_budget
        consortium = executor.consortium
        for tx in txs:
            if self.full or (budget is not None and out.gas_used + tx.gas_limit > budget and out.included):
                self.full = True
                return
            reason = executor._skip_reason(tx, out.gas_used, self._gas_limit, self._permitted, self._nonces)
            if reason:
                if self._strict:
                    raise TxSkipped(f"tx 0x{tx.hash.hex()}: {reason}")
                out.skipped.append((tx, reason))
                continue
            if tx.to is None:
                executor._write_nonce(tx.sender, tx.nonce)  # a CREATE's address comes from the EVM's nonce
            result, created, logs = executor._run(tx.sender, tx.to, tx.data, tx.value, tx.gas_limit)
            self._nonces[tx.sender] = tx.nonce + 1
            self._senders.add(tx.sender)
            if self._permitted and (tx.to == consortium or any(log.address == consortium for log in logs)):
                self._permitted.clear()
            out.gas_used += result.gas_used
            contract = created
            if tx.to is None and contract is None:
                contract = create_address(tx.sender, tx.nonce)
            out.included.append(tx)
            out.receipts.append(Receipt(
                status=1 if result.success else 0, gas_used=result.gas_used, cumulative_gas_used=out.gas_used,
                logs=tuple(logs), contract_address=contract, revert_data=b"" if result.success else result.output))

    def seal(self) -> BlockExecution:
        """The block's effects (txs, receipts, touched state); the EVM is left as it was before the block."""
        if self.closed:
            raise TouchedStateFormatError("the block is no longer open")
        try:
            # Nothing a call runs reads an account's own nonce (message_call leaves it alone; CREATE is handled
            # in extend), so each sender's final nonce is written once per block, not once per tx.
            for sender in sorted(self._senders):
                self._executor._write_nonce(sender, self._nonces[sender])
            self._executor.collect_touched(self.out, self._senders)
        finally:
            self.discard()
        return self.out

    def discard(self) -> None:
        if not self.closed:
            self.closed = True
            executor = self._executor
            executor._evm.revert(self._checkpoint)
            if executor._open is self:
                executor._open = None


def finished(out: BlockExecution) -> ExecutedBlock:
    """A block's execution with the receipts' encodings and the header's roots and bloom."""
    logs_rlps = [r.logs_rlp() for r in out.receipts]
    encoded = tuple(r.encode(logs) for r, logs in zip(out.receipts, logs_rlps, strict=True))
    return ExecutedBlock(out, encoded, block_roots(out.included, out.receipts, logs_rlps))


def create_address(sender: bytes, nonce: int) -> bytes:
    return keccak(rlp_encode([sender, nonce]))[12:]


def _account_info(record: AccountRecord, code_of: Callable[[bytes], bytes]) -> pyrevm.AccountInfo:
    if record.code_hash == EMPTY_CODE_HASH:
        return pyrevm.AccountInfo(nonce=record.nonce, balance=record.balance, code_hash=record.code_hash)
    code = code_of(record.code_hash)
    if (record.nonce, record.balance) == (1, 0):  # a contract account as deployed: analysed code, see analysed_code
        analysed = fresh_contract_info(record.code_hash, code, EVM_SPEC)
        if analysed is not None:
            return analysed
    return pyrevm.AccountInfo(nonce=record.nonce, balance=record.balance, code_hash=record.code_hash, code=code)


def _insert_state(executor: EvmExecutor, accounts: list[tuple[bytes, AccountRecord]],
                  code_of: Callable[[bytes], bytes], storage: Iterable[tuple[bytes, int, int]]) -> None:
    deque(_inserting(executor, accounts, code_of, storage), maxlen=0)


def _inserting(executor: EvmExecutor, accounts: list[tuple[bytes, AccountRecord]],
               code_of: Callable[[bytes], bytes], storage: Iterable[tuple[bytes, int, int]]
               ) -> Iterator[tuple[bytes, int, int]]:
    """Into the EVM's database layer, yielding each slot once it is in. pyrevm writes a storage insert to the
    database only while the account is not loaded in the journal, and the insert loads it: so each insert sits
    between a snapshot and a revert (a second insert after one snapshot lands in the journal and the revert drops
    it). Requires an empty journal."""
    evm = executor._evm
    if evm.journal_state:
        raise TouchedStateFormatError("state must be written while the journal is empty")
    for address, record in accounts:
        evm.insert_account_info(hexaddr(address), _account_info(record, code_of))
        executor._known_codes.add(record.code_hash)
    snapshot, insert, revert = evm.snapshot, evm.insert_account_storage, evm.revert
    last_address, target = b"", ""
    for item in storage:
        address, slot, value = item
        if address != last_address:  # the store yields slots grouped by address
            last_address, target = address, hexaddr(address)
        checkpoint = snapshot()
        insert(target, slot, value)  # lands in the DB layer, survives the revert
        revert(checkpoint)
        yield item
