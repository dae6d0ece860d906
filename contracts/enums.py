"""Names of the contracts' enums, as their Solidity declarations order them: one copy for the indexer, the
demo and the walkthrough (contracts/src/Clearing.sol `CycleStatus`, contracts/src/CoLending.sol `LoanStatus`)."""

from __future__ import annotations

LOAN_STATUS = {1: "REGISTERED", 2: "ACTIVE", 3: "PAID_OFF", 4: "WRITTEN_OFF"}
CYCLE_STATUS = {1: "OPEN", 2: "CLOSED", 3: "NETTED", 4: "CONFIRMED", 5: "SETTLED", 6: "DISPUTED"}
