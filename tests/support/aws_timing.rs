//! AWS's asynchronous waits, played over an emulator that has none: the proxy's timing
//! model.
//!
//! moto answers every change at once: a new table is `ACTIVE`, a function `Active`, a
//! mapping `Enabled` and an endpoint `available` on the first read, and Lambda accepts a
//! role created the same millisecond. On AWS each of those is a state that lasts seconds,
//! and an `apply` from empty spends most of its time in them. The model holds each state
//! for the duration `AWS` states, from the moment the proxy sees the call that starts it
//! succeed at the emulator, by rewriting the emulator's answers: keyed by the resource's
//! name (table, role, function), UUID (mapping) or id (endpoint). It never changes what the
//! emulator stores; once a state is over, the emulator's own answer passes through again.
//!
//! It owns only answers: which calls are made, and how often, is the client's business.
//! It is off unless the benchmark turns it on (`Proxy::timing`); no test does.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::http::response::Parts;
use hyper::{Response, StatusCode, Uri};
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// How long AWS holds each asynchronous state, as the model plays it.
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    /// A new table (and each of its indexes) is `CREATING` after `CreateTable`.
    pub table_creating: Duration,
    /// A deleted table is `DELETING` after `DeleteTable`, then not found.
    pub table_deleting: Duration,
    /// Lambda refuses a new role ("cannot be assumed") after `CreateRole`.
    pub role_propagation: Duration,
    /// A new function is `Pending` after `CreateFunction`.
    pub function_pending: Duration,
    /// An updated function's `LastUpdateStatus` is `InProgress` after `UpdateFunctionCode`
    /// or `UpdateFunctionConfiguration`.
    pub function_updating: Duration,
    /// A new mapping is `Creating` after `CreateEventSourceMapping`.
    pub mapping_creating: Duration,
    /// A deleted mapping is `Deleting` after `DeleteEventSourceMapping`, then not found.
    pub mapping_deleting: Duration,
    /// A new VPC endpoint is `pending` after `CreateVpcEndpoint`.
    pub endpoint_pending: Duration,
}

/// The figures of the benchmark, each with its source. AWS documents each state and that
/// it is asynchronous, and for some that it lasts "seconds"; it publishes no durations.
/// The figures are the ones issue 23 states (typical of a small resource in a quiet
/// account), chosen so that the waits, not the round trips, make the critical path.
pub const AWS: Waits = Waits {
    // "CreateTable is an asynchronous operation. Upon receiving a CreateTable request,
    // DynamoDB immediately returns a response with a TableStatus of CREATING. After the
    // table is created, DynamoDB sets the TableStatus to ACTIVE."
    // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html
    table_creating: Duration::from_secs(8),
    // "After a DeleteTable request, the specified table is in the DELETING state until
    // DynamoDB completes the deletion."
    // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteTable.html
    table_deleting: Duration::from_secs(5),
    // IAM is eventually consistent: "Any change that you make in IAM ... takes time to
    // become visible from all possible endpoints"; a new role used at once fails.
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
    // Lambda reports it as `InvalidParameterValueException` "The role defined for the
    // function cannot be assumed by Lambda." (the Terraform provider retries it for
    // minutes).
    role_propagation: Duration::from_secs(8),
    // "After Lambda creates the function, it sets the state to pending ... Your function
    // transitions to active state after Lambda completes resource configuration"; an
    // update leaves `LastUpdateStatus` `InProgress` until it is done.
    // https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
    function_pending: Duration::from_secs(3),
    function_updating: Duration::from_secs(3),
    // A mapping's `State`: "Creating, Enabling, Enabled, Disabling, Disabled, Updating, or
    // Deleting".
    // https://docs.aws.amazon.com/lambda/latest/api/API_GetEventSourceMapping.html
    mapping_creating: Duration::from_secs(5),
    // "When you delete an event source mapping, it enters a Deleting state and might not
    // be completely deleted for several seconds."
    // https://docs.aws.amazon.com/lambda/latest/api/API_DeleteEventSourceMapping.html
    mapping_deleting: Duration::from_secs(5),
    // An endpoint's `State`: "PendingAcceptance | Pending | Available | Deleting | ...".
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpcEndpoint.html
    endpoint_pending: Duration::from_secs(5),
};

