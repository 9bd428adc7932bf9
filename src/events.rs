//! Progress events: how `apply` and the waits report what they are doing without printing.
//!
//! The engine emits events into an [`EventSink`]; the renderer turns them into stderr
//! lines, and tests collect them in memory.

use std::sync::Mutex;
use std::time::Duration;

use crate::plan::Action;
use crate::resources::Address;

/// Something that happened while applying a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Work on a resource began.
    Started {
        /// The resource.
        address: Address,
        /// What is being done.
        action: Action,
    },
    /// One step of a multi-step change began (an index create, a stream switch, …).
    Step {
        /// The resource.
        address: Address,
        /// What the step does.
        message: String,
    },
    /// A wait on AWS's asynchronous state is still going.
    Waiting {
        /// The resource.
        address: Address,
        /// What is awaited, as a verb phrase (`creating`, `creating index "x"`).
        what: String,
        /// Time waited so far.
        elapsed: Duration,
        /// The state AWS last reported.
        state: String,
    },
    /// A transient AWS error is being retried.
    Retrying {
        /// The resource.
        address: Address,
        /// The operation and the error.
        reason: String,
        /// Delay before the next attempt.
        after: Duration,
    },
    /// Work on a resource finished.
    Finished {
        /// The resource.
        address: Address,
        /// What was done.
        action: Action,
        /// How long it took.
        elapsed: Duration,
    },
    /// Work on a resource failed.
    Failed {
        /// The resource.
        address: Address,
        /// What was attempted.
        action: Action,
        /// The error, rendered.
        error: String,
    },
}

impl Event {
    /// The resource the event is about.
    #[must_use]
    pub fn address(&self) -> &Address {
        match self {
            Event::Started { address, .. }
            | Event::Step { address, .. }
            | Event::Waiting { address, .. }
            | Event::Retrying { address, .. }
            | Event::Finished { address, .. }
            | Event::Failed { address, .. } => address,
        }
    }
}

/// Receives events; shared across concurrent work.
pub trait EventSink: Send + Sync {
    /// Handles one event.
    fn emit(&self, event: Event);
}

/// Keeps events in memory (tests, and JSON output).
#[derive(Debug, Default)]
pub struct Recorder(Mutex<Vec<Event>>);

impl Recorder {
    /// Every event so far.
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl EventSink for Recorder {
    fn emit(&self, event: Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}

/// Reports progress for one resource.
#[derive(Clone, Copy)]
pub struct Reporter<'a> {
    /// The resource being worked on.
    pub address: &'a Address,
    /// Where events go.
    pub sink: &'a dyn EventSink,
}

impl Reporter<'_> {
    /// Reports the start of a step.
    pub fn step(&self, message: impl Into<String>) {
        self.sink.emit(Event::Step {
            address: self.address.clone(),
            message: message.into(),
        });
    }

    /// Reports a wait still going.
    pub fn waiting(&self, what: &str, elapsed: Duration, state: &str) {
        self.sink.emit(Event::Waiting {
            address: self.address.clone(),
            what: what.to_string(),
            elapsed,
            state: state.to_string(),
        });
    }

    /// Reports a retry.
    pub fn retrying(&self, reason: String, after: Duration) {
        self.sink.emit(Event::Retrying {
            address: self.address.clone(),
            reason,
            after,
        });
    }
}
