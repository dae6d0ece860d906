"""The application layer's exception hierarchy: each error has a stable machine code (`colend.<reason>`)."""

from __future__ import annotations


class ColendError(Exception):
    """Base of every error the `colend` application commands report."""

    code: str = "colend.error"

    def __init__(self, message: str, *, data: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class BadArguments(ColendError):
    """A command line the command cannot run with (e.g. `colend demo --loans 0`)."""

    code = "colend.bad_arguments"


class DemoNetworkFailed(ColendError):
    """The demo consortium could not be created or started; the message says which step and why."""

    code = "colend.demo_network_failed"


class FourEyesViolation(ColendError):
    """A payment reference approved by the officer who entered it: a second officer must approve."""

    code = "colend.four_eyes_violation"


class ChildStartFailed(ColendError):
    """A child process exited, or did not log that it started, in time; the message carries the log's tail."""

    code = "colend.start_failed"


class NodeStartFailed(ChildStartFailed):
    """The node exited, or did not log that it started, in time; the message carries the log's tail."""

    code = "colend.node_start_failed"


class ServiceStartFailed(ChildStartFailed):
    code = "colend.service_start_failed"


class ServiceCallFailed(ColendError):
    """A clearing service answered a demo call with an error, or did not show what it should in time."""

    code = "colend.service_call_failed"


class InvalidGroups(ColendError):
    """`--groups` that cannot make a consortium (a group written wrong, a bank named twice in one)."""

    code = "colend.invalid_groups"


class GroupTooSmall(InvalidGroups):
    """A group of fewer than two banks: a lending relationship is between two banks at least."""

    code = "colend.group_too_small"


class UnknownGroupBank(InvalidGroups):
    """A group names a bank that is not one of the consortium's (`--banks`); observers are in every group."""

    code = "colend.group_unknown_bank"


class DuplicateGroup(InvalidGroups):
    """Two groups of the same banks: one relationship, one ledger."""

    code = "colend.group_duplicate"


class BankInNoGroup(InvalidGroups):
    """A bank in no group: its nodes would hold no ledger and validate nothing."""

    code = "colend.bank_in_no_group"


class NoSuchGroup(ColendError):
    """A group this consortium does not have (consortium.json lists its groups)."""

    code = "colend.no_such_group"


class NoSuchNode(ColendError):
    code = "colend.no_such_node"


class GroupNotOnNode(ColendError):
    """A group named for a node that holds it neither running nor stopped."""

    code = "colend.group_not_on_node"


class LastGroupOfNode(ColendError):
    """Stopping or removing a node's only running group: a node with no group has nothing to run."""

    code = "colend.last_group_of_node"


class GroupFilesExist(InvalidGroups):
    """A new group's genesis or store folder already exists (a group of that name was removed, its data kept)."""

    code = "colend.group_files_exist"


class GroupBankWithoutNode(InvalidGroups):
    """A bank of a new group with no validator node (none, or all revoked): the other bank would finalize alone."""

    code = "colend.group_bank_without_node"


class GroupDataInUse(ColendError):
    """`remove-group --delete-data`: a node still holds the group's store open after it was stopped."""

    code = "colend.group_data_in_use"