/// The message Lambda answers a `CreateFunction` with while IAM has not propagated the
/// role yet.
pub const NOT_ASSUMABLE: &str = "The role defined for the function cannot be assumed by Lambda.";

/// What the proxy knows of a call when it asks the model.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// Service, from the `SigV4` credential scope (`dynamodb`, `lambda`, …).
    pub service: &'a str,
    /// Operation, like `DescribeTable`.
    pub op: &'a str,
    /// The request's URI: Lambda names the function or mapping in its path, and filters
    /// listings in its query.
    pub uri: &'a Uri,
    /// The request's body.
    pub body: &'a [u8],
}

/// A state the model holds for one resource, and since when.
#[derive(Debug)]
struct Held {
    state: State,
    since: Instant,
}

/// The states the model holds.
#[derive(Debug)]
enum State {
    /// Just created.
    Creating,
    /// Just changed (a function's code or configuration).
    Updating,
    /// Already gone from the emulator: the model answers with this last description, in
    /// the state AWS reports while deleting, until the wait is over.
    Deleting(Value),
}

/// The model: its figures, and the states it holds.
#[derive(Debug)]
pub struct Timing {
    waits: Waits,
    tables: HashMap<String, Held>,
    /// When each role was created.
    roles: HashMap<String, Instant>,
    functions: HashMap<String, Held>,
    /// By UUID.
    mappings: HashMap<String, Held>,
    /// When each endpoint was created, by id.
    endpoints: HashMap<String, Instant>,
    refused: usize,
}

impl Timing {
    /// A model holding nothing yet, with these figures.
    #[must_use]
    pub fn new(waits: Waits) -> Self {
        Self {
            waits,
            tables: HashMap::new(),
            roles: HashMap::new(),
            functions: HashMap::new(),
            mappings: HashMap::new(),
            endpoints: HashMap::new(),
            refused: 0,
        }
    }

    /// The figures it plays.
    #[must_use]
    pub fn waits(&self) -> Waits {
        self.waits
    }

    /// How many `CreateFunction` calls it refused because the role had not propagated.
    #[must_use]
    pub fn refused(&self) -> usize {
        self.refused
    }

    /// AWS's answer to a call the emulator would accept too early, if this is one; such a
    /// call is not forwarded. Only `CreateFunction` naming a role created less than
    /// `role_propagation` ago is: Lambda refuses it with HTTP 400
    /// `InvalidParameterValueException`, in its REST-JSON error shape (the code in
    /// `x-amzn-ErrorType`, the message in the body).
    pub fn intercept(&mut self, seen: &Seen<'_>) -> Option<Response<Full<Bytes>>> {
        if (seen.service, seen.op) != ("lambda", "CreateFunction") {
            return None;
        }
        let request: Value = serde_json::from_slice(seen.body).ok()?;
        let role = role_name(request.get("Role")?.as_str()?);
        if self.roles.get(role)?.elapsed() >= self.waits.role_propagation {
            return None;
        }
        self.refused += 1;
        let body = serde_json::json!({"Type": "User", "Message": NOT_ASSUMABLE});
        Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header("content-type", "application/json")
            .header("x-amzn-errortype", "InvalidParameterValueException")
            .header("x-amzn-requestid", "00000000-0000-0000-0000-timing-model")
            .body(Full::new(Bytes::from(body.to_string())))
            .ok()
    }

