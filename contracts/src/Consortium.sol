// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

/// @title Consortium: who belongs to the network, which accounts may write, who validates, and the policy knobs.
/// @notice Membership, validators and policy change only through proposals voted by >= 2/3 of active banks.
///         Nodes call `canWrite` before admitting a transaction; the other contracts call `writerBank`.
contract Consortium {
    enum Role { NONE, BANK, OBSERVER }

    enum ProposalKind { ADD_MEMBER, SUSPEND_MEMBER, REACTIVATE_MEMBER, ADD_ACCOUNT, ADD_VALIDATOR, REMOVE_VALIDATOR, SET_POLICY }

    struct Member {
        string name;
        Role role;
        bool active;
    }

    struct MemberInit {
        bytes32 bankId;
        string name;
        Role role;
        address[] accounts;
    }

    struct Proposal {
        ProposalKind kind;
        bytes32 proposerBank;
        bytes32 bankId;      // ADD_MEMBER / SUSPEND / REACTIVATE / ADD_ACCOUNT target
        string name;         // ADD_MEMBER
        Role role;           // ADD_MEMBER
        address account;     // ADD_MEMBER first account / ADD_ACCOUNT / validator address
        bytes32 policyKey;   // SET_POLICY
        uint256 policyValue; // SET_POLICY
        uint32 votes;
        bool executed;
    }

    /// @notice The 2021 notice's floor on the cooperating party's share of each joint loan: in the platform
    ///         model, the servicing platform bank's tranche (default 3,000 bps, set at deployment).
    bytes32 public constant MIN_SERVICER_SHARE_BPS = "MIN_SERVICER_SHARE_BPS";
    /// @notice The smallest tranche a non-servicer partner may take (default 1 bps: any non-zero share).
    bytes32 public constant MIN_PARTNER_SHARE_BPS = "MIN_PARTNER_SHARE_BPS";
    uint256 public constant DEFAULT_MIN_PARTNER_SHARE_BPS = 1;
    uint256 public constant BPS = 10_000;

    mapping(bytes32 => Member) private _members;
    bytes32[] private _memberIds;
    mapping(address => bytes32) private _accountBank;
    uint256 public activeBankCount;

    address[] private _validators;
    mapping(address => bool) public isValidator;

    mapping(bytes32 => uint256) private _policy;

    Proposal[] private _proposals;
    mapping(uint256 => mapping(bytes32 => bool)) public hasVoted;

    error UnknownAccount(address account);
    error ObserverCannotWrite(address account, bytes32 bankId);
    error MemberNotActive(bytes32 bankId);
    error MemberExists(bytes32 bankId);
    error UnknownMember(bytes32 bankId);
    error AccountTaken(address account, bytes32 bankId);
    error InvalidMember(bytes32 bankId);
    error ValidatorExists(address validator);
    error UnknownValidator(address validator);
    error LastValidator(address validator);
    error InvalidPolicy(bytes32 key, uint256 value);
    error UnknownProposal(uint256 proposalId);
    error AlreadyVoted(uint256 proposalId, bytes32 bankId);
    error ProposalAlreadyExecuted(uint256 proposalId);

    event MemberAdded(bytes32 indexed bankId, string name, Role role);
    event MemberSuspended(bytes32 indexed bankId);
    event MemberReactivated(bytes32 indexed bankId);
    event AccountAdded(bytes32 indexed bankId, address indexed account);
    /// @notice Validator changes apply to blocks from `effectiveFromBlock` on, so every node switches at one height.
    event ValidatorAdded(address indexed validator, uint256 effectiveFromBlock);
    event ValidatorRemoved(address indexed validator, uint256 effectiveFromBlock);
    event PolicySet(bytes32 indexed key, uint256 value);
    event ProposalCreated(uint256 indexed proposalId, ProposalKind kind, bytes32 indexed proposerBank, bytes32 bankId, address account, bytes32 policyKey, uint256 policyValue);
    event ProposalVoted(uint256 indexed proposalId, bytes32 indexed bankId, uint32 votes, uint256 activeBanks);
    event ProposalExecuted(uint256 indexed proposalId, ProposalKind kind);

    constructor(MemberInit[] memory members, address[] memory validators, uint256 minServicerShareBps) {
        for (uint256 i = 0; i < members.length; i++) {
            MemberInit memory m = members[i];
            _addMember(m.bankId, m.name, m.role);
            for (uint256 j = 0; j < m.accounts.length; j++) {
                _addAccount(m.bankId, m.accounts[j]);
            }
        }
        for (uint256 i = 0; i < validators.length; i++) {
            _addValidator(validators[i]);
        }
        _setPolicy(MIN_SERVICER_SHARE_BPS, minServicerShareBps);
        _setPolicy(MIN_PARTNER_SHARE_BPS, DEFAULT_MIN_PARTNER_SHARE_BPS);
    }

    // ---------------------------------------------------------------- views the node and contracts rely on

    /// @notice True when `account` belongs to an active BANK member: the node's admission rule for transactions.
    function canWrite(address account) external view returns (bool) {
        bytes32 bankId = _accountBank[account];
        if (bankId == bytes32(0)) return false;
        Member storage m = _members[bankId];
        return m.active && m.role == Role.BANK;
    }

    /// @notice The bank on whose behalf `account` writes; reverts with the reason it may not.
    function writerBank(address account) public view returns (bytes32) {
        bytes32 bankId = _accountBank[account];
        if (bankId == bytes32(0)) revert UnknownAccount(account);
        Member storage m = _members[bankId];
        if (m.role != Role.BANK) revert ObserverCannotWrite(account, bankId);
        if (!m.active) revert MemberNotActive(bankId);
        return bankId;
    }

    function bankOf(address account) external view returns (bytes32) {
        return _accountBank[account];
    }

    function isActiveBank(bytes32 bankId) public view returns (bool) {
        Member storage m = _members[bankId];
        return m.active && m.role == Role.BANK;
    }

    function member(bytes32 bankId) external view returns (string memory name, Role role, bool active) {
        Member storage m = _members[bankId];
        if (m.role == Role.NONE) revert UnknownMember(bankId);
        return (m.name, m.role, m.active);
    }

    function memberIds() external view returns (bytes32[] memory) {
        return _memberIds;
    }

    function validators() external view returns (address[] memory) {
        return _validators;
    }

    function policy(bytes32 key) external view returns (uint256) {
        return _policy[key];
    }

    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    function proposal(uint256 proposalId) external view returns (Proposal memory) {
        if (proposalId >= _proposals.length) revert UnknownProposal(proposalId);
        return _proposals[proposalId];
    }

    /// @notice Votes a proposal needs: the smallest v with 3v >= 2 * active banks.
    function votesNeeded() public view returns (uint256) {
        return (2 * activeBankCount + 2) / 3;
    }

    // ---------------------------------------------------------------- governance

    function proposeAddMember(bytes32 bankId, string calldata name, Role role, address firstAccount) external returns (uint256) {
        if (bankId == bytes32(0) || role == Role.NONE) revert InvalidMember(bankId);
        if (_members[bankId].role != Role.NONE) revert MemberExists(bankId);
        if (_accountBank[firstAccount] != bytes32(0)) revert AccountTaken(firstAccount, _accountBank[firstAccount]);
        return _propose(ProposalKind.ADD_MEMBER, bankId, name, role, firstAccount, bytes32(0), 0);
    }

    function proposeSuspendMember(bytes32 bankId) external returns (uint256) {
        if (_members[bankId].role == Role.NONE) revert UnknownMember(bankId);
        return _propose(ProposalKind.SUSPEND_MEMBER, bankId, "", Role.NONE, address(0), bytes32(0), 0);
    }

    function proposeReactivateMember(bytes32 bankId) external returns (uint256) {
        if (_members[bankId].role == Role.NONE) revert UnknownMember(bankId);
        return _propose(ProposalKind.REACTIVATE_MEMBER, bankId, "", Role.NONE, address(0), bytes32(0), 0);
    }

    function proposeAddAccount(bytes32 bankId, address account) external returns (uint256) {
        if (_members[bankId].role == Role.NONE) revert UnknownMember(bankId);
        if (_accountBank[account] != bytes32(0)) revert AccountTaken(account, _accountBank[account]);
        return _propose(ProposalKind.ADD_ACCOUNT, bankId, "", Role.NONE, account, bytes32(0), 0);
    }

    function proposeAddValidator(address validator) external returns (uint256) {
        if (isValidator[validator]) revert ValidatorExists(validator);
        return _propose(ProposalKind.ADD_VALIDATOR, bytes32(0), "", Role.NONE, validator, bytes32(0), 0);
    }

    function proposeRemoveValidator(address validator) external returns (uint256) {
        if (!isValidator[validator]) revert UnknownValidator(validator);
        return _propose(ProposalKind.REMOVE_VALIDATOR, bytes32(0), "", Role.NONE, validator, bytes32(0), 0);
    }

    function proposeSetPolicy(bytes32 key, uint256 value) external returns (uint256) {
        _checkPolicy(key, value);
        return _propose(ProposalKind.SET_POLICY, bytes32(0), "", Role.NONE, address(0), key, value);
    }

    /// @notice One vote per active bank; the proposal executes in the vote that reaches 2/3 of active banks.
    function vote(uint256 proposalId) external {
        bytes32 bankId = writerBank(msg.sender);
        _vote(proposalId, bankId);
    }

    // ---------------------------------------------------------------- internals

    function _propose(
        ProposalKind kind,
        bytes32 bankId,
        string memory name,
        Role role,
        address account,
        bytes32 policyKey,
        uint256 policyValue
    ) private returns (uint256 proposalId) {
        bytes32 proposer = writerBank(msg.sender);
        proposalId = _proposals.length;
        _proposals.push(Proposal(kind, proposer, bankId, name, role, account, policyKey, policyValue, 0, false));
        emit ProposalCreated(proposalId, kind, proposer, bankId, account, policyKey, policyValue);
        _vote(proposalId, proposer);
    }

    function _vote(uint256 proposalId, bytes32 bankId) private {
        if (proposalId >= _proposals.length) revert UnknownProposal(proposalId);
        Proposal storage p = _proposals[proposalId];
        if (p.executed) revert ProposalAlreadyExecuted(proposalId);
        if (hasVoted[proposalId][bankId]) revert AlreadyVoted(proposalId, bankId);
        hasVoted[proposalId][bankId] = true;
        p.votes += 1;
        emit ProposalVoted(proposalId, bankId, p.votes, activeBankCount);
        if (uint256(p.votes) * 3 >= activeBankCount * 2) {
            p.executed = true;
            _execute(p);
            emit ProposalExecuted(proposalId, p.kind);
        }
    }

    function _execute(Proposal storage p) private {
        if (p.kind == ProposalKind.ADD_MEMBER) {
            _addMember(p.bankId, p.name, p.role);
            _addAccount(p.bankId, p.account);
        } else if (p.kind == ProposalKind.SUSPEND_MEMBER) {
            Member storage m = _members[p.bankId];
            if (!m.active) revert MemberNotActive(p.bankId);
            m.active = false;
            if (m.role == Role.BANK) activeBankCount -= 1;
            emit MemberSuspended(p.bankId);
        } else if (p.kind == ProposalKind.REACTIVATE_MEMBER) {
            Member storage m = _members[p.bankId];
            if (!m.active) {
                m.active = true;
                if (m.role == Role.BANK) activeBankCount += 1;
                emit MemberReactivated(p.bankId);
            }
        } else if (p.kind == ProposalKind.ADD_ACCOUNT) {
            _addAccount(p.bankId, p.account);
        } else if (p.kind == ProposalKind.ADD_VALIDATOR) {
            _addValidator(p.account);
        } else if (p.kind == ProposalKind.REMOVE_VALIDATOR) {
            _removeValidator(p.account);
        } else {
            _setPolicy(p.policyKey, p.policyValue);
        }
    }

    function _addMember(bytes32 bankId, string memory name, Role role) private {
        if (bankId == bytes32(0) || role == Role.NONE) revert InvalidMember(bankId);
        if (_members[bankId].role != Role.NONE) revert MemberExists(bankId);
        _members[bankId] = Member(name, role, true);
        _memberIds.push(bankId);
        if (role == Role.BANK) activeBankCount += 1;
        emit MemberAdded(bankId, name, role);
    }

    function _addAccount(bytes32 bankId, address account) private {
        if (account == address(0)) revert UnknownAccount(account);
        if (_accountBank[account] != bytes32(0)) revert AccountTaken(account, _accountBank[account]);
        _accountBank[account] = bankId;
        emit AccountAdded(bankId, account);
    }

    function _addValidator(address validator) private {
        if (validator == address(0)) revert UnknownValidator(validator);
        if (isValidator[validator]) revert ValidatorExists(validator);
        isValidator[validator] = true;
        _validators.push(validator);
        emit ValidatorAdded(validator, block.number + 1);
    }

    function _removeValidator(address validator) private {
        if (!isValidator[validator]) revert UnknownValidator(validator);
        if (_validators.length == 1) revert LastValidator(validator);
        isValidator[validator] = false;
        uint256 n = _validators.length;
        for (uint256 i = 0; i < n; i++) {
            if (_validators[i] == validator) {
                // Keep the order of the remaining validators: proposer rotation depends on it.
                for (uint256 j = i; j + 1 < n; j++) {
                    _validators[j] = _validators[j + 1];
                }
                _validators.pop();
                break;
            }
        }
        emit ValidatorRemoved(validator, block.number + 1);
    }

    /// @dev Share policies are basis points of a loan; a partner minimum of 0 would admit empty tranches.
    function _checkPolicy(bytes32 key, uint256 value) private pure {
        if (key == MIN_SERVICER_SHARE_BPS && value > BPS) revert InvalidPolicy(key, value);
        if (key == MIN_PARTNER_SHARE_BPS && (value == 0 || value > BPS)) revert InvalidPolicy(key, value);
        if (key == bytes32(0)) revert InvalidPolicy(key, value);
    }

    function _setPolicy(bytes32 key, uint256 value) private {
        _checkPolicy(key, value);
        _policy[key] = value;
        emit PolicySet(key, value);
    }
}
