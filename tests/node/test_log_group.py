"""Every line a group's thread logs names the group, once; other threads' lines are left as they are."""

from __future__ import annotations

import io
import logging
import threading

from node.log_group import LOG_FORMAT, GroupField, bind_group, in_group


def _lines(emit) -> list[str]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(GroupField())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    log = logging.getLogger("colend.test_log_group")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        emit(log)
    finally:
        log.removeHandler(handler)
    return stream.getvalue().splitlines()


def test_a_groups_thread_names_its_group_in_every_line_and_other_threads_do_not() -> None:
    def emit(log: logging.Logger) -> None:
        def group_thread() -> None:
            bind_group("webank-xwbank")
            log.info("event=block_committed number=%d", 7)
            log.info("event=round_change group=%s height=1 round=1", "webank-xwbank")  # names it itself

        worker = threading.Thread(target=group_thread)
        worker.start()
        worker.join()
        log.info("event=p2p_listening port=%d", 1)

    committed, round_change, listening = _lines(emit)
    assert "logger=colend.test_log_group group=webank-xwbank event=block_committed number=7" in committed
    assert round_change.count("group=") == 1 and round_change.endswith("event=round_change group=webank-xwbank "
                                                                        "height=1 round=1")
    assert "group=" not in listening and "logger=colend.test_log_group event=p2p_listening port=1" in listening


def test_a_shared_worker_thread_names_the_group_of_the_request_it_serves_and_then_none() -> None:
    def emit(log: logging.Logger) -> None:
        def worker() -> None:
            in_group("mybank-xwbank", log.info, "event=rpc_slow_request method=%s", "eth_call")
            log.info("event=rpc_idle")

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()

    served, idle = _lines(emit)
    assert "group=mybank-xwbank event=rpc_slow_request method=eth_call" in served and "group=" not in idle