    /// Notes the states the emulator's answer to `seen` starts or ends, and rewrites the
    /// answer to what AWS reports at this moment: the body's state fields, and with them
    /// the status and headers when the model answers for a resource the emulator has
    /// already deleted. `parts` must be the answer's; its `x-amz-crc32` is recomputed over
    /// the new body (the AWS CLI checks it against `DynamoDB`'s bodies and retries a
    /// mismatch).
    pub fn rewrite(&mut self, seen: &Seen<'_>, parts: &mut Parts, body: Bytes) -> Bytes {
        let ok = parts.status.is_success();
        let now = Instant::now();
        let rewritten = match (seen.service, seen.op) {
            ("dynamodb", "CreateTable") if ok => {
                let name = table_name(seen.body);
                self.tables.insert(name, Held::new(State::Creating, now));
                edit(&body, |doc| {
                    set_table_status(doc.get_mut("TableDescription")?, "CREATING");
                    Some(())
                })
            }
            ("dynamodb", "DeleteTable") if ok => {
                let name = table_name(seen.body);
                let doc = edit(&body, |doc| {
                    set_table_status(doc.get_mut("TableDescription")?, "DELETING");
                    Some(())
                });
                let desc = doc
                    .as_ref()
                    .and_then(|d| d.get("TableDescription"))
                    .cloned();
                if let Some(desc) = desc {
                    self.tables
                        .insert(name, Held::new(State::Deleting(desc), now));
                }
                doc
            }
            ("dynamodb", "DescribeTable") => self.describe_table(seen, parts, &body),
            ("iam", "CreateRole") if ok => {
                if let Some(name) = form_param(seen.body, "RoleName") {
                    self.roles.insert(name, now);
                }
                None
            }
            ("lambda", "CreateFunction") if ok => {
                let doc = edit(&body, |doc| {
                    set_pending(doc);
                    Some(())
                });
                if let Some(name) = doc.as_ref().and_then(|d| string(d, "FunctionName")) {
                    self.functions
                        .insert(function_key(&name), Held::new(State::Creating, now));
                }
                doc
            }
            ("lambda", "UpdateFunctionCode" | "UpdateFunctionConfiguration") if ok => {
                if let Some(name) = lambda_target(seen.uri) {
                    self.functions
                        .insert(function_key(&name), Held::new(State::Updating, now));
                }
                edit(&body, |doc| {
                    set_updating(doc);
                    Some(())
                })
            }
            ("lambda", "GetFunction" | "GetFunctionConfiguration") if ok => {
                self.describe_function(seen, &body)
            }
            ("lambda", "DeleteFunction") if ok => {
                if let Some(name) = lambda_target(seen.uri) {
                    self.functions.remove(&function_key(&name));
                }
                None
            }
            ("lambda", "CreateEventSourceMapping") if ok => {
                let doc = edit(&body, |doc| {
                    set(doc, "State", "Creating");
                    Some(())
                });
                if let Some(uuid) = doc.as_ref().and_then(|d| string(d, "UUID")) {
                    self.mappings.insert(uuid, Held::new(State::Creating, now));
                }
                doc
            }
            ("lambda", "DeleteEventSourceMapping") if ok => {
                // moto answers the delete of a mapping it does not know with `{}`: nothing
                // to hold then.
                let doc = edit(&body, |doc| {
                    doc.get("UUID")?;
                    set(doc, "State", "Deleting");
                    Some(())
                });
                if let Some(d) = &doc
                    && let Some(uuid) = string(d, "UUID")
                {
                    self.mappings
                        .insert(uuid, Held::new(State::Deleting(d.clone()), now));
                }
                doc
            }
            ("lambda", "GetEventSourceMapping") => self.describe_mapping(seen, parts, &body),
            ("lambda", "ListEventSourceMappings") if ok => self.list_mappings(seen, &body),
            ("ec2", "CreateVpcEndpoint") if ok => {
                let xml = String::from_utf8_lossy(&body);
                if let Some(id) = xml_text(&xml, "vpcEndpointId") {
                    self.endpoints.insert(id.to_string(), now);
                }
                return self.endpoint_states(parts, body);
            }
            ("ec2", "DescribeVpcEndpoints") if ok => return self.endpoint_states(parts, body),
            _ => None,
        };
        match rewritten {
            Some(doc) => reencode(parts, &doc),
            None => body,
        }
    }

