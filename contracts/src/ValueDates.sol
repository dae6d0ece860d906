// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

/// @title ValueDates: value dates travel as yyyymmdd integers, the way bank books write them.
library ValueDates {
    /// @notice A plausible yyyymmdd (year 1970-9999, month 1-12, day 1-31); calendars beyond that are the books' business.
    function isValid(uint32 d) internal pure returns (bool) {
        uint32 year = d / 10000;
        uint32 month = (d / 100) % 100;
        uint32 day = d % 100;
        return year >= 1970 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= 31;
    }
}
