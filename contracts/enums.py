"""Names of the contracts' enums, as their Solidity declarations order them: one copy for the indexer, the demo,
the walkthrough and the node (contracts/src/Clearing.sol `CycleStatus`, contracts/src/CoLending.sol `LoanStatus`,
contracts/src/Consortium.sol `Role`)."""

from __future__ import annotations

LOAN_STATUS = {1: "REGISTERED", 2: "ACTIVE", 3: "PAID_OFF", 4: "WRITTEN_OFF"}
CYCLE_STATUS = {1: "OPEN", 2: "CLOSED", 3: "NETTED", 4: "CONFIRMED", 5: "SETTLED", 6: "DISPUTED"}
MEMBER_ROLE = {1: "BANK", 2: "OBSERVER"}  # contracts/src/Consortium.sol `Role` (0 is NONE, no member)
