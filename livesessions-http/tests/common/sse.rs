//! Reading a Server-Sent Events stream over a real socket, one frame at a time.

use serde_json::Value;

use super::PATIENCE;

/// One frame of the stream (the lines up to a blank line).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// Comment lines (`: ...`), trimmed.
    pub comments: Vec<String>,
    /// The `event:` name.
    pub name: Option<String>,
    /// The `id:` value (`Some("")` for an empty `id:`, which clears the client's last id).
    pub id: Option<String>,
    /// The `retry:` value, in milliseconds.
    pub retry: Option<u64>,
    /// The `data:` lines, joined.
    pub data: String,
}

impl Frame {
    /// Whether a browser would dispatch it as an event (it has data).
    pub fn is_event(&self) -> bool {
        !self.data.is_empty()
    }

    /// The data, parsed.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }

    /// The event name (`message` when none is given, as browsers do).
    pub fn event_name(&self) -> &str {
        self.name.as_deref().unwrap_or("message")
    }

    /// The `id:` as a number.
    pub fn numeric_id(&self) -> Option<i64> {
        self.id.as_deref().map(|id| id.parse().unwrap())
    }

    fn parse(block: &str) -> Frame {
        let mut frame = Frame::default();
        for line in block.lines() {
            if let Some(c) = line.strip_prefix(':') {
                frame.comments.push(c.trim().to_owned());
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => frame.name = Some(value.to_owned()),
                "id" => frame.id = Some(value.to_owned()),
                "retry" => frame.retry = Some(value.parse().unwrap()),
                "data" => {
                    if !frame.data.is_empty() {
                        frame.data.push('\n');
                    }
                    frame.data.push_str(value);
                }
                _ => {}
            }
        }
        frame
    }
}

/// Reads an event stream, one parsed frame at a time.
pub struct EventReader {
    response: reqwest::Response,
    buffer: String,
    /// The first frame, which says the subscription is in place.
    pub opening: Frame,
}

impl EventReader {
    /// Opens `GET {base}/api/live-sessions/events`.
    pub async fn open(base: &str) -> EventReader {
        EventReader::open_with(
            reqwest::Client::new().get(format!("{base}/api/live-sessions/events")),
        )
        .await
    }

    /// Opens the stream with `request` and reads its first frame.
    pub async fn open_with(request: reqwest::RequestBuilder) -> EventReader {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let mut reader = EventReader {
            response,
            buffer: String::new(),
            opening: Frame::default(),
        };
        // The first frame says the subscription is in place.
        let opening = reader.next().await.expect("the stream ended at once");
        assert_eq!(opening.comments, ["connected"], "{opening:?}");
        assert!(!opening.is_event(), "{opening:?}");
        reader.opening = opening;
        reader
    }

    /// The next frame, or `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Frame> {
        tokio::time::timeout(PATIENCE, self.next_frame())
            .await
            .expect("the stream stalled")
    }

    /// The next frame, or `None` when the stream ended; `Err` when none came within `wait`.
    pub async fn next_within(
        &mut self,
        wait: std::time::Duration,
    ) -> Result<Option<Frame>, tokio::time::error::Elapsed> {
        tokio::time::timeout(wait, self.next_frame()).await
    }

    async fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(Frame::parse(&block));
            }
            let chunk = self.response.chunk().await.unwrap()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next frame a browser dispatches as an event, skipping keep-alives.
    pub async fn next_frame_event(&mut self) -> Frame {
        loop {
            let frame = self.next().await.expect("the stream ended");
            if frame.is_event() {
                return frame;
            }
        }
    }

    /// The next event's name and data, skipping keep-alives.
    pub async fn next_event(&mut self) -> (String, Value) {
        let frame = self.next_frame_event().await;
        (frame.event_name().to_owned(), frame.json())
    }
}
