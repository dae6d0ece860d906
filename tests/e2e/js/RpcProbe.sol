// SPDX-License-Identifier: UNLICENSED
// A small contract the RPC client tests deploy: storage, an indexed event, a reason string and a custom error.
pragma solidity 0.8.28;

contract RpcProbe {
    event Stored(address indexed who, uint256 indexed key, uint256 value, string note);

    error TooBig(uint256 value, uint256 limit);

    uint256 public constant LIMIT = 1000;
    uint256 public count;
    mapping(uint256 => uint256) public values;

    function store(uint256 key, uint256 value, string calldata note) external {
        if (value > LIMIT) revert TooBig(value, LIMIT);
        values[key] = value;
        count += 1;
        emit Stored(msg.sender, key, value, note);
    }

    function mustFail() external pure {
        revert("probe says no");
    }
}
