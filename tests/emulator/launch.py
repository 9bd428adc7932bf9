"""Test-only launcher for the moto emulator.

Patches moto where it differs from AWS or needs what this machine lacks (endpoint
deletion, and stream records handed to its Docker-only Lambda runner; both below), starts
moto's threaded server on 127.0.0.1 on a free port chosen by the OS, prints
`ready <port>` once it accepts connections, and exits when its parent (the test binary)
exits, so no emulator outlives a test run. The user's own emulator on 4566 is never used.
"""

import logging
import os
import time

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.server import ThreadedMotoServer  # noqa: E402
from moto.awslambda.models import LambdaBackend  # noqa: E402
from moto.ec2.models.vpcs import VPCBackend  # noqa: E402


def _delete_vpc_endpoints(self, vpce_ids=None):
    """AWS's behaviour where moto differs (see EMULATOR.md): deleting an endpoint twice is
    not an error, and a route another endpoint already removed is not one either (moto lets
    two gateway endpoints share a route table; AWS refuses the second one)."""
    for vpce_id in vpce_ids or []:
        endpoint = self.vpc_end_points.get(vpce_id)
        if endpoint is None or endpoint.state == "deleted":
            continue
        if endpoint.vpc_endpoint_type.lower() == "interface":
            for eni_id in endpoint.network_interface_ids:
                self.enis.pop(eni_id, None)
        else:
            for route_table_id in endpoint.route_table_ids:
                try:
                    self.delete_route(route_table_id, endpoint.destination_prefix_list_id)
                except Exception:  # noqa: BLE001 - the route is already gone
                    pass
        endpoint.state = "deleted"


VPCBackend.delete_vpc_endpoints = _delete_vpc_endpoints


def _send_dynamodb_items(self, function_arn, items, source):  # noqa: ARG001
    """With a stream mapping in place, moto hands every table write to its Lambda runner,
    which needs Docker (absent here) and stalls the write that triggered it. AWS invokes
    the function asynchronously and never holds up the write: drop the hand-off (functions
    are not run here; the handler is tested on its own, see EMULATOR.md)."""
    return ""


LambdaBackend.send_dynamodb_items = _send_dynamodb_items


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