    /// `DescribeTable`: `CREATING` for a new table; for a deleted one, `DELETING` with its
    /// last description where the emulator no longer knows it.
    fn describe_table(&self, seen: &Seen<'_>, parts: &mut Parts, body: &Bytes) -> Option<Value> {
        let name = table_name(seen.body);
        let w = self.waits;
        let held = current(&self.tables, &name, |s| match s {
            State::Deleting(_) => w.table_deleting,
            State::Creating | State::Updating => w.table_creating,
        })?;
        match &held.state {
            State::Deleting(desc) => {
                answer_ok(parts, "application/x-amz-json-1.0");
                Some(serde_json::json!({ "Table": desc }))
            }
            State::Creating | State::Updating if parts.status.is_success() => edit(body, |doc| {
                set_table_status(doc.get_mut("Table")?, "CREATING");
                Some(())
            }),
            State::Creating | State::Updating => None,
        }
    }

    /// `GetFunction` (the configuration under `Configuration`) and
    /// `GetFunctionConfiguration` (the configuration itself): `Pending` after a create,
    /// `InProgress` after an update.
    fn describe_function(&self, seen: &Seen<'_>, body: &Bytes) -> Option<Value> {
        let name = function_key(&lambda_target(seen.uri)?);
        let w = self.waits;
        let held = current(&self.functions, &name, |s| match s {
            State::Creating | State::Deleting(_) => w.function_pending,
            State::Updating => w.function_updating,
        })?;
        edit(body, |doc| {
            let config = if seen.op == "GetFunction" {
                doc.get_mut("Configuration")?
            } else {
                doc
            };
            match held.state {
                State::Creating => set_pending(config),
                State::Updating => set_updating(config),
                State::Deleting(_) => {}
            }
            Some(())
        })
    }

    /// `GetEventSourceMapping`: `Creating` after a create; for a deleted mapping, `Deleting`
    /// with its last description, whatever the emulator answers (it has forgotten it).
    fn describe_mapping(&self, seen: &Seen<'_>, parts: &mut Parts, body: &Bytes) -> Option<Value> {
        let uuid = lambda_target(seen.uri)?;
        let held = current(&self.mappings, &uuid, |s| self.mapping_wait(s))?;
        match &held.state {
            State::Deleting(desc) => {
                answer_ok(parts, "application/json");
                Some(desc.clone())
            }
            State::Creating | State::Updating if parts.status.is_success() => edit(body, |doc| {
                set(doc, "State", "Creating");
                Some(())
            }),
            State::Creating | State::Updating => None,
        }
    }

    /// `ListEventSourceMappings`: each listed mapping in the state the model holds for it,
    /// and the mappings still deleting that match the listing's filters added back (AWS
    /// lists them until they are gone).
    fn list_mappings(&self, seen: &Seen<'_>, body: &Bytes) -> Option<Value> {
        let arn = query_param(seen.uri, "EventSourceArn");
        let function = query_param(seen.uri, "FunctionName").map(|f| function_key(&f));
        let live = |uuid: &str| current(&self.mappings, uuid, |s| self.mapping_wait(s));
        let mut doc: Value = serde_json::from_slice(body).ok()?;
        let list = doc.get_mut("EventSourceMappings")?.as_array_mut()?;
        let mut changed = false;
        for m in &mut *list {
            if let Some(uuid) = string(m, "UUID")
                && let Some(Held {
                    state: State::Creating,
                    ..
                }) = live(&uuid)
            {
                set(m, "State", "Creating");
                changed = true;
            }
        }
        let listed: Vec<String> = list.iter().filter_map(|m| string(m, "UUID")).collect();
        for (uuid, held) in &self.mappings {
            let State::Deleting(desc) = &held.state else {
                continue;
            };
            let matches = arn
                .as_ref()
                .is_none_or(|a| string(desc, "EventSourceArn").as_ref() == Some(a))
                && function.as_ref().is_none_or(|f| {
                    string(desc, "FunctionArn").is_some_and(|d| function_key(&d) == *f)
                });
            if matches && !listed.contains(uuid) && live(uuid).is_some() {
                list.push(desc.clone());
                changed = true;
            }
        }
        changed.then_some(doc)
    }

