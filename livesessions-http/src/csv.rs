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

    /// Checks each `(value, cell)`: `value` is written as `cell`.
    fn assert_cells(cases: &[(&str, &str)]) {
        for (value, expected) in cases {
            let mut out = String::new();
            push_cell(&mut out, value);
            assert_eq!(out, *expected, "{value:?}");
        }
    }

    #[test]
    fn quoting() {
        assert_cells(&[
            ("plain", "plain"),
            ("Khan, Sarah", "\"Khan, Sarah\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("cr\rhere", "\"cr\rhere\""),
            ("", ""),
        ]);
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_cells(&[
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("a=b", "a=b"),
        ]);
    }

    #[test]
    fn header_row() {
        assert!(header().starts_with("userId,userName,email,joinTime,"));
        assert!(header().ends_with("present\r\n"));
    }
}
