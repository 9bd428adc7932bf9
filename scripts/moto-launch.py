"""The launcher of the moto emulator, for the tests and for `scripts/local-aws`.

Patches moto where it differs from AWS or needs what this machine lacks (endpoint
deletion, stream records handed to its Docker-only Lambda runner, and DAX's groups,
UpdateCluster and transitions: a new or changed cluster is held `creating`/`modifying` for
MOTO_DAX_TRANSITION_SECONDS, default 2, and refuses changes meanwhile; all below), and,
unless CRUDDUR_MOTO_AWS_RULES=off (the tests of the unpatched paths), makes it enforce two
AWS rules the tool relies on: one event source mapping per stream and function (a second
create is refused with AWS's ResourceConflictException naming the existing UUID), and
ClientToken idempotency on CreateVpcEndpoint (a repeated token answers the original
endpoint, whatever its state now). Then it starts
moto's threaded server on 127.0.0.1, prints `ready <port>` once it accepts connections,
and serves until it is stopped.

  scripts/moto-launch.py                 a free port chosen by the OS; exits when its
                                         parent (the test binary) exits, so no emulator
                                         outlives a test run (the user's 4566 is never used)
  scripts/moto-launch.py --port 4566 --detached
                                         what `scripts/local-aws start` runs: the quick
                                         start's emulator, until `scripts/local-aws stop`

Keeping stream records matters to people too: plain moto drops a mapped stream's records
(its Lambda runner needs Docker), so `cruddur-infra stream tail` would see nothing.
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


# DAX (see EMULATOR.md): moto ignores the subnet group, security groups, parameter group
# and maintenance window given to CreateCluster, overwrites a cluster created twice, and has
# no subnet groups, parameter groups or UpdateCluster. The patches below store and echo
# those fields and serve the group calls with AWS's faults, so that the plan after an apply
# is empty here as on AWS.
#
# Transitions, as on AWS (AWS-RULES.md): a new cluster stays `creating`, a changed one
# (UpdateCluster, Increase/DecreaseReplicationFactor) `modifying` and a deleted one
# `deleting` for MOTO_DAX_TRANSITION_SECONDS (default 2: CI stays fast), timed from the
# call. Meanwhile the calls AWS refuses for a cluster that is not `available` answer
# InvalidClusterStateFault (ListTags, TagResource, UntagResource, UpdateCluster,
# Increase/DecreaseReplicationFactor, DeleteCluster), and DeleteSubnetGroup answers
# SubnetGroupInUseFault while any cluster, even a deleting one, uses the group. The hold is
# moto's own state manager's `dax::cluster` transition, so a test may lengthen or shorten
# it at run time: POST /moto-api/state-manager/set-transition with
# {"model_name": "dax::cluster", "transition": {"progression": "time", "seconds": N}}.
import json  # noqa: E402
from datetime import datetime  # noqa: E402

from moto.core.exceptions import JsonRESTError  # noqa: E402
from moto.dax.models import DAXBackend, DaxCluster  # noqa: E402
from moto.dax.responses import DAXResponse  # noqa: E402
from moto.moto_api import state_manager  # noqa: E402

_DAX_TRANSITION_SECONDS = float(os.environ.get("MOTO_DAX_TRANSITION_SECONDS", "2"))
state_manager.set_transition(
    model_name="dax::cluster",
    transition={"progression": "time", "seconds": _DAX_TRANSITION_SECONDS},
)

_DEFAULT_PARAMETERS = {"record-ttl-millis": "300000", "query-ttl-millis": "300000"}


def _fault(code: str, message: str) -> JsonRESTError:
    return JsonRESTError(code, message)


def _dax_state(backend: DAXBackend) -> dict:
    return backend.__dict__.setdefault(
        "_cruddur", {"subnet_groups": {}, "parameter_groups": {}}
    )


def _dax_create_cluster(self) -> str:
    params = json.loads(self.body)
    backend = self.dax_backend
    state = _dax_state(backend)
    name = params.get("ClusterName")
    if name in backend.clusters:
        raise _fault("ClusterAlreadyExistsFault", f"Cluster {name} already exists.")
    subnet_group = params.get("SubnetGroupName", "default")
    if subnet_group != "default" and subnet_group not in state["subnet_groups"]:
        raise _fault("SubnetGroupNotFoundFault", f"Subnet group {subnet_group} not found.")
    parameter_group = params.get("ParameterGroupName", "default.dax1.0")
    if parameter_group != "default.dax1.0" and parameter_group not in state["parameter_groups"]:
        raise _fault("ParameterGroupNotFoundFault", f"Parameter group {parameter_group} not found.")
    answer = _original_create_cluster(self)
    cluster = backend.clusters[name]
    cluster.subnet_group = subnet_group
    cluster.parameter_group.name = parameter_group
    groups = params.get("SecurityGroupIds")
    if groups:
        cluster.security_groups = [
            {"SecurityGroupIdentifier": g, "Status": "active"} for g in groups
        ]
    if params.get("PreferredMaintenanceWindow"):
        cluster.preferred_maintenance_window = params["PreferredMaintenanceWindow"]
    return json.dumps({"Cluster": cluster.to_json()}) if answer else answer


def _dax_cluster(self, name: str) -> DaxCluster:
    cluster = self.dax_backend.clusters.get(name)
    if cluster is None:
        raise _fault("ClusterNotFoundFault", f"Cluster {name} not found.")
    return cluster


def _dax_hold(cluster: DaxCluster, status: str) -> None:
    """Puts the cluster in `status` (`modifying`, `deleting`) for the transition time, from
    now: moto's time progression counts from the last change of status, which for a cluster
    made long ago would end the hold at once."""
    if ("modifying", "available") not in cluster._transitions:
        cluster._transitions.append(("modifying", "available"))
    cluster.status = status
    cluster._time_progressed = datetime.now()


def _dax_require_available(cluster: DaxCluster) -> None:
    """AWS refuses changes (and ListTags) to a cluster that is not `available`."""
    status = cluster.status
    if status != "available":
        raise _fault(
            "InvalidClusterStateFault",
            f"Cluster {cluster.name} is in state {status}; the operation needs it available.",
        )


def _dax_named(self, key: str) -> DaxCluster:
    """The cluster a request names by `key` (a name, or an ARN ending in `/<name>`)."""
    params = json.loads(self.body)
    return _dax_cluster(self, str(params.get(key, "")).split("/")[-1])


def _dax_when_available(original, key: str, then: str | None = None):
    """`original`, refused unless the cluster named by `key` is available; the cluster is
    then held in `then` (a change), when given."""

    def handler(self) -> str:
        cluster = _dax_named(self, key)
        _dax_require_available(cluster)
        answer = original(self)
        if then is not None:
            _dax_hold(cluster, then)
            # The answer was made before the hold: it shows the status AWS answers with.
            body = json.loads(answer)
            if "Cluster" in body:
                body["Cluster"] = cluster.to_json()
                answer = json.dumps(body)
        return answer

    return handler


def _dax_delete_cluster(self) -> str:
    """moto's own delete reads the cluster back after marking it `deleting`, and with a
    time transition that read already finds it `deleted` (and fails) when the cluster was
    available for longer than the hold: the hold starts here instead."""
    cluster = _dax_named(self, "ClusterName")
    _dax_require_available(cluster)
    _dax_hold(cluster, "deleting")
    return json.dumps({"Cluster": cluster.to_json()})


def _dax_update_cluster(self) -> str:
    params = json.loads(self.body)
    cluster = _dax_cluster(self, params.get("ClusterName"))
    _dax_require_available(cluster)
    state = _dax_state(self.dax_backend)
    if "ParameterGroupName" in params:
        group = params["ParameterGroupName"]
        if group != "default.dax1.0" and group not in state["parameter_groups"]:
            raise _fault("ParameterGroupNotFoundFault", f"Parameter group {group} not found.")
        cluster.parameter_group.name = group
    if "Description" in params:
        cluster.description = params["Description"]
    if "PreferredMaintenanceWindow" in params:
        cluster.preferred_maintenance_window = params["PreferredMaintenanceWindow"]
    if "SecurityGroupIds" in params:
        cluster.security_groups = [
            {"SecurityGroupIdentifier": g, "Status": "active"} for g in params["SecurityGroupIds"]
        ]
    _dax_hold(cluster, "modifying")
    return json.dumps({"Cluster": cluster.to_json()})


def _subnet_group_json(name: str, group: dict) -> dict:
    return {
        "SubnetGroupName": name,
        "Description": group["description"],
        "VpcId": group.get("vpc_id", ""),
        "Subnets": [
            {"SubnetIdentifier": s, "SubnetAvailabilityZone": ""} for s in group["subnets"]
        ],
    }


def _dax_create_subnet_group(self) -> str:
    params = json.loads(self.body)
    groups = _dax_state(self.dax_backend)["subnet_groups"]
    name = params["SubnetGroupName"].lower()
    if name in groups:
        raise _fault("SubnetGroupAlreadyExistsFault", f"Subnet group {name} already exists.")
    groups[name] = {"description": params.get("Description", ""), "subnets": params.get("SubnetIds", [])}
    return json.dumps({"SubnetGroup": _subnet_group_json(name, groups[name])})


def _dax_update_subnet_group(self) -> str:
    params = json.loads(self.body)
    groups = _dax_state(self.dax_backend)["subnet_groups"]
    name = params["SubnetGroupName"].lower()
    if name not in groups:
        raise _fault("SubnetGroupNotFoundFault", f"Subnet group {name} not found.")
    if "SubnetIds" in params:
        groups[name]["subnets"] = params["SubnetIds"]
    if "Description" in params:
        groups[name]["description"] = params["Description"]
    return json.dumps({"SubnetGroup": _subnet_group_json(name, groups[name])})


def _dax_describe_subnet_groups(self) -> str:
    params = json.loads(self.body)
    groups = _dax_state(self.dax_backend)["subnet_groups"]
    names = params.get("SubnetGroupNames") or list(groups)
    for n in names:
        if n not in groups:
            raise _fault("SubnetGroupNotFoundFault", f"Subnet group {n} not found.")
    return json.dumps({"SubnetGroups": [_subnet_group_json(n, groups[n]) for n in names]})


def _dax_delete_subnet_group(self) -> str:
    params = json.loads(self.body)
    groups = _dax_state(self.dax_backend)["subnet_groups"]
    name = params["SubnetGroupName"].lower()
    if name not in groups:
        raise _fault("SubnetGroupNotFoundFault", f"Subnet group {name} not found.")
    if any(c.subnet_group == name for c in self.dax_backend.clusters.values()):
        raise _fault("SubnetGroupInUseFault", f"Subnet group {name} is in use by a cluster.")
    del groups[name]
    return json.dumps({"DeletionMessage": f"Subnet group {name} deleted."})


def _dax_create_parameter_group(self) -> str:
    params = json.loads(self.body)
    groups = _dax_state(self.dax_backend)["parameter_groups"]
    name = params["ParameterGroupName"].lower()
    if name in groups:
        raise _fault("ParameterGroupAlreadyExistsFault", f"Parameter group {name} already exists.")
    groups[name] = {"description": params.get("Description", ""), "values": dict(_DEFAULT_PARAMETERS)}
    return json.dumps({"ParameterGroup": {"ParameterGroupName": name, "Description": groups[name]["description"]}})


def _parameter_group(self, name: str) -> dict:
    groups = _dax_state(self.dax_backend)["parameter_groups"]
    if name == "default.dax1.0":
        return {"description": "default", "values": dict(_DEFAULT_PARAMETERS)}
    if name not in groups:
        raise _fault("ParameterGroupNotFoundFault", f"Parameter group {name} not found.")
    return groups[name]


def _dax_describe_parameter_groups(self) -> str:
    params = json.loads(self.body)
    names = params.get("ParameterGroupNames") or ["default.dax1.0", *_dax_state(self.dax_backend)["parameter_groups"]]
    return json.dumps({"ParameterGroups": [
        {"ParameterGroupName": n, "Description": _parameter_group(self, n)["description"]} for n in names
    ]})


def _dax_describe_parameters(self) -> str:
    params = json.loads(self.body)
    group = _parameter_group(self, params["ParameterGroupName"].lower())
    return json.dumps({"Parameters": [
        {"ParameterName": k, "ParameterValue": v, "ParameterType": "DEFAULT", "DataType": "integer",
         "IsModifiable": "TRUE", "ChangeType": "REQUIRES_REBOOT"}
        for k, v in sorted(group["values"].items())
    ]})


def _dax_update_parameter_group(self) -> str:
    params = json.loads(self.body)
    name = params["ParameterGroupName"].lower()
    if name == "default.dax1.0":
        raise _fault("InvalidParameterGroupStateFault", "The default parameter group cannot be modified.")
    group = _parameter_group(self, name)
    for pv in params.get("ParameterNameValues", []):
        if pv["ParameterName"] not in _DEFAULT_PARAMETERS:
            raise _fault("InvalidParameterValueException", f"Unknown parameter {pv['ParameterName']}.")
        group["values"][pv["ParameterName"]] = pv["ParameterValue"]
    return json.dumps({"ParameterGroup": {"ParameterGroupName": name, "Description": group["description"]}})


def _dax_delete_parameter_group(self) -> str:
    params = json.loads(self.body)
    name = params["ParameterGroupName"].lower()
    groups = _dax_state(self.dax_backend)["parameter_groups"]
    if name not in groups:
        raise _fault("ParameterGroupNotFoundFault", f"Parameter group {name} not found.")
    if any(c.parameter_group.name == name for c in self.dax_backend.clusters.values()):
        raise _fault("InvalidParameterGroupStateFault", f"Parameter group {name} is in use.")
    del groups[name]
    return json.dumps({"DeletionMessage": f"Parameter group {name} deleted."})


_original_create_cluster = DAXResponse.create_cluster
DAXResponse.create_cluster = _dax_create_cluster
DAXResponse.update_cluster = _dax_update_cluster
DAXResponse.list_tags = _dax_when_available(DAXResponse.list_tags, "ResourceName")
DAXResponse.tag_resource = _dax_when_available(DAXResponse.tag_resource, "ResourceName")
DAXResponse.untag_resource = _dax_when_available(DAXResponse.untag_resource, "ResourceName")
DAXResponse.increase_replication_factor = _dax_when_available(
    DAXResponse.increase_replication_factor, "ClusterName", "modifying"
)
DAXResponse.decrease_replication_factor = _dax_when_available(
    DAXResponse.decrease_replication_factor, "ClusterName", "modifying"
)
DAXResponse.delete_cluster = _dax_delete_cluster
DAXResponse.create_subnet_group = _dax_create_subnet_group
DAXResponse.update_subnet_group = _dax_update_subnet_group
DAXResponse.describe_subnet_groups = _dax_describe_subnet_groups
DAXResponse.delete_subnet_group = _dax_delete_subnet_group
DAXResponse.create_parameter_group = _dax_create_parameter_group
DAXResponse.describe_parameter_groups = _dax_describe_parameter_groups
DAXResponse.describe_parameters = _dax_describe_parameters
DAXResponse.update_parameter_group = _dax_update_parameter_group
DAXResponse.delete_parameter_group = _dax_delete_parameter_group


if os.environ.get("CRUDDUR_MOTO_AWS_RULES", "on") != "off":
    LambdaBackend.create_event_source_mapping = _create_event_source_mapping_once
    VPCBackend.create_vpc_endpoint = _create_vpc_endpoint_idempotent


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="moto, patched as the docstring says")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--detached", action="store_true", help="outlive the parent")
    args = parser.parse_args()
    # One line per request would bury the test output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    parent = os.getppid()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(f"ready {port}", flush=True)
    try:
        # Reparenting means the test binary is gone (finished or killed).
        while args.detached or os.getppid() == parent:
            time.sleep(0.5)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
