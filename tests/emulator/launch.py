"""Test-only launcher for the moto emulator.

Patches moto where it differs from AWS or needs what this machine lacks (endpoint
deletion, and stream records handed to its Docker-only Lambda runner; both below), and,
unless CRUDDUR_MOTO_AWS_RULES=off (the tests of the unpatched paths), makes it enforce two
AWS rules the tool relies on: one event source mapping per stream and function (a second
create is refused with AWS's ResourceConflictException naming the existing UUID), and
ClientToken idempotency on CreateVpcEndpoint (a repeated token answers the original
endpoint, whatever its state now). Then it starts
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
from moto.awslambda.exceptions import LambdaClientError  # noqa: E402


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


class ResourceConflictException(LambdaClientError):
    code = 409

    def __init__(self, message: str):
        super().__init__("ResourceConflictException", message)


_create_event_source_mapping = LambdaBackend.create_event_source_mapping


def _create_event_source_mapping_once(self, spec):
    """AWS refuses a second mapping of the same stream to the same function, naming the
    existing one; moto makes another."""
    source = spec.get("EventSourceArn", "")
    name = spec.get("FunctionName", "")
    try:
        function_arn = self._lambdas.get_function_by_name_or_arn_with_qualifier(name).function_arn
    except Exception:  # noqa: BLE001 - moto's own create reports the unknown function
        return _create_event_source_mapping(self, spec)
    for esm in self._event_source_mappings.values():
        if esm.event_source_arn == source and esm.function_arn == function_arn:
            raise ResourceConflictException(
                f'The event source arn (" {source} ") and function (" {name} ") provided '
                f"mapping already exists. Please update or delete the existing mapping "
                f"with UUID {esm.uuid}"
            )
    return _create_event_source_mapping(self, spec)


_create_vpc_endpoint = VPCBackend.create_vpc_endpoint


def _create_vpc_endpoint_idempotent(self, *args, client_token=None, **kwargs):
    """EC2 answers a repeated ClientToken with the endpoint the first create made (for at
    least 24 hours, even once it is deleted); moto ignores the token and makes another."""
    tokens = self.__dict__.setdefault("_cruddur_client_tokens", {})
    if client_token and client_token in tokens:
        return tokens[client_token]
    endpoint = _create_vpc_endpoint(self, *args, client_token=client_token, **kwargs)
    if client_token:
        tokens[client_token] = endpoint
    return endpoint


if os.environ.get("CRUDDUR_MOTO_AWS_RULES", "on") != "off":
    LambdaBackend.create_event_source_mapping = _create_event_source_mapping_once
    VPCBackend.create_vpc_endpoint = _create_vpc_endpoint_idempotent


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
