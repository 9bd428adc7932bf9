//! Stream records as `stream tail` prints them: time, INSERT / MODIFY / REMOVE, keys, and
//! the images the stream's view type carries, as a line for people or a JSON object.

use super::{Item, show};

/// Where `stream tail` starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StartAt {
    /// Only records written from now on.
    Latest,
    /// Every record the stream still holds (the last 24 hours).
    TrimHorizon,
}

/// One change record of a table's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// When the change was made (RFC 3339), as the stream reports it.
    pub time: Option<String>,
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub event: String,
    /// The item's key.
    pub keys: Item,
    /// The item after the change, when the view type carries it.
    pub new_image: Option<Item>,
    /// The item before the change, when the view type carries it.
    pub old_image: Option<Item>,
    /// The record's sequence number in its shard.
    pub sequence: String,
    /// The shard it was read from.
    pub shard: String,
}

/// Why a record has no image although the table's view type is `view`, in words.
fn missing_image(record: &Record, view: &str) -> Option<String> {
    if record.new_image.is_some() || record.old_image.is_some() {
        return None;
    }
    Some(match (record.event.as_str(), view) {
        ("REMOVE", "NEW_IMAGE") => {
            "no image: a NEW_IMAGE stream carries none for a REMOVE; the item is gone".into()
        }
        ("INSERT", "OLD_IMAGE") => {
            "no image: an OLD_IMAGE stream carries none for an INSERT; there was no item".into()
        }
        (_, "KEYS_ONLY") => "keys only: the stream's view type is KEYS_ONLY".into(),
        (_, view) => format!("no image in this record (view type {view})"),
    })
}

/// The record as one line: time, event, keys, then the images or why there are none.
#[must_use]
pub fn line(record: &Record, view: &str) -> String {
    let keys: Vec<String> = record
        .keys
        .iter()
        .map(|(k, v)| match v {
            super::Plain::String(s) => format!("{k}={s}"),
            other => format!("{k}={}", other.to_json()),
        })
        .collect();
    let mut out = format!(
        "{}  {:<6}  {}",
        record.time.as_deref().unwrap_or("-"),
        record.event,
        keys.join(" ")
    );
    if let Some(old) = &record.old_image {
        out.push_str("  old: ");
        out.push_str(&show::json_line(old));
    }
    if let Some(new) = &record.new_image {
        out.push_str("  new: ");
        out.push_str(&show::json_line(new));
    }
    if let Some(why) = missing_image(record, view) {
        out.push_str("  (");
        out.push_str(&why);
        out.push(')');
    }
    out
}

/// The record as one JSON object of plain values (no newline).
#[must_use]
pub fn json(record: &Record) -> String {
    let image = |i: &Option<Item>| {
        i.as_ref().map_or(serde_json::Value::Null, |i| {
            serde_json::Value::Object(i.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
        })
    };
    serde_json::json!({
        "time": record.time,
        "event": record.event,
        "keys": image(&Some(record.keys.clone())),
        "new_image": image(&record.new_image),
        "old_image": image(&record.old_image),
        "sequence_number": record.sequence,
        "shard": record.shard,
    })
    .to_string()
}