    /// How long a mapping's state lasts.
    fn mapping_wait(&self, state: &State) -> Duration {
        match state {
            State::Deleting(_) => self.waits.mapping_deleting,
            State::Creating | State::Updating => self.waits.mapping_creating,
        }
    }

    /// An EC2 answer with endpoints (`CreateVpcEndpoint`, `DescribeVpcEndpoints`), each
    /// endpoint created less than `endpoint_pending` ago `pending` where the emulator says
    /// `available`.
    fn endpoint_states(&self, parts: &mut Parts, body: Bytes) -> Bytes {
        let pending = |id: &str| {
            self.endpoints
                .get(id)
                .is_some_and(|t| t.elapsed() < self.waits.endpoint_pending)
        };
        match pending_endpoints(&String::from_utf8_lossy(&body), pending) {
            Some(xml) => {
                parts.headers.remove("content-length");
                Bytes::from(xml)
            }
            None => body,
        }
    }
}

impl Held {
    /// `state`, starting at `since`.
    fn new(state: State, since: Instant) -> Self {
        Self { state, since }
    }
}

/// The state held for `key`, if it has not run its course (`wait` says how long each state
/// lasts).
fn current<'a>(
    map: &'a HashMap<String, Held>,
    key: &str,
    wait: impl Fn(&State) -> Duration,
) -> Option<&'a Held> {
    map.get(key).filter(|h| h.since.elapsed() < wait(&h.state))
}

/// Parses a JSON body, lets `change` edit it, and returns it when `change` did.
fn edit(body: &[u8], change: impl FnOnce(&mut Value) -> Option<()>) -> Option<Value> {
    let mut doc: Value = serde_json::from_slice(body).ok()?;
    change(&mut doc).map(|()| doc)
}

