//! Dates of decisions in a bezwaar, for the warning that the six-week filing term (Awb 6:7)
//! seems to have passed. A warning, never a decision: the term runs from the day after the
//! decision was sent, which the text rarely says exactly; juridische zaken decides.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use regex::Regex;

use crate::domain::{Lang, DUTCH_MONTHS};

fn date_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let months = DUTCH_MONTHS.join("|");
        Regex::new(&format!(
            r"(?i)\b(besluit|beschikking|dagtekening|aanslag\w*|brief|naheffing\w*|decision|dated|d\.d\.)\b[^.\n]{{0,40}}?\b(?:(\d{{1,2}})[-/.](\d{{1,2}})[-/.](\d{{4}})|(\d{{1,2}})\s+({months})\s+(\d{{4}}))",
        ))
        .expect("date pattern compiles")
    })
}

/// The dates of decisions mentioned in `text` (a date near "besluit", "dagtekening", …).
pub fn decision_dates(text: &str) -> Vec<NaiveDate> {
    date_re()
        .captures_iter(text)
        .filter_map(|c| {
            if let (Some(d), Some(m), Some(y)) = (c.get(2), c.get(3), c.get(4)) {
                NaiveDate::from_ymd_opt(
                    y.as_str().parse().ok()?,
                    m.as_str().parse().ok()?,
                    d.as_str().parse().ok()?,
                )
            } else {
                let d: u32 = c.get(5)?.as_str().parse().ok()?;
                let month = c.get(6)?.as_str();
                let m = DUTCH_MONTHS
                    .iter()
                    .position(|x| x.eq_ignore_ascii_case(month))? as u32
                    + 1;
                NaiveDate::from_ymd_opt(c.get(7)?.as_str().parse().ok()?, m, d)
            }
        })
        .collect()
}

/// A warning when the latest decision date in `text` lies more than `term` before receipt.
pub fn bezwaar_filing_warning(
    text: &str,
    received_at: DateTime<Utc>,
    term: Duration,
    lang: Lang,
) -> Option<String> {
    let latest = decision_dates(text).into_iter().max()?;
    let received = received_at.date_naive();
    if latest > received || received - latest <= term {
        return None;
    }
    let date = latest.format("%d-%m-%Y");
    let weeks = term.num_weeks();
    Some(match lang {
        Lang::Nl => format!("De bezwaartermijn van {weeks} weken lijkt verstreken: het besluit is van {date}. Beoordeel of het bezwaar verschoonbaar te laat is (Awb 6:11)."),
        Lang::En => format!("The {weeks}-week term for an objection seems to have passed: the decision is dated {date}. Check whether the delay is excusable (Awb 6:11)."),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn dates_in_both_notations() {
        let d = decision_dates(
            "tegen het besluit van 3 maart 2026 en de aanslag met dagtekening 28-02-2026",
        );
        assert_eq!(
            d,
            [
                NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(),
                NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
            ]
        );
    }

    #[test]
    fn late_objection_is_warned() {
        let w = bezwaar_filing_warning(
            "Ik maak bezwaar tegen het besluit van 5 januari 2026.",
            at("2026-03-20T10:00:00Z"),
            Duration::weeks(6),
            Lang::Nl,
        );
        assert!(w.unwrap().contains("05-01-2026"));
    }

    #[test]
    fn timely_objection_and_unrelated_dates_are_not() {
        assert!(bezwaar_filing_warning(
            "Bezwaar tegen het besluit van 1 maart 2026.",
            at("2026-03-20T10:00:00Z"),
            Duration::weeks(6),
            Lang::Nl
        )
        .is_none());
        assert!(bezwaar_filing_warning(
            "Ik ben op 5 januari 2026 verhuisd.",
            at("2026-06-20T10:00:00Z"),
            Duration::weeks(6),
            Lang::Nl
        )
        .is_none());
    }
}
