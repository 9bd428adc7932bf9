"""Test-only launcher for DynamoDB Local, AWS's own DynamoDB emulator.

Runs the jar that `scripts/local-aws install dynamodb-local` unpacked into
`.dynamodb-local/emulator` with the machine's Java, in memory, on a free loopback port, with
`-delayTransientStatuses` so that indexes stay CREATING/DELETING for a while as on AWS.
Prints `ready <port>` once it answers HTTP, and stops it when its parent (the test binary)
exits, so no DynamoDB Local outlives a test run. The user's own one on 8000 is never used.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
    except urllib.error.HTTPError:
        return True  # DynamoDB Local answers a bare GET with 400: it is up.
    except OSError:
        return False
    return True


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    emulator = os.path.join(root, ".dynamodb-local", "emulator")
    if not os.path.exists(os.path.join(emulator, "DynamoDBLocal.jar")):
        print("error DynamoDB Local is not installed: run scripts/test (or scripts/local-aws install dynamodb-local)", flush=True)
        sys.exit(1)
    if shutil.which("java") is None:
        print("error java is not installed: DynamoDB Local needs a Java 17 runtime", flush=True)
        sys.exit(1)
    parent = os.getppid()
    port = free_port()
    java = subprocess.Popen(
        [
            "java",
            "-Djava.library.path=./DynamoDBLocal_lib",
            "-jar",
            "DynamoDBLocal.jar",
            "-inMemory",
            "-port",
            str(port),
            "-disableTelemetry",
            "-delayTransientStatuses",
        ],
        cwd=emulator,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not answers(port):
            if java.poll() is not None:
                print(f"error DynamoDB Local exited with {java.returncode} during start-up", flush=True)
                sys.exit(1)
            if time.monotonic() > deadline:
                print("error DynamoDB Local did not answer within 60 s", flush=True)
                sys.exit(1)
            time.sleep(0.1)
        print(f"ready {port}", flush=True)
        # Reparenting means the test binary is gone (finished or killed).
        while os.getppid() == parent and java.poll() is None:
            time.sleep(0.5)
    finally:
        java.terminate()
        try:
            java.wait(timeout=10)
        except subprocess.TimeoutExpired:
            java.kill()


if __name__ == "__main__":
    main()