/// Sets the string field `key` of an object.
fn set(doc: &mut Value, key: &str, value: &str) {
    if let Some(o) = doc.as_object_mut() {
        o.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// The string field `key` of an object.
fn string(doc: &Value, key: &str) -> Option<String> {
    doc.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Sets a table description's status and its indexes': a new table's indexes are created
/// with it, a deleted table's go with it.
fn set_table_status(desc: &mut Value, status: &str) {
    set(desc, "TableStatus", status);
    if let Some(indexes) = desc
        .get_mut("GlobalSecondaryIndexes")
        .and_then(Value::as_array_mut)
    {
        for index in indexes {
            set(index, "IndexStatus", status);
        }
    }
}

/// A function configuration as Lambda reports it while creating: `Pending`, with its
/// reason, and no `LastUpdateStatus` yet ("first set to Successful after function creation
/// completes").
fn set_pending(config: &mut Value) {
    set(config, "State", "Pending");
    set(config, "StateReason", "The function is being created.");
    set(config, "StateReasonCode", "Creating");
    if let Some(o) = config.as_object_mut() {
        o.remove("LastUpdateStatus");
    }
}

/// A function configuration as Lambda reports it while an update is in progress: still
/// `Active`, the update `InProgress`.
fn set_updating(config: &mut Value) {
    set(config, "LastUpdateStatus", "InProgress");
    set(
        config,
        "LastUpdateStatusReason",
        "The function is being updated.",
    );
    set(config, "LastUpdateStatusReasonCode", "InProgress");
}

/// Makes `parts` a plain 200 answer of `content_type` (the model answers for a resource the
/// emulator has already forgotten, whose answer was an error).
fn answer_ok(parts: &mut Parts, content_type: &'static str) {
    parts.status = StatusCode::OK;
    parts.headers.remove("x-amzn-errortype");
    parts.headers.insert(
        "content-type",
        hyper::header::HeaderValue::from_static(content_type),
    );
}

/// The rewritten document as the body, with the headers that describe the body brought in
/// line: no stale `content-length` (the proxy's server sets it), and `DynamoDB`'s
/// `x-amz-crc32` over the new bytes.
fn reencode(parts: &mut Parts, doc: &Value) -> Bytes {
    let bytes = Bytes::from(doc.to_string());
    parts.headers.remove("content-length");
    if parts.headers.contains_key("x-amz-crc32") {
        parts.headers.insert(
            "x-amz-crc32",
            hyper::header::HeaderValue::from(crc32(&bytes)),
        );
    }
    bytes
}

/// CRC-32 (IEEE 802.3, reflected), the checksum `DynamoDB` sends in `x-amz-crc32`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The `TableName` of a `DynamoDB` request; an ARN (which `DynamoDB` also takes) by its name.
fn table_name(body: &[u8]) -> String {
    let name = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|d| string(&d, "TableName"))
        .unwrap_or_default();
    match name.split_once(":table/") {
        Some((_, table)) => table.to_string(),
        None => name,
    }
}

/// A role's name from its ARN (`arn:aws:iam::123456789012:role/some/path/name`): names are
/// unique in an account whatever the path.
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A function's name, whether it is given by name, ARN or partial ARN, without a version
/// or alias.
fn function_key(name: &str) -> String {
    match name.split_once("function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest).to_string(),
        None => name.to_string(),
    }
}

/// The resource a Lambda REST path names: the function in `/2015-03-31/functions/<name>…`,
/// the UUID in `/2015-03-31/event-source-mappings/<uuid>`.
fn lambda_target(uri: &Uri) -> Option<String> {
    let segment = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with("20"))
        .nth(1)?;
    Some(percent_decode_str(segment).decode_utf8_lossy().into_owned())
}

/// A query parameter of the URI, decoded.
fn query_param(uri: &Uri, key: &str) -> Option<String> {
    pair(uri.query()?, key)
}

/// A parameter of a form-encoded body (the IAM and EC2 query protocols), decoded.
fn form_param(body: &[u8], key: &str) -> Option<String> {
    pair(&String::from_utf8_lossy(body), key)
}

/// The value of `key` in `k=v&k=v`, percent-decoded (a `+` is a space).
fn pair(text: &str, key: &str) -> Option<String> {
    let value = text
        .split('&')
        .find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == key))?
        .1
        .replace('+', " ");
    Some(percent_decode_str(&value).decode_utf8_lossy().into_owned())
}

/// The text of the first `<tag>…</tag>` in `xml`.
fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find('<')?;
    Some(&xml[start..end])
}

/// The EC2 answer `xml` with each endpoint for which `pending(id)` holds `pending` instead
/// of `available`, if any was. EC2 (and moto, which writes members in the API model's
/// order) writes an endpoint's `<vpcEndpointId>` before its `<state>`, and no other member
/// of an endpoint holds a `<state>`: the first `<state>` after an id, before the next id,
/// is that endpoint's.
fn pending_endpoints(xml: &str, pending: impl Fn(&str) -> bool) -> Option<String> {
    const ID: &str = "<vpcEndpointId>";
    const STATE: &str = "<state>available</state>";
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    let mut changed = false;
    while let Some(at) = rest.find(ID) {
        let (head, tail) = rest.split_at(at + ID.len());
        out.push_str(head);
        let end = tail.find(ID).unwrap_or(tail.len());
        let endpoint = &tail[..end];
        let id = endpoint.split('<').next().unwrap_or_default();
        match endpoint.find(STATE).filter(|_| pending(id)) {
            Some(s) => {
                out.push_str(&endpoint[..s]);
                out.push_str("<state>pending</state>");
                out.push_str(&endpoint[s + STATE.len()..]);
                changed = true;
            }
            None => out.push_str(endpoint),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}
