//! CSV attendance export.
//!
//! RFC 4180: a header row, CRLF line ends, fields containing `,`, `"`, CR or LF quoted with
//! inner quotes doubled. Cells starting with `=`, `+`, `-`, `@`, tab or CR are prefixed with
//! `'` so that spreadsheet programs do not run them as formulas (names and emails come from
//! users).

use crate::json::ParticipantJson;

/// The header row's columns.
pub(crate) const COLUMNS: [&str; 11] = [
    "userId",
    "userName",
    "email",
    "joinTime",
    "lastJoinTime",
    "lastSeen",
    "leftAt",
    "watchSeconds",
    "watchDuration",
    "joinCount",
    "present",
];

/// Appends one cell, quoted and neutralised as needed.
fn push_cell(out: &mut String, value: &str) {
    let neutralised;
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        neutralised = format!("'{value}");
        neutralised.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn push_row<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, cell);
    }
    out.push_str("\r\n");
}

/// The header row.
pub(crate) fn header() -> String {
    let mut out = String::new();
    push_row(&mut out, COLUMNS);
    out
}

/// Appends a participant's row.
pub(crate) fn push_participant(out: &mut String, p: &ParticipantJson) {
    let numbers = [
        p.watch_seconds.to_string(),
        p.watch_duration.to_string(),
        p.join_count.to_string(),
    ];
    push_row(
        out,
        [
            p.user_id.as_str(),
            p.user_name.as_str(),
            p.email.as_str(),
            p.join_time.as_str(),
            p.last_join_time.as_str(),
            p.last_seen.as_str(),
            p.left_at.as_deref().unwrap_or(""),
            numbers[0].as_str(),
            numbers[1].as_str(),
            numbers[2].as_str(),
            if p.present { "true" } else { "false" },
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(value: &str) -> String {
        let mut out = String::new();
        push_cell(&mut out, value);
        out
    }

    #[test]
    fn quoting() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("Khan, Sarah"), "\"Khan, Sarah\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("a=b"), "a=b");
    }

    #[test]
    fn header_row() {
        assert!(header().starts_with("userId,userName,email,joinTime,"));
        assert!(header().ends_with("present\r\n"));
    }
}
