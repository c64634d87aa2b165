//! Properties of a series' expansion: whatever the rule and the zone, at most 200 starts,
//! strictly increasing, within a year of the first start, all at its local wall time.

use chrono::{DateTime, Months, TimeZone as _, Timelike, Utc};
use livesessions_core::{Recurrence, TimeZone};
use proptest::prelude::*;

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Karachi",
];
const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

fn rule() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["DAILY", "WEEKLY", "MONTHLY"]),
        1u32..4,
        prop::collection::btree_set(0usize..7, 0..4),
        prop_oneof![
            (1u32..260).prop_map(|c| format!(";COUNT={c}")),
            (1u32..500).prop_map(|d| format!(";UNTIL=+{d}")),
            Just(String::new()),
        ],
    )
        .prop_map(|(freq, interval, days, end)| {
            let mut text = format!("FREQ={freq};INTERVAL={interval}");
            if !days.is_empty() {
                let days: Vec<&str> = days.into_iter().map(|d| DAYS[d]).collect();
                text.push_str(&format!(";BYDAY={}", days.join(",")));
            }
            text + &end
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn expansion_is_bounded_ordered_and_keeps_the_wall_time(
        rule in rule(),
        zone in prop::sample::select(ZONES.to_vec()),
        day in 0i64..730,
        hour in 8u32..21,
        minute in prop::sample::select(vec![0u32, 15, 30, 45]),
    ) {
        let zone = TimeZone::parse(zone).unwrap();
        let tz = zone.tz();
        let date = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::TimeDelta::days(day);
        let start: DateTime<Utc> = tz
            .from_local_datetime(&date.and_hms_opt(hour, minute, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
        // `UNTIL=+d`: d days after the start, as a date.
        let rule = match rule.split_once(";UNTIL=+") {
            Some((head, days)) => {
                let until = date + chrono::TimeDelta::days(days.parse().unwrap());
                format!("{head};UNTIL={}", until.format("%Y%m%d"))
            }
            None => rule,
        };
        let recurrence = Recurrence::parse(&rule).unwrap();
        match recurrence.occurrences(start, zone) {
            Ok(starts) => {
                prop_assert!(!starts.is_empty() && starts.len() <= Recurrence::MAX_OCCURRENCES);
                prop_assert!(starts.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
                prop_assert!(starts[0] >= start);
                let last = start.with_timezone(&tz).checked_add_months(Months::new(12)).unwrap();
                for s in &starts {
                    let local = s.with_timezone(&tz);
                    prop_assert_eq!((local.hour(), local.minute()), (hour, minute));
                    prop_assert!(*s <= last.with_timezone(&Utc));
                }
            }
            Err(e) => {
                prop_assert_eq!(e.field.as_str(), "recurrence");
                prop_assert!(["too_many", "empty"].contains(&e.code), "{}", e.code);
            }
        }
    }
}
