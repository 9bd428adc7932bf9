//! A loopback proxy between the AWS SDK and the emulator, for tests and the benchmark.
//!
//! It names every call (service from the `SigV4` credential scope, operation from
//! `X-Amz-Target`, `Action=` or the Lambda REST path), counts reads and writes, adds
//! latency, and injects faults in each protocol's own shape: throttling, 500, 503, reset
//! connections, and lost responses (the write reaches the emulator, the client sees a
//! 500). It can also play AWS's eventual consistency where moto is always current: the
//! Resource Groups Tagging API listing resources that were deleted, and, when the benchmark
//! turns it on, AWS's waits where moto has none (`aws_timing`: a table `CREATING`, a role
//! Lambda cannot assume yet, a function `Pending`, …). It listens on 127.0.0.1 only; its
//! randomness is seeded so a failure can be replayed.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

// Only the benchmark turns the model on and reads its figures; the tests leave it off.
#[allow(dead_code)]
#[path = "aws_timing.rs"]
pub mod aws_timing;

use aws_timing::{Seen, Timing};

/// What the proxy does to traffic.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The emulator, like `http://127.0.0.1:5000`.
    pub upstream: String,
    /// Delay added before forwarding each request.
    pub latency: Duration,
    /// Share of requests answered with an injected fault instead of being forwarded.
    pub fault_rate: f64,
    /// Share of write requests forwarded and then answered with a 500 (lost response).
    pub lost_write_rate: f64,
    /// Seed of the fault dice.
    pub seed: u64,
}

/// One call that went through the proxy.
#[derive(Debug, Clone)]
pub struct Call {
    /// Service, like `dynamodb`, `iam`, `lambda`.
    pub service: String,
    /// Operation, like `DescribeTable`.
    pub op: String,
    /// Whether it changes anything.
    pub write: bool,
    /// The injected fault, if any.
    pub fault: Option<&'static str>,
    /// The first bytes of the request body, for diagnostics.
    pub excerpt: String,
    /// The request's path and query: where Lambda's REST API names the function or
    /// mapping, which a body does not.
    pub target: String,
    /// The caller's application id (`app/<id>` in the User-Agent, from
    /// `AWS_SDK_UA_APP_ID`), to tell concurrent runs apart; empty when none was set.
    pub app: String,
    /// When the proxy received it.
    pub start: Instant,
    /// When the proxy answered.
    pub end: Instant,
}

/// Everything the proxy saw.
#[derive(Debug, Default)]
pub struct Stats {
    /// Calls in arrival order.
    pub calls: Vec<Call>,
}

impl Stats {
    /// Calls that reached the emulator or were answered, without injected faults.
    pub fn clean(&self) -> impl Iterator<Item = &Call> {
        self.calls.iter().filter(|c| c.fault.is_none())
    }

    /// Reads and writes.
    pub fn reads_writes(&self) -> (usize, usize) {
        let writes = self.clean().filter(|c| c.write).count();
        (self.clean().count() - writes, writes)
    }

    /// Rounds on the critical path: the most calls that were in flight one after another
    /// (a call starts a new round when it starts after some earlier call ended).
    pub fn rounds(&self) -> usize {
        let mut ends: Vec<Instant> = Vec::new();
        let mut depth: Vec<usize> = Vec::new();
        let mut calls: Vec<&Call> = self.clean().collect();
        calls.sort_by_key(|c| c.start);
        for c in calls {
            let before = ends
                .iter()
                .zip(&depth)
                .filter(|(e, _)| **e <= c.start)
                .map(|(_, d)| *d)
                .max()
                .unwrap_or(0);
            ends.push(c.end);
            depth.push(before + 1);
        }
        depth.into_iter().max().unwrap_or(0)
    }

