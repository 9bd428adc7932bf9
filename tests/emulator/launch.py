"""Test-only launcher for the moto emulator.

Starts moto's threaded server on 127.0.0.1 on a free port chosen by the OS, prints
`ready <port>` once it accepts connections, and exits when its parent (the test binary)
exits, so no emulator outlives a test run. The user's own emulator on 4566 is never used.
"""

import logging
import os
import time

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.server import ThreadedMotoServer  # noqa: E402


def main() -> None:
    # One line per request would bury the test output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    parent = os.getppid()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(f"ready {port}", flush=True)
    try:
        # Reparenting means the test binary is gone (finished or killed).
        while os.getppid() == parent:
            time.sleep(0.5)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
