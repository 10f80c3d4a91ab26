"""Runs nb2service for the demo and ends it (with its kernels) when the demo process is gone.

The demo stops its nb2service itself; this covers a demo process killed without that chance
(SIGKILL, a crashed kernel): nb2service runs in a process group of its own, which this watcher
terminates as soon as its parent process changes. Arguments are nb2service's.
"""

import os
import signal
import sys
import threading
import time


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os.killpg(0, signal.SIGTERM)


if __name__ == "__main__":
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    from nb2workflow.service import main

    sys.argv[0] = "nb2service"
    sys.exit(main())