    /// Clean reads whose request names one of `names` as a whole word (in its path, query
    /// or body excerpt, percent-decoded): `bench-fn-7` matches
    /// `/functions/bench-fn-7/configuration` and `FunctionName=bench-fn-7`, never
    /// `bench-fn-70`.
    // The benchmark's; no test asks yet.
    #[allow(dead_code)]
    pub fn reads_naming(&self, names: &[&str]) -> usize {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
        self.clean()
            .filter(|c| !c.write)
            .filter(|c| {
                [&c.target, &c.excerpt].iter().any(|text| {
                    percent_encoding::percent_decode_str(text)
                        .decode_utf8_lossy()
                        .split(|ch: char| !word(ch))
                        .any(|w| names.contains(&w))
                })
            })
            .count()
    }
}

/// A running proxy.
pub struct Proxy {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// What it saw.
    pub stats: Arc<Mutex<Stats>>,
    /// Live configuration (tests change fault rates between runs).
    pub config: Arc<Mutex<ProxyConfig>>,
    /// Resources (ARN, owning stack) that `GetResources` keeps listing, as AWS's Tagging
    /// API does for a while after they are deleted.
    pub stale_tagged: Arc<Mutex<Vec<(String, String)>>>,
    /// ARNs that `GetResources` does not list yet, as AWS's Tagging API lags behind a
    /// resource created minutes ago.
    pub lagging_tagged: Arc<Mutex<Vec<String>>>,
    /// Operations whose next answer is lost: the call reaches the emulator, the client sees
    /// a 500 (each entry is used once; see `take` for the form).
    pub lose_next: Arc<Mutex<Vec<String>>>,
    /// Operations whose answer is held back for a minute after the emulator made the
    /// change: a test kills the client in that window ("after the write, before the
    /// answer"). Each entry is used once.
    pub hold_next: Arc<Mutex<Vec<String>>>,
    /// AWS's waits, played over the emulator's instant answers: `None` (the default) passes
    /// them through; the benchmark sets a `Timing` for its runs under the model, and a new
    /// one to start from a clean slate.
    // Set by the benchmark; no test turns the model on.
    #[allow(dead_code)]
    pub timing: Arc<Mutex<Option<Timing>>>,
}

/// Takes the first entry matching the call out of `list`: whether there was one. An entry
/// is an operation (`CreateTable`), or an operation and a text its request body holds
/// (`CreateTable@it-messages`), to pick one of several calls of the same operation.
fn take(list: &Mutex<Vec<String>>, op: &str, body: &str) -> bool {
    let Ok(mut l) = list.lock() else {
        return false;
    };
    let matches = |entry: &String| match entry.split_once('@') {
        Some((o, needle)) => o == op && body.contains(needle),
        None => entry == op,
    };
    match l.iter().position(matches) {
        Some(i) => {
            l.remove(i);
            true
        }
        None => false,
    }
}

/// Plays the Tagging API's lag on a `GetResources` answer: adds the stale entries, and
/// leaves out the lagging ones.
fn with_stale(body: &Bytes, stale: &[(String, String)], lagging: &[String]) -> Bytes {
    let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.clone();
    };
    if let Some(list) = doc
        .get_mut("ResourceTagMappingList")
        .and_then(serde_json::Value::as_array_mut)
    {
        list.retain(|m| {
            m.get("ResourceARN")
                .and_then(serde_json::Value::as_str)
                .is_none_or(|arn| !lagging.iter().any(|l| l == arn))
        });
        for (arn, stack) in stale {
            list.push(serde_json::json!({
                "ResourceARN": arn,
                "Tags": [{"Key": "cruddur-infra:stack", "Value": stack}],
            }));
        }
    }
    Bytes::from(doc.to_string())
}

fn is_read(op: &str) -> bool {
    ["Describe", "Get", "List", "Query", "Scan", "BatchGet"]
        .iter()
        .any(|p| op.starts_with(p))
}

/// Names the call: service and operation.
fn identify(parts: &hyper::http::request::Parts, body: &[u8]) -> (String, String, bool) {
    let header = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    // `Credential=AKID/20261121/ca-central-1/iam/aws4_request`
    let service = header("authorization")
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unknown")
        .to_string();
    if let Some(op) = header("x-amz-target").split('.').nth(1) {
        return (service, op.to_string(), !is_read(op));
    }
    let text = String::from_utf8_lossy(body);
    if let Some(action) = text.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return (service, action.to_string(), !is_read(action));
    }
    // Lambda's REST API: the method and the path name the operation.
    let op = lambda_operation(parts.method.as_str(), parts.uri.path());
    let read = is_read(&op);
    (service, op, !read)
}

