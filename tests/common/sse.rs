//! A small Server-Sent Events reader over a reqwest response: frames with their id, name and
//! JSON data, comments skipped.

use serde_json::Value;

/// One event of a stream.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// Its `id:` field, when it had one.
    pub id: Option<String>,
    /// Its `event:` name (`message` when absent).
    pub name: String,
    /// Its data, parsed as JSON (`Value::Null` when it is not JSON).
    pub data: Value,
}

/// Reads events from an open `text/event-stream` response.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    /// Reads from `response`.
    pub fn new(response: reqwest::Response) -> Self {
        SseReader {
            response,
            buffer: String::new(),
        }
    }

    /// The next event; `None` when the stream ended or broke.
    pub async fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
                continue;
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self
                    .buffer
                    .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n")),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

fn parse(block: &str) -> Option<SseEvent> {
    let mut id = None;
    let mut name = None;
    let mut data = String::new();
    let mut fields = false;
    for line in block.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.to_owned()),
            "event" => name = Some(value.to_owned()),
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            _ => continue,
        }
        fields = true;
    }
    if !fields || (name.is_none() && data.is_empty()) {
        return None;
    }
    Some(SseEvent {
        id,
        name: name.unwrap_or_else(|| "message".into()),
        data: serde_json::from_str(&data).unwrap_or(Value::Null),
    })
}
