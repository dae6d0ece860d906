// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {Consortium} from "./Consortium.sol";
import {ValueDates} from "./ValueDates.sol";

/// @title Clearing: interbank obligations, grouped in cycles that are netted, confirmed and settled.
/// @notice Entries are immutable; corrections are new entries that reference the one they correct.
///         A cycle moves OPEN -> CLOSED -> NETTED -> CONFIRMED -> SETTLED, or to DISPUTED from NETTED or
///         CONFIRMED (and back to NETTED, confirmations cleared, when the disputing bank withdraws).
///         Positions are kept incrementally as entries arrive, so netting only freezes and publishes them.
contract Clearing {
    enum CycleStatus { NONE, OPEN, CLOSED, NETTED, CONFIRMED, SETTLED, DISPUTED }

    enum EntryKind { DRAWDOWN, REPAYMENT, FEE, ADJUSTMENT, CORRECTION }

    struct EntryInput {
        bytes32 entryId;
        bytes32 payer;
        bytes32 payee;
        uint256 amount;
        EntryKind kind;
        bytes32 loanId;
        uint32 valueDate;    // yyyymmdd
        bytes32 ref;         // free reference (e.g. the corrected entry id, an invoice id)
    }

    struct Instruction {
        bytes32 payer;
        bytes32 payee;
        uint256 amount;
        bytes32 paymentRef;
        bool acknowledged;
    }

    struct Cycle {
        CycleStatus status;
        uint32 entryCount;
        uint32 confirmationsNeeded;
        uint32 confirmations;
        uint32 acknowledgements;
        bytes32 disputedBy;
    }

    Consortium public immutable consortium;
    address private immutable _deployer;
    address public coLending;

    uint256 public currentCycle;
    mapping(uint256 => Cycle) private _cycles;
    mapping(uint256 => bytes32[]) private _participants;
    mapping(uint256 => mapping(bytes32 => bool)) private _isParticipant;
    mapping(uint256 => mapping(bytes32 => int256)) private _position;
    mapping(uint256 => mapping(bytes32 => mapping(bytes32 => uint256))) private _gross;
    mapping(uint256 => mapping(bytes32 => bool)) public confirmed;
    mapping(uint256 => Instruction[]) private _instructions;

    mapping(bytes32 => bytes32) private _entryHash;

    error NotCoLending(address caller);
    error AlreadyBound();
    error InvalidEntry(bytes32 entryId);
    error ZeroAmount(bytes32 entryId);
    error SameParty(bytes32 entryId, bytes32 bank);
    error InvalidValueDate(uint32 valueDate);
    error NotPayer(bytes32 entryId, bytes32 caller);
    error BankNotActive(bytes32 bankId);
    error IdConflict(bytes32 id);
    error UnknownEntry(bytes32 entryId);
    error UnknownCycle(uint256 cycleId);
    error BadCycleStatus(uint256 cycleId, CycleStatus actual);
    error EmptyCycle(uint256 cycleId);
    error NotParticipant(uint256 cycleId, bytes32 bankId);
    error NothingToConfirm(uint256 cycleId, bytes32 bankId);
    error AlreadyConfirmed(uint256 cycleId, bytes32 bankId);
    error UnknownInstruction(uint256 cycleId, uint256 index);
    error NotInstructionPayer(uint256 cycleId, uint256 index, bytes32 bankId);
    error NotInstructionPayee(uint256 cycleId, uint256 index, bytes32 bankId);
    error PaymentAlreadyRecorded(uint256 cycleId, uint256 index);
    error PaymentNotRecorded(uint256 cycleId, uint256 index);
    error AlreadyAcknowledged(uint256 cycleId, uint256 index);
    error EmptyPaymentRef(uint256 cycleId, uint256 index);
    error NotDisputingBank(uint256 cycleId, bytes32 bankId);

    event EntryPosted(
        bytes32 indexed entryId,
        uint256 indexed cycleId,
        bytes32 indexed payer,
        bytes32 payee,
        uint256 amount,
        EntryKind kind,
        bytes32 loanId,
        uint32 valueDate,
        bytes32 ref
    );
    event CycleOpened(uint256 indexed cycleId);
    event CycleClosed(uint256 indexed cycleId, bytes32 indexed closedBy, uint32 entryCount);
    event NetPosition(uint256 indexed cycleId, bytes32 indexed bankId, int256 position);
    event BilateralNet(uint256 indexed cycleId, bytes32 indexed payer, bytes32 indexed payee, uint256 amount);
    event SettlementInstruction(uint256 indexed cycleId, uint256 index, bytes32 indexed payer, bytes32 indexed payee, uint256 amount);
    event CycleNetted(uint256 indexed cycleId, uint32 participants, uint32 instructions);
    event CycleConfirmedBy(uint256 indexed cycleId, bytes32 indexed bankId);
    event CycleStatusChanged(uint256 indexed cycleId, CycleStatus status);
    event PaymentRecorded(uint256 indexed cycleId, uint256 index, bytes32 indexed payer, bytes32 paymentRef);
    event PaymentAcknowledged(uint256 indexed cycleId, uint256 index, bytes32 indexed payee);
    event CycleDisputed(uint256 indexed cycleId, bytes32 indexed bankId, bytes32 reasonHash);
    event DisputeWithdrawn(uint256 indexed cycleId, bytes32 indexed bankId);

    constructor(Consortium consortium_) {
        consortium = consortium_;
        _deployer = msg.sender;
        currentCycle = 1;
        _cycles[1].status = CycleStatus.OPEN;
        emit CycleOpened(1);
    }

    /// @notice Names the CoLending contract whose allocations create obligations; once, by the deployer.
    function bindCoLending(address coLending_) external {
        if (msg.sender != _deployer || coLending != address(0)) revert AlreadyBound();
        coLending = coLending_;
    }

    // ---------------------------------------------------------------- entries

    /// @notice A bank records an obligation it owes (fee, adjustment, correction): nobody creates debts for others.
    function postEntry(EntryInput calldata e) external returns (bool created) {
        bytes32 caller = consortium.writerBank(msg.sender);
        Totals memory t = _openTotals();
        created = _postDirect(caller, e, t);
        _closeTotals(t);
    }

    function postEntries(EntryInput[] calldata es) external returns (uint256 created) {
        bytes32 caller = consortium.writerBank(msg.sender);
        Totals memory t = _openTotals();
        for (uint256 i = 0; i < es.length; i++) {
            if (_postDirect(caller, es[i], t)) created++;
        }
        _closeTotals(t);
    }

    /// @notice Obligations implied by loan allocations; only CoLending, which has already checked the caller.
    function recordObligations(EntryInput[] memory es) external {
        if (msg.sender != coLending) revert NotCoLending(msg.sender);
        Totals memory t = _openTotals();
        for (uint256 i = 0; i < es.length; i++) {
            _post(es[i], t);
        }
        _closeTotals(t);
    }

    function _postDirect(bytes32 caller, EntryInput calldata e, Totals memory t) private returns (bool) {
        if (e.payer != caller) revert NotPayer(e.entryId, caller);
        if (e.kind == EntryKind.DRAWDOWN || e.kind == EntryKind.REPAYMENT) revert InvalidEntry(e.entryId);
        if (e.kind == EntryKind.CORRECTION && _entryHash[e.ref] == bytes32(0)) revert UnknownEntry(e.ref);
        // isActiveBank is a view of the Consortium, which nothing in this call changes: ask once per payee run.
        if (!t.payeeChecked || e.payee != t.activePayee) {
            if (!consortium.isActiveBank(e.payee)) revert BankNotActive(e.payee);
            t.payeeChecked = true;
            t.activePayee = e.payee;
        }
        return _post(e, t);
    }

    function _post(EntryInput memory e, Totals memory t) private returns (bool) {
        if (e.entryId == bytes32(0)) revert InvalidEntry(e.entryId);
        if (e.amount == 0) revert ZeroAmount(e.entryId);
        if (e.payer == e.payee) revert SameParty(e.entryId, e.payer);
        if (!ValueDates.isValid(e.valueDate)) revert InvalidValueDate(e.valueDate);
        bytes32 h = keccak256(abi.encode(e));
        bytes32 existing = _entryHash[e.entryId];
        if (existing != bytes32(0)) {
            if (existing != h) revert IdConflict(e.entryId);
            return false;
        }
        _entryHash[e.entryId] = h;
        t.entryCount += 1;
        if (!t.open || t.payer != e.payer || t.payee != e.payee) _startRun(t, e.payer, e.payee);
        int256 amount = int256(e.amount);
        t.payerPosition -= amount;
        t.payeePosition += amount;
        t.gross += e.amount;
        emit EntryPosted(e.entryId, t.cycleId, e.payer, e.payee, e.amount, e.kind, e.loanId, e.valueDate, e.ref);
        return true;
    }

    /// @dev Totals of one call's entries. Consecutive entries between the same payer and payee form a run whose
    ///      positions and gross amount are read once, updated in memory (the same checked arithmetic, in the same
    ///      order, as updating storage per entry) and written back when the run ends; nothing else reads them
    ///      meanwhile, and a failing entry reverts the whole call.
    struct Totals {
        uint256 cycleId;
        uint32 entryCount;
        bool open;
        bytes32 payer;
        bytes32 payee;
        int256 payerPosition;
        int256 payeePosition;
        uint256 gross;
        bool payeeChecked;
        bytes32 activePayee;
    }

    function _openTotals() private view returns (Totals memory t) {
        t.cycleId = currentCycle;
        t.entryCount = _cycles[t.cycleId].entryCount;
    }

    function _closeTotals(Totals memory t) private {
        _endRun(t);
        Cycle storage c = _cycles[t.cycleId];
        if (c.entryCount != t.entryCount) c.entryCount = t.entryCount;
    }

    function _startRun(Totals memory t, bytes32 payer, bytes32 payee) private {
        _endRun(t);
        _join(t.cycleId, payer);
        _join(t.cycleId, payee);
        t.open = true;
        t.payer = payer;
        t.payee = payee;
        t.payerPosition = _position[t.cycleId][payer];
        t.payeePosition = _position[t.cycleId][payee];
        t.gross = _gross[t.cycleId][payer][payee];
    }

    function _endRun(Totals memory t) private {
        if (!t.open) return;
        _position[t.cycleId][t.payer] = t.payerPosition;
        _position[t.cycleId][t.payee] = t.payeePosition;
        _gross[t.cycleId][t.payer][t.payee] = t.gross;
        t.open = false;
    }

    function _join(uint256 cycleId, bytes32 bankId) private {
        if (!_isParticipant[cycleId][bankId]) {
            _isParticipant[cycleId][bankId] = true;
            _participants[cycleId].push(bankId);
        }
    }

    // ---------------------------------------------------------------- cycle life

    /// @notice Closes the open cycle (it must hold entries) and opens the next one for new entries.
    function closeCycle() external returns (uint256 closedId) {
        bytes32 caller = consortium.writerBank(msg.sender);
        closedId = currentCycle;
        Cycle storage c = _cycles[closedId];
        if (c.entryCount == 0) revert EmptyCycle(closedId);
        c.status = CycleStatus.CLOSED;
        emit CycleClosed(closedId, caller, c.entryCount);
        emit CycleStatusChanged(closedId, CycleStatus.CLOSED);
        currentCycle = closedId + 1;
        _cycles[closedId + 1].status = CycleStatus.OPEN;
        emit CycleOpened(closedId + 1);
    }

    /// @notice Publishes net positions (they sum to zero), bilateral nets and a minimal settlement plan.
    function netCycle(uint256 cycleId) external {
        consortium.writerBank(msg.sender);
        Cycle storage c = _requireStatus(cycleId, CycleStatus.CLOSED);
        bytes32[] memory banks = _sortedParticipants(cycleId);
        uint256 n = banks.length;
        int256 sum = 0;
        uint32 nonZero = 0;
        int256[] memory remaining = new int256[](n);
        for (uint256 i = 0; i < n; i++) {
            int256 p = _position[cycleId][banks[i]];
            remaining[i] = p;
            sum += p;
            if (p != 0) nonZero++;
            emit NetPosition(cycleId, banks[i], p);
        }
        assert(sum == 0);
        for (uint256 i = 0; i < n; i++) {
            for (uint256 j = i + 1; j < n; j++) {
                uint256 ab = _gross[cycleId][banks[i]][banks[j]];
                uint256 ba = _gross[cycleId][banks[j]][banks[i]];
                if (ab > ba) emit BilateralNet(cycleId, banks[i], banks[j], ab - ba);
                else if (ba > ab) emit BilateralNet(cycleId, banks[j], banks[i], ba - ab);
            }
        }
        _planSettlement(cycleId, banks, remaining);
        c.confirmationsNeeded = nonZero;
        emit CycleNetted(cycleId, uint32(n), uint32(_instructions[cycleId].length));
        _setStatus(cycleId, c, CycleStatus.NETTED);
        if (nonZero == 0) {
            _setStatus(cycleId, c, CycleStatus.CONFIRMED);
            _setStatus(cycleId, c, CycleStatus.SETTLED);
        }
    }

    /// @notice Each bank with a non-zero position confirms the netting result.
    function confirmCycle(uint256 cycleId) external {
        bytes32 bankId = consortium.writerBank(msg.sender);
        Cycle storage c = _requireStatus(cycleId, CycleStatus.NETTED);
        if (!_isParticipant[cycleId][bankId]) revert NotParticipant(cycleId, bankId);
        if (_position[cycleId][bankId] == 0) revert NothingToConfirm(cycleId, bankId);
        if (confirmed[cycleId][bankId]) revert AlreadyConfirmed(cycleId, bankId);
        confirmed[cycleId][bankId] = true;
        c.confirmations += 1;
        emit CycleConfirmedBy(cycleId, bankId);
        if (c.confirmations == c.confirmationsNeeded) _setStatus(cycleId, c, CycleStatus.CONFIRMED);
    }

    /// @notice A participant contests the netting result before settlement; corrections come as new entries.
    function disputeCycle(uint256 cycleId, bytes32 reasonHash) external {
        bytes32 bankId = consortium.writerBank(msg.sender);
        Cycle storage c = _cycleOf(cycleId);
        if (c.status != CycleStatus.NETTED && c.status != CycleStatus.CONFIRMED) revert BadCycleStatus(cycleId, c.status);
        if (!_isParticipant[cycleId][bankId]) revert NotParticipant(cycleId, bankId);
        for (uint256 i = 0; i < _instructions[cycleId].length; i++) {
            if (_instructions[cycleId][i].paymentRef != bytes32(0)) revert PaymentAlreadyRecorded(cycleId, i);
        }
        c.disputedBy = bankId;
        emit CycleDisputed(cycleId, bankId, reasonHash);
        _setStatus(cycleId, c, CycleStatus.DISPUTED);
    }

    /// @notice The disputing bank withdraws its dispute; every party confirms afresh.
    function withdrawDispute(uint256 cycleId) external {
        bytes32 bankId = consortium.writerBank(msg.sender);
        Cycle storage c = _requireStatus(cycleId, CycleStatus.DISPUTED);
        if (c.disputedBy != bankId) revert NotDisputingBank(cycleId, bankId);
        bytes32[] storage banks = _participants[cycleId];
        for (uint256 i = 0; i < banks.length; i++) {
            confirmed[cycleId][banks[i]] = false;
        }
        c.confirmations = 0;
        c.disputedBy = bytes32(0);
        emit DisputeWithdrawn(cycleId, bankId);
        _setStatus(cycleId, c, CycleStatus.NETTED);
    }

    /// @notice The paying bank records the reference of the transfer it made for instruction `index`.
    function recordPayment(uint256 cycleId, uint256 index, bytes32 paymentRef) external {
        bytes32 bankId = consortium.writerBank(msg.sender);
        _requireStatus(cycleId, CycleStatus.CONFIRMED);
        Instruction storage ins = _instruction(cycleId, index);
        if (ins.payer != bankId) revert NotInstructionPayer(cycleId, index, bankId);
        if (paymentRef == bytes32(0)) revert EmptyPaymentRef(cycleId, index);
        if (ins.paymentRef != bytes32(0)) revert PaymentAlreadyRecorded(cycleId, index);
        ins.paymentRef = paymentRef;
        emit PaymentRecorded(cycleId, index, bankId, paymentRef);
    }

    /// @notice The receiving bank acknowledges the funds; the last acknowledgement settles the cycle.
    function acknowledgePayment(uint256 cycleId, uint256 index) external {
        bytes32 bankId = consortium.writerBank(msg.sender);
        Cycle storage c = _requireStatus(cycleId, CycleStatus.CONFIRMED);
        Instruction storage ins = _instruction(cycleId, index);
        if (ins.payee != bankId) revert NotInstructionPayee(cycleId, index, bankId);
        if (ins.paymentRef == bytes32(0)) revert PaymentNotRecorded(cycleId, index);
        if (ins.acknowledged) revert AlreadyAcknowledged(cycleId, index);
        ins.acknowledged = true;
        c.acknowledgements += 1;
        emit PaymentAcknowledged(cycleId, index, bankId);
        if (c.acknowledgements == _instructions[cycleId].length) _setStatus(cycleId, c, CycleStatus.SETTLED);
    }

    // ---------------------------------------------------------------- views

    function cycle(uint256 cycleId) external view returns (Cycle memory) {
        return _cycles[cycleId];
    }

    function cycleStatus(uint256 cycleId) external view returns (CycleStatus) {
        return _cycles[cycleId].status;
    }

    function participants(uint256 cycleId) external view returns (bytes32[] memory) {
        return _participants[cycleId];
    }

    function position(uint256 cycleId, bytes32 bankId) external view returns (int256) {
        return _position[cycleId][bankId];
    }

    function instructions(uint256 cycleId) external view returns (Instruction[] memory) {
        return _instructions[cycleId];
    }

    function entryHash(bytes32 entryId) external view returns (bytes32) {
        return _entryHash[entryId];
    }

    // ---------------------------------------------------------------- internals

    function _cycleOf(uint256 cycleId) private view returns (Cycle storage c) {
        c = _cycles[cycleId];
        if (c.status == CycleStatus.NONE) revert UnknownCycle(cycleId);
    }

    function _requireStatus(uint256 cycleId, CycleStatus expected) private view returns (Cycle storage c) {
        c = _cycleOf(cycleId);
        if (c.status != expected) revert BadCycleStatus(cycleId, c.status);
    }

    function _setStatus(uint256 cycleId, Cycle storage c, CycleStatus status) private {
        c.status = status;
        emit CycleStatusChanged(cycleId, status);
    }

    function _instruction(uint256 cycleId, uint256 index) private view returns (Instruction storage) {
        if (index >= _instructions[cycleId].length) revert UnknownInstruction(cycleId, index);
        return _instructions[cycleId][index];
    }

    /// @dev Participants sorted by bank id, so netting output never depends on arrival order.
    function _sortedParticipants(uint256 cycleId) private view returns (bytes32[] memory banks) {
        banks = _participants[cycleId];
        for (uint256 i = 1; i < banks.length; i++) {
            bytes32 key = banks[i];
            uint256 j = i;
            while (j > 0 && banks[j - 1] > key) {
                banks[j] = banks[j - 1];
                j--;
            }
            banks[j] = key;
        }
    }

    /// @dev Greedy pairing of debtors and creditors in bank-id order: at most n-1 transfers, deterministic.
    function _planSettlement(uint256 cycleId, bytes32[] memory banks, int256[] memory remaining) private {
        uint256 n = banks.length;
        uint256 d = 0;
        uint256 k = 0;
        while (true) {
            while (d < n && remaining[d] >= 0) d++;
            while (k < n && remaining[k] <= 0) k++;
            if (d == n || k == n) break;
            int256 owed = -remaining[d];
            int256 due = remaining[k];
            int256 amount = owed < due ? owed : due;
            remaining[d] += amount;
            remaining[k] -= amount;
            uint256 index = _instructions[cycleId].length;
            _instructions[cycleId].push(Instruction(banks[d], banks[k], uint256(amount), bytes32(0), false));
            emit SettlementInstruction(cycleId, index, banks[d], banks[k], uint256(amount));
        }
    }
}