/// The operation of a Lambda REST call, as IAM names it (`lambda:<operation>`):
/// `POST /2015-03-31/functions` is `CreateFunction`, `GET …/functions/x/configuration` is
/// `GetFunctionConfiguration`, and so on; anything else keeps its method and path.
fn lambda_operation(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with("20"))
        .collect();
    let op = match (method, segments.as_slice()) {
        ("POST", ["functions"]) => "CreateFunction",
        ("GET", ["functions", _]) => "GetFunction",
        ("DELETE", ["functions", _]) => "DeleteFunction",
        ("GET", ["functions", _, "configuration"]) => "GetFunctionConfiguration",
        ("PUT", ["functions", _, "configuration"]) => "UpdateFunctionConfiguration",
        ("PUT", ["functions", _, "code"]) => "UpdateFunctionCode",
        ("GET", ["event-source-mappings"]) => "ListEventSourceMappings",
        ("POST", ["event-source-mappings"]) => "CreateEventSourceMapping",
        ("GET", ["event-source-mappings", _]) => "GetEventSourceMapping",
        ("PUT", ["event-source-mappings", _]) => "UpdateEventSourceMapping",
        ("DELETE", ["event-source-mappings", _]) => "DeleteEventSourceMapping",
        ("POST", ["tags", ..]) => "TagResource",
        ("DELETE", ["tags", ..]) => "UntagResource",
        ("GET", ["tags", ..]) => "ListTags",
        _ => return format!("{method} {path}"),
    };
    op.to_string()
}

