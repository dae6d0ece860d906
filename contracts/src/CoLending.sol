// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {Consortium} from "./Consortium.sol";
import {Clearing} from "./Clearing.sol";
import {ValueDates} from "./ValueDates.sol";

/// @title CoLending: joint loans split into tranches, with exact pro-rata allocation of every movement.
/// @notice Only the servicer bank posts a loan's events. Tranche shares follow the 2021 notice on commercial
///         banks' internet loans: the servicer (the cooperating platform bank) funds at least the governance-set
///         MIN_SERVICER_SHARE_BPS of each loan, each other partner at least MIN_PARTNER_SHARE_BPS. Each bank
///         declares its own tier-1 net capital and total loans here, so every node monitors the notice's
///         concentration limits from the same figures; observers (regulators) cannot declare.
///         Each operation id is idempotent: the same id with
///         the same content is a no-op, with different content it reverts. Allocations use largest-remainder
///         rounding (ties to the servicer, then tranche order), so the parts always sum to the amount and
///         each part is within one minor unit of exact pro rata. Every allocation records the clearing
///         obligations it implies: a drawdown makes each funder owe the servicer its share of what the
///         servicer disbursed; a repayment makes the servicer owe each funder its share of what it collected.
contract CoLending {
    enum LoanStatus { NONE, REGISTERED, ACTIVE, PAID_OFF, WRITTEN_OFF }

    enum OpKind { DRAWDOWN, REPAYMENT, WRITE_OFF, PAYOFF }

    struct TrancheInput {
        bytes32 bank;
        uint16 shareBps;
    }

    struct LoanInput {
        bytes32 loanId;
        bytes32 servicer;
        bytes3 currency;
        uint256 principal;
        bytes32 borrowerHash; // salted hash of the borrower's identity: PII never goes on chain
        bytes32 termsHash;    // hash of the contract terms document
        TrancheInput[] tranches;
    }

    struct DrawdownInput {
        bytes32 loanId;
        bytes32 drawdownId;
        uint256 amount;
        uint32 valueDate;
    }

    struct RepaymentInput {
        bytes32 loanId;
        bytes32 repaymentId;
        uint256 principal;
        uint256 interest;
        uint256 penalty;
        uint32 valueDate;
    }

    struct Tranche {
        bytes32 bank;
        uint16 shareBps;
        uint128 outstanding;
    }

    /// @notice A bank's declared regulatory figures in minor units (fen), as of a yyyymmdd date (0: none yet).
    struct Figures {
        uint128 tier1NetCapital;
        uint128 totalLoans;
        uint32 asOf;
    }

    struct ShareRules {
        uint256 servicerFloorBps;
        uint256 partnerMinimumBps;
    }

    struct Loan {
        bytes32 servicer;
        uint128 principal;
        uint128 drawn;
        uint128 outstanding;
        LoanStatus status;
        uint8 servicerIndex;
        bytes32 contentHash;
    }

    uint256 public constant BPS = 10_000;
    uint256 public constant MAX_TRANCHES = 10;

    Consortium public immutable consortium;
    Clearing public immutable clearing;

    mapping(bytes32 => Loan) private _loans;
    mapping(bytes32 => Tranche[]) private _tranches;
    mapping(bytes32 => bytes32) private _opHash;
    mapping(bytes32 => Figures) private _figures;

    error LoanNotFound(bytes32 loanId);
    error IdConflict(bytes32 id);
    error InvalidLoan(bytes32 loanId);
    error NotServicer(bytes32 loanId, bytes32 caller);
    error TooManyTranches(bytes32 loanId, uint256 count);
    error SharesDoNotSum(bytes32 loanId, uint256 totalBps);
    error ServicerShareBelowFloor(bytes32 loanId, bytes32 servicer, uint16 shareBps, uint256 floorBps);
    error PartnerShareBelowMinimum(bytes32 loanId, bytes32 bank, uint16 shareBps, uint256 minimumBps);
    error ZeroShare(bytes32 loanId, bytes32 bank);
    error DuplicateTranche(bytes32 loanId, bytes32 bank);
    error BankNotActive(bytes32 bankId);
    error ServicerHasNoTranche(bytes32 loanId);
    error ZeroAmount(bytes32 opId);
    error ExceedsPrincipal(bytes32 loanId, uint256 requested, uint256 available);
    error ExceedsOutstanding(bytes32 loanId, uint256 requested, uint256 outstanding);
    error LoanClosed(bytes32 loanId, LoanStatus status);
    error InvalidValueDate(uint32 valueDate);
    error InvalidOpId();
    error InvalidFigures(bytes32 bank, uint256 tier1NetCapital, uint256 totalLoans);
    error StaleFigures(bytes32 bank, uint32 asOf, uint32 latestAsOf);

    event LoanRegistered(
        bytes32 indexed loanId,
        bytes32 indexed servicer,
        bytes3 currency,
        uint256 principal,
        bytes32 borrowerHash,
        bytes32 termsHash,
        bytes32[] banks,
        uint16[] sharesBps
    );
    event DrawdownPosted(bytes32 indexed loanId, bytes32 indexed drawdownId, uint256 amount, uint32 valueDate);
    event TrancheFunded(bytes32 indexed loanId, bytes32 indexed bank, bytes32 indexed drawdownId, uint256 amount, uint256 outstanding);
    event RepaymentPosted(bytes32 indexed loanId, bytes32 indexed repaymentId, uint256 principal, uint256 interest, uint256 penalty, uint32 valueDate);
    event RepaymentAllocated(
        bytes32 indexed loanId,
        bytes32 indexed bank,
        bytes32 indexed repaymentId,
        uint256 principal,
        uint256 interest,
        uint256 penalty,
        uint256 outstanding
    );
    event WriteOffPosted(bytes32 indexed loanId, bytes32 indexed opId, uint256 amount, uint32 valueDate);
    event TrancheWrittenOff(bytes32 indexed loanId, bytes32 indexed bank, bytes32 indexed opId, uint256 amount, uint256 outstanding);
    event LoanStatusChanged(bytes32 indexed loanId, LoanStatus status);
    event FiguresDeclared(bytes32 indexed bank, uint256 tier1NetCapital, uint256 totalLoans, uint32 asOf);

    constructor(Consortium consortium_, Clearing clearing_) {
        consortium = consortium_;
        clearing = clearing_;
    }

    // ---------------------------------------------------------------- loans

    function registerLoan(LoanInput calldata input) external returns (bool created) {
        bytes32 caller = consortium.writerBank(msg.sender);
        return _register(caller, input, _shareRules());
    }

    function registerLoans(LoanInput[] calldata inputs) external returns (uint256 created) {
        bytes32 caller = consortium.writerBank(msg.sender);
        ShareRules memory rules = _shareRules();
        for (uint256 i = 0; i < inputs.length; i++) {
            if (_register(caller, inputs[i], rules)) created++;
        }
    }

    function drawdown(DrawdownInput calldata input) external returns (bool created) {
        return _drawdown(consortium.writerBank(msg.sender), input);
    }

    function drawdowns(DrawdownInput[] calldata inputs) external returns (uint256 created) {
        bytes32 caller = consortium.writerBank(msg.sender);
        for (uint256 i = 0; i < inputs.length; i++) {
            if (_drawdown(caller, inputs[i])) created++;
        }
    }

    function repay(RepaymentInput calldata input) external returns (bool created) {
        return _repay(consortium.writerBank(msg.sender), input, OpKind.REPAYMENT);
    }

    function repayments(RepaymentInput[] calldata inputs) external returns (uint256 created) {
        bytes32 caller = consortium.writerBank(msg.sender);
        for (uint256 i = 0; i < inputs.length; i++) {
            if (_repay(caller, inputs[i], OpKind.REPAYMENT)) created++;
        }
    }

    /// @notice Final repayment: `input.principal` must equal the whole outstanding principal; closes the loan.
    function payoff(RepaymentInput calldata input) external returns (bool created) {
        return _repay(consortium.writerBank(msg.sender), input, OpKind.PAYOFF);
    }

    /// @notice Writes off principal pro rata by outstanding; no cash moves, so no clearing obligations.
    function writeOff(bytes32 loanId, bytes32 opId, uint256 amount, uint32 valueDate) external returns (bool created) {
        bytes32 caller = consortium.writerBank(msg.sender);
        Loan storage loan = _servicedLoan(loanId, caller);
        if (!ValueDates.isValid(valueDate)) revert InvalidValueDate(valueDate);
        if (!_claimOp(opId, keccak256(abi.encode(OpKind.WRITE_OFF, loanId, amount, valueDate)))) return false;
        _requireOpen(loanId, loan);
        if (amount == 0) revert ZeroAmount(opId);
        if (amount > loan.outstanding) revert ExceedsOutstanding(loanId, amount, loan.outstanding);
        Tranche[] storage tranches = _tranches[loanId];
        uint256[] memory parts = allocate(amount, _outstandingWeights(tranches), loan.servicerIndex);
        emit WriteOffPosted(loanId, opId, amount, valueDate);
        for (uint256 i = 0; i < tranches.length; i++) {
            tranches[i].outstanding -= uint128(parts[i]);
            emit TrancheWrittenOff(loanId, tranches[i].bank, opId, parts[i], tranches[i].outstanding);
        }
        loan.outstanding -= uint128(amount);
        if (loan.outstanding == 0) _setStatus(loanId, loan, LoanStatus.WRITTEN_OFF);
        return true;
    }

    // ---------------------------------------------------------------- declared figures

    /// @notice The calling bank declares its tier-1 net capital and total loans (fen) as of `asOf` (yyyymmdd).
    ///         A bank declares only for itself; an earlier as-of date than the latest is refused, the same date
    ///         again corrects it, and the same figures again are a no-op (false, no event).
    function declareFigures(uint256 tier1NetCapital, uint256 totalLoans, uint32 asOf) external returns (bool changed) {
        bytes32 bank = consortium.writerBank(msg.sender);
        if (!ValueDates.isValid(asOf)) revert InvalidValueDate(asOf);
        if (tier1NetCapital == 0 || totalLoans == 0 || tier1NetCapital > type(uint128).max || totalLoans > type(uint128).max) {
            revert InvalidFigures(bank, tier1NetCapital, totalLoans);
        }
        Figures storage current = _figures[bank];
        if (asOf < current.asOf) revert StaleFigures(bank, asOf, current.asOf);
        if (asOf == current.asOf && tier1NetCapital == current.tier1NetCapital && totalLoans == current.totalLoans) return false;
        _figures[bank] = Figures(uint128(tier1NetCapital), uint128(totalLoans), asOf);
        emit FiguresDeclared(bank, tier1NetCapital, totalLoans, asOf);
        return true;
    }

    /// @notice A bank's latest declared figures; asOf 0 when it has declared none.
    function figures(bytes32 bank) external view returns (Figures memory) {
        return _figures[bank];
    }

    // ---------------------------------------------------------------- views

    function loan(bytes32 loanId) external view returns (Loan memory) {
        Loan storage l = _loans[loanId];
        if (l.status == LoanStatus.NONE) revert LoanNotFound(loanId);
        return l;
    }

    function tranches(bytes32 loanId) external view returns (Tranche[] memory) {
        if (_loans[loanId].status == LoanStatus.NONE) revert LoanNotFound(loanId);
        return _tranches[loanId];
    }

    function opHash(bytes32 opId) external view returns (bytes32) {
        return _opHash[opId];
    }

    /// @notice Splits `amount` by `weights` with largest-remainder rounding; ties go to `favoured`, then by index.
    /// @dev Parts sum exactly to `amount`; each is floor or ceil of the exact share amount * w / sum(w).
    function allocate(uint256 amount, uint256[] memory weights, uint256 favoured) public pure returns (uint256[] memory parts) {
        uint256 n = weights.length;
        parts = new uint256[](n);
        uint256[] memory remainders = new uint256[](n);
        uint256 total = 0;
        for (uint256 i = 0; i < n; i++) total += weights[i];
        if (total == 0 || amount == 0) return parts;
        uint256 given = 0;
        for (uint256 i = 0; i < n; i++) {
            parts[i] = (amount * weights[i]) / total;
            remainders[i] = (amount * weights[i]) % total;
            given += parts[i];
        }
        uint256 left = amount - given; // < n, since each floor lost less than one unit
        bool[] memory bumped = new bool[](n);
        for (uint256 k = 0; k < left; k++) {
            uint256 best = n;
            for (uint256 i = 0; i < n; i++) {
                if (bumped[i] || weights[i] == 0) continue;
                if (best == n || remainders[i] > remainders[best] || (remainders[i] == remainders[best] && i == favoured && best != favoured)) {
                    best = i;
                }
            }
            bumped[best] = true;
            parts[best] += 1;
        }
    }

    // ---------------------------------------------------------------- internals

    function _register(bytes32 caller, LoanInput calldata input, ShareRules memory rules) private returns (bool) {
        bytes32 loanId = input.loanId;
        if (input.servicer != caller) revert NotServicer(loanId, caller);
        bytes32 h = keccak256(abi.encode(input));
        Loan storage loan = _loans[loanId];
        if (loan.status != LoanStatus.NONE) {
            if (loan.contentHash != h) revert IdConflict(loanId);
            return false;
        }
        if (loanId == bytes32(0) || input.principal == 0 || input.principal > type(uint128).max) revert InvalidLoan(loanId);
        uint256 n = input.tranches.length;
        if (n == 0 || n > MAX_TRANCHES) revert TooManyTranches(loanId, n);
        uint256 totalBps = 0;
        uint256 servicerIndex = n;
        bytes32[] memory banks = new bytes32[](n);
        uint16[] memory shares = new uint16[](n);
        for (uint256 i = 0; i < n; i++) {
            TrancheInput calldata t = input.tranches[i];
            for (uint256 j = 0; j < i; j++) {
                if (banks[j] == t.bank) revert DuplicateTranche(loanId, t.bank);
            }
            if (!consortium.isActiveBank(t.bank)) revert BankNotActive(t.bank);
            if (t.shareBps == 0) revert ZeroShare(loanId, t.bank);
            if (t.bank == input.servicer) {
                servicerIndex = i;
                if (t.shareBps < rules.servicerFloorBps) {
                    revert ServicerShareBelowFloor(loanId, t.bank, t.shareBps, rules.servicerFloorBps);
                }
            } else if (t.shareBps < rules.partnerMinimumBps) {
                revert PartnerShareBelowMinimum(loanId, t.bank, t.shareBps, rules.partnerMinimumBps);
            }
            totalBps += t.shareBps;
            banks[i] = t.bank;
            shares[i] = t.shareBps;
            _tranches[loanId].push(Tranche(t.bank, t.shareBps, 0));
        }
        if (totalBps != BPS) revert SharesDoNotSum(loanId, totalBps);
        if (servicerIndex == n) revert ServicerHasNoTranche(loanId);
        loan.servicer = input.servicer;
        loan.principal = uint128(input.principal);
        loan.status = LoanStatus.REGISTERED;
        loan.servicerIndex = uint8(servicerIndex);
        loan.contentHash = h;
        emit LoanRegistered(loanId, input.servicer, input.currency, input.principal, input.borrowerHash, input.termsHash, banks, shares);
        emit LoanStatusChanged(loanId, LoanStatus.REGISTERED);
        return true;
    }

    function _drawdown(bytes32 caller, DrawdownInput calldata input) private returns (bool) {
        bytes32 loanId = input.loanId;
        Loan storage loan = _servicedLoan(loanId, caller);
        if (!ValueDates.isValid(input.valueDate)) revert InvalidValueDate(input.valueDate);
        if (!_claimOp(input.drawdownId, keccak256(abi.encode(OpKind.DRAWDOWN, input)))) return false;
        _requireOpen(loanId, loan);
        if (input.amount == 0) revert ZeroAmount(input.drawdownId);
        uint256 available = loan.principal - loan.drawn;
        if (input.amount > available) revert ExceedsPrincipal(loanId, input.amount, available);
        Tranche[] storage tranches = _tranches[loanId];
        uint256 n = tranches.length;
        uint256[] memory parts = allocate(input.amount, _shareWeights(tranches), loan.servicerIndex);
        Clearing.EntryInput[] memory obligations = new Clearing.EntryInput[](n - 1);
        uint256 k = 0;
        emit DrawdownPosted(loanId, input.drawdownId, input.amount, input.valueDate);
        for (uint256 i = 0; i < n; i++) {
            Tranche storage t = tranches[i];
            t.outstanding += uint128(parts[i]);
            emit TrancheFunded(loanId, t.bank, input.drawdownId, parts[i], t.outstanding);
            if (i != loan.servicerIndex) {
                obligations[k++] = Clearing.EntryInput(
                    _entryId(input.drawdownId, t.bank), t.bank, loan.servicer, parts[i],
                    Clearing.EntryKind.DRAWDOWN, loanId, input.valueDate, input.drawdownId
                );
            }
        }
        loan.drawn += uint128(input.amount);
        loan.outstanding += uint128(input.amount);
        if (loan.status == LoanStatus.REGISTERED) _setStatus(loanId, loan, LoanStatus.ACTIVE);
        _recordNonZero(obligations, k);
        return true;
    }

    function _repay(bytes32 caller, RepaymentInput calldata input, OpKind kind) private returns (bool) {
        bytes32 loanId = input.loanId;
        Loan storage loan = _servicedLoan(loanId, caller);
        if (!ValueDates.isValid(input.valueDate)) revert InvalidValueDate(input.valueDate);
        if (!_claimOp(input.repaymentId, keccak256(abi.encode(kind, input)))) return false;
        _requireOpen(loanId, loan);
        if (input.principal + input.interest + input.penalty == 0) revert ZeroAmount(input.repaymentId);
        if (input.principal > loan.outstanding) revert ExceedsOutstanding(loanId, input.principal, loan.outstanding);
        if (kind == OpKind.PAYOFF && input.principal != loan.outstanding) {
            revert ExceedsOutstanding(loanId, loan.outstanding, input.principal);
        }
        Tranche[] storage tranches = _tranches[loanId];
        uint256 n = tranches.length;
        uint256 favoured = loan.servicerIndex;
        uint256[] memory principalParts = allocate(input.principal, _outstandingWeights(tranches), favoured);
        uint256[] memory shareWeights = _shareWeights(tranches);
        uint256[] memory interestParts = allocate(input.interest, shareWeights, favoured);
        uint256[] memory penaltyParts = allocate(input.penalty, shareWeights, favoured);
        Clearing.EntryInput[] memory obligations = new Clearing.EntryInput[](n - 1);
        uint256 k = 0;
        emit RepaymentPosted(loanId, input.repaymentId, input.principal, input.interest, input.penalty, input.valueDate);
        for (uint256 i = 0; i < n; i++) {
            Tranche storage t = tranches[i];
            t.outstanding -= uint128(principalParts[i]);
            emit RepaymentAllocated(loanId, t.bank, input.repaymentId, principalParts[i], interestParts[i], penaltyParts[i], t.outstanding);
            if (i != favoured) {
                obligations[k++] = Clearing.EntryInput(
                    _entryId(input.repaymentId, t.bank), loan.servicer, t.bank,
                    principalParts[i] + interestParts[i] + penaltyParts[i],
                    Clearing.EntryKind.REPAYMENT, loanId, input.valueDate, input.repaymentId
                );
            }
        }
        loan.outstanding -= uint128(input.principal);
        if (kind == OpKind.PAYOFF) _setStatus(loanId, loan, LoanStatus.PAID_OFF);
        _recordNonZero(obligations, k);
        return true;
    }

    /// @dev Posts the obligations with a non-zero amount (a tiny movement can round a funder's part to zero).
    function _recordNonZero(Clearing.EntryInput[] memory obligations, uint256 count) private {
        uint256 m = 0;
        for (uint256 i = 0; i < count; i++) {
            if (obligations[i].amount != 0) obligations[m++] = obligations[i];
        }
        if (m == 0) return;
        assembly ("memory-safe") {
            mstore(obligations, m)
        }
        clearing.recordObligations(obligations);
    }

    function _shareRules() private view returns (ShareRules memory) {
        return ShareRules(
            consortium.policy(consortium.MIN_SERVICER_SHARE_BPS()), consortium.policy(consortium.MIN_PARTNER_SHARE_BPS())
        );
    }

    function _servicedLoan(bytes32 loanId, bytes32 caller) private view returns (Loan storage loan) {
        loan = _loans[loanId];
        if (loan.status == LoanStatus.NONE) revert LoanNotFound(loanId);
        if (loan.servicer != caller) revert NotServicer(loanId, caller);
    }

    function _requireOpen(bytes32 loanId, Loan storage loan) private view {
        if (loan.status == LoanStatus.PAID_OFF || loan.status == LoanStatus.WRITTEN_OFF) revert LoanClosed(loanId, loan.status);
    }

    /// @dev Records op id -> content hash; false when the same content was already applied (idempotent replay).
    function _claimOp(bytes32 opId, bytes32 h) private returns (bool) {
        if (opId == bytes32(0)) revert InvalidOpId();
        bytes32 existing = _opHash[opId];
        if (existing != bytes32(0)) {
            if (existing != h) revert IdConflict(opId);
            return false;
        }
        _opHash[opId] = h;
        return true;
    }

    function _setStatus(bytes32 loanId, Loan storage loan, LoanStatus status) private {
        loan.status = status;
        emit LoanStatusChanged(loanId, status);
    }

    function _shareWeights(Tranche[] storage tranches) private view returns (uint256[] memory w) {
        w = new uint256[](tranches.length);
        for (uint256 i = 0; i < tranches.length; i++) w[i] = tranches[i].shareBps;
    }

    function _outstandingWeights(Tranche[] storage tranches) private view returns (uint256[] memory w) {
        w = new uint256[](tranches.length);
        for (uint256 i = 0; i < tranches.length; i++) w[i] = tranches[i].outstanding;
    }

    function _entryId(bytes32 opId, bytes32 bank) private pure returns (bytes32) {
        return keccak256(abi.encode(opId, bank));
    }
}