/// A fault response in the service's own protocol.
fn fault_response(service: &str, kind: &'static str) -> Response<Full<Bytes>> {
    let (status, content_type, body, error_type) = match (service, kind) {
        ("dynamodb" | "logs", "throttle") => (
            400,
            "application/x-amz-json-1.0",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#.to_string(),
            None,
        ),
        ("lambda", "throttle") => (429, "application/json", r#"{"Type":"User","message":"Rate exceeded"}"#.to_string(), Some("TooManyRequestsException")),
        ("ec2", "throttle") => (
            503,
            "text/xml",
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>".to_string(),
            None,
        ),
        (_, "throttle") => (
            400,
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>".to_string(),
            None,
        ),
        (_, "503") => (503, "text/plain", "Service Unavailable".to_string(), None),
        _ => (500, "text/plain", "Internal Server Error".to_string(), None),
    };
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", content_type);
    if let Some(t) = error_type {
        r = r.header("x-amzn-errortype", t);
    }
    r.body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// Starts the proxy on a free loopback port.
pub async fn start(config: ProxyConfig) -> Proxy {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind proxy");
    let url = format!("http://{}", listener.local_addr().expect("proxy address"));
    let shared = Shared {
        stats: Arc::new(Mutex::new(Stats::default())),
        rng: Arc::new(Mutex::new(fastrand::Rng::with_seed(config.seed))),
        config: Arc::new(Mutex::new(config)),
        stale: Arc::default(),
        lagging: Arc::default(),
        once: Once {
            lose: Arc::default(),
            hold: Arc::default(),
        },
        timing: Arc::default(),
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    let proxy = Proxy {
        url,
        stats: shared.stats.clone(),
        config: shared.config.clone(),
        stale_tagged: shared.stale.clone(),
        lagging_tagged: shared.lagging.clone(),
        lose_next: shared.once.lose.clone(),
        hold_next: shared.once.hold.clone(),
        timing: shared.timing.clone(),
    };
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let shared = shared.clone();
                    async move { handle(req, &shared).await }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    proxy
}

/// The one-shot faults: answers to lose, answers to hold back.
#[derive(Clone)]
struct Once {
    lose: Arc<Mutex<Vec<String>>>,
    hold: Arc<Mutex<Vec<String>>>,
}

/// What every connection's handler shares: the `Proxy`'s handles, the fault dice and the
/// client to the emulator.
#[derive(Clone)]
struct Shared {
    stats: Arc<Mutex<Stats>>,
    config: Arc<Mutex<ProxyConfig>>,
    stale: Arc<Mutex<Vec<(String, String)>>>,
    lagging: Arc<Mutex<Vec<String>>>,
    rng: Arc<Mutex<fastrand::Rng>>,
    once: Once,
    timing: Arc<Mutex<Option<Timing>>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

async fn handle(
    req: Request<Incoming>,
    shared: &Shared,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let start = Instant::now();
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let (service, op, write) = identify(&parts, &body);
    let app = parts
        .headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split(' ').find_map(|t| t.strip_prefix("app/")))
        .unwrap_or_default()
        .to_string();
    let text = String::from_utf8_lossy(&body).into_owned();
    let excerpt: String = text.chars().take(300).collect();
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let cfg = shared
        .config
        .lock()
        .map(|c| c.clone())
        .expect("proxy config");
    let (roll, pick, lost_roll) = {
        let mut r = shared.rng.lock().expect("proxy rng");
        (r.f64(), r.u8(0..4), r.f64())
    };
    tokio::time::sleep(cfg.latency).await;
    let record = |fault: Option<&'static str>| {
        if let Ok(mut s) = shared.stats.lock() {
            s.calls.push(Call {
                service: service.clone(),
                op: op.clone(),
                write,
                fault,
                excerpt: excerpt.clone(),
                target: target.clone(),
                app: app.clone(),
                start,
                end: Instant::now(),
            });
        }
    };
    if roll < cfg.fault_rate {
        let kind = ["throttle", "500", "503", "reset"][usize::from(pick)];
        record(Some(kind));
        if kind == "reset" {
            // An error from the service closes the connection without an answer.
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected reset",
            ));
        }
        return Ok(fault_response(&service, kind));
    }
    let seen = Seen {
        service: &service,
        op: &op,
        uri: &parts.uri,
        body: &body,
    };
    // AWS's own answer to a call made too early (a role Lambda cannot assume yet) is not an
    // injected fault: the call counts, as it costs a round trip on AWS too.
    let early = shared
        .timing
        .lock()
        .ok()
        .and_then(|mut t| t.as_mut().and_then(|t| t.intercept(&seen)));
    if let Some(answer) = early {
        record(None);
        return Ok(answer);
    }
    let mut forward = Request::builder().method(parts.method.clone()).uri(format!(
        "{}{}",
        cfg.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    ));
    for (k, v) in &parts.headers {
        forward = forward.header(k, v);
    }
    let forward = forward
        .body(Full::new(body.clone()))
        .expect("forward request");
    let answer = shared
        .client
        .request(forward)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let (mut aparts, abody) = answer.into_parts();
    let abody = abody
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    // The model sees every answer the emulator gave, lost ones included: the change was
    // made, and AWS's clock for it runs whether or not the client heard.
    let abody = match shared.timing.lock() {
        Ok(mut t) => match t.as_mut() {
            Some(model) => model.rewrite(&seen, &mut aparts, abody),
            None => abody,
        },
        Err(_) => abody,
    };
    if (write && lost_roll < cfg.lost_write_rate) || take(&shared.once.lose, &op, &text) {
        record(Some("lost"));
        return Ok(fault_response(&service, "500"));
    }
    if take(&shared.once.hold, &op, &text) {
        record(Some("held"));
        tokio::time::sleep(Duration::from_mins(1)).await;
        return Ok(fault_response(&service, "500"));
    }
    record(None);
    let _: Option<Infallible> = None;
    let stale = shared.stale.lock().map(|s| s.clone()).unwrap_or_default();
    let lagging = shared.lagging.lock().map(|s| s.clone()).unwrap_or_default();
    let abody = if op == "GetResources" && !(stale.is_empty() && lagging.is_empty()) {
        with_stale(&abody, &stale, &lagging)
    } else {
        abody
    };
    aparts.headers.remove("content-length");
    Ok(Response::from_parts(aparts, Full::new(abody)))
}
