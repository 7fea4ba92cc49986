//! Routing: which intake queue a classified message goes to, and by when it must be handled.
//! Pure: rules in, decision out.
//!
//! The rules live in TOML (`data/routing.toml` is built in; `routing_file` in the
//! configuration replaces it): ordered rules on label, doubt, repeat, channel, language, cue
//! families, topics and confidence → queue; first match wins; an explicit fallback queue.
//! [`Router::parse`] validates everything and names the line of anything unknown.

mod deadline;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::domain::{Channel, Label, Lang, UnknownName};
use crate::error::{Error, Result};
use crate::pipeline::types::Family;

pub use deadline::bezwaar_filing_warning;

/// The built-in routing file.
pub const BUILTIN: &str = include_str!("../../data/routing.toml");

/// What routing looks at.
#[derive(Debug, Clone)]
pub struct RouteInput<'a> {
    /// The final label.
    pub label: Label,
    /// Its confidence.
    pub confidence: f32,
    /// In doubt.
    pub needs_clarification: bool,
    /// A repeat.
    pub repeat: bool,
    /// The channel.
    pub channel: Channel,
    /// The language.
    pub lang: Lang,
    /// Families with at least one non-negated cue.
    pub families: &'a BTreeSet<Family>,
    /// Topics of the issue signature.
    pub topics: &'a [String],
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// Where a message goes and by when.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The queue.
    pub queue: String,
    /// The rule that chose it (`fallback` when none did).
    pub rule: String,
    /// Handling deadline.
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Rule {
    name: String,
    labels: Option<BTreeSet<Label>>,
    needs_clarification: Option<bool>,
    repeat: Option<bool>,
    channels: Option<BTreeSet<Channel>>,
    languages: Option<BTreeSet<Lang>>,
    families: Option<BTreeSet<Family>>,
    topics: Option<BTreeSet<String>>,
    min_confidence: Option<f32>,
    max_confidence: Option<f32>,
    queue: String,
}

impl Rule {
    fn matches(&self, i: &RouteInput<'_>) -> bool {
        self.labels.as_ref().is_none_or(|s| s.contains(&i.label))
            && self
                .needs_clarification
                .is_none_or(|b| b == i.needs_clarification)
            && self.repeat.is_none_or(|b| b == i.repeat)
            && self
                .channels
                .as_ref()
                .is_none_or(|s| s.contains(&i.channel))
            && self.languages.as_ref().is_none_or(|s| s.contains(&i.lang))
            && self
                .families
                .as_ref()
                .is_none_or(|s| s.iter().any(|f| i.families.contains(f)))
            && self
                .topics
                .as_ref()
                .is_none_or(|s| i.topics.iter().any(|t| s.contains(t)))
            && self.min_confidence.is_none_or(|m| i.confidence >= m)
            && self.max_confidence.is_none_or(|m| i.confidence < m)
    }
}

/// Handling terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Deadlines {
    /// Per label.
    pub per_label: BTreeMap<Label, Duration>,
    /// Term for filing a bezwaar after the decision (for the late-filing warning).
    pub bezwaar_filing: Duration,
}

/// The validated routing.
#[derive(Debug, Clone, PartialEq)]
pub struct Router {
    rules: Vec<Rule>,
    /// Queue when no rule matches.
    pub fallback: String,
    /// Queue for items leased too often without an ack.
    pub dead_letter: String,
    /// Leases before an item is dead-lettered.
    pub max_deliveries: u32,
    /// Declared queues with their descriptions.
    pub queues: BTreeMap<String, String>,
    /// Handling terms.
    pub deadlines: Deadlines,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouting {
    fallback: String,
    dead_letter: String,
    max_deliveries: u32,
    queues: BTreeMap<String, String>,
    deadlines: BTreeMap<String, u32>,
    #[serde(default, rename = "rule")]
    rules: Vec<toml::Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    queue: String,
    label: Option<Vec<String>>,
    needs_clarification: Option<bool>,
    repeat: Option<bool>,
    channel: Option<Vec<String>>,
    language: Option<Vec<String>>,
    families: Option<Vec<String>>,
    topics: Option<Vec<String>>,
    min_confidence: Option<f32>,
    max_confidence: Option<f32>,
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

impl Router {
    /// The built-in routing.
    pub fn builtin() -> Router {
        Router::parse(
            "built-in routing.toml",
            BUILTIN,
            &crate::repeat::signature::topic_names(),
        )
        .expect("the built-in routing is valid (tested)")
    }

    /// Read and validate a routing file.
    pub fn from_file(path: &std::path::Path) -> Result<Router> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Router::parse(
            &path.display().to_string(),
            &text,
            &crate::repeat::signature::topic_names(),
        )
    }

    /// Parse and validate `text` (named `file` in errors) against the known `topics`.
    pub fn parse(file: &str, text: &str, topics: &[String]) -> Result<Router> {
        let err = |line: Option<usize>, problem: String| match line {
            Some(l) => Error::Config(format!("{file} line {l}: {problem}")),
            None => Error::Config(format!("{file}: {problem}")),
        };
        let raw: RawRouting = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            err(line, e.message().to_string())
        })?;
        let declared = |q: &str, line: Option<usize>| -> Result<String> {
            if raw.queues.contains_key(q) {
                Ok(q.to_string())
            } else {
                Err(err(
                    line,
                    format!(
                        "unknown queue {q:?}; declare it under [queues] (declared: {})",
                        raw.queues.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
        };
        let fallback = declared(&raw.fallback, None)?;
        let dead_letter = declared(&raw.dead_letter, None)?;
        if raw.max_deliveries == 0 {
            return Err(err(None, "max_deliveries must be at least 1".into()));
        }
        let mut rules = Vec::new();
        for spanned in &raw.rules {
            let line = Some(line_of(text, spanned.span().start));
            let r = spanned.get_ref();
            let set = |values: &Option<Vec<String>>,
                       what: &str,
                       parse: &dyn Fn(&str) -> std::result::Result<(), String>|
             -> Result<()> {
                for v in values.iter().flatten() {
                    parse(v).map_err(|e| err(line, format!("rule {:?}: {what}: {e}", r.name)))?;
                }
                Ok(())
            };
            let named = |e: UnknownName| e.to_string();
            set(&r.label, "label", &|v| {
                v.parse::<Label>().map(|_| ()).map_err(named)
            })?;
            set(&r.channel, "channel", &|v| {
                v.parse::<Channel>().map(|_| ()).map_err(named)
            })?;
            set(&r.families, "families", &|v| {
                v.parse::<Family>().map(|_| ()).map_err(named)
            })?;
            set(&r.language, "language", &|v| match v {
                "nl" | "en" => Ok(()),
                _ => Err(format!("unknown language {v:?}; expected nl or en")),
            })?;
            set(&r.topics, "topics", &|v| {
                if topics.iter().any(|t| t == v) {
                    Ok(())
                } else {
                    Err(format!(
                        "unknown topic {v:?}; expected one of: {}",
                        topics.join(", ")
                    ))
                }
            })?;
            for c in [r.min_confidence, r.max_confidence].into_iter().flatten() {
                if !(0.0..=1.0).contains(&c) {
                    return Err(err(
                        line,
                        format!("rule {:?}: confidence {c} is outside 0..1", r.name),
                    ));
                }
            }
            rules.push(Rule {
                name: r.name.clone(),
                labels: r
                    .label
                    .as_ref()
                    .map(|v| v.iter().map(|x| x.parse().expect("validated")).collect()),
                needs_clarification: r.needs_clarification,
                repeat: r.repeat,
                channels: r
                    .channel
                    .as_ref()
                    .map(|v| v.iter().map(|x| x.parse().expect("validated")).collect()),
                languages: r.language.as_ref().map(|v| {
                    v.iter()
                        .map(|x| if x == "en" { Lang::En } else { Lang::Nl })
                        .collect()
                }),
                families: r
                    .families
                    .as_ref()
                    .map(|v| v.iter().map(|x| x.parse().expect("validated")).collect()),
                topics: r.topics.as_ref().map(|v| v.iter().cloned().collect()),
                min_confidence: r.min_confidence,
                max_confidence: r.max_confidence,
                queue: declared(&r.queue, line)?,
            });
        }
        let mut per_label = BTreeMap::new();
        let mut bezwaar_filing = None;
        for (k, days) in &raw.deadlines {
            let d = Duration::days(*days as i64);
            if k == "bezwaar_filing" {
                bezwaar_filing = Some(d);
                continue;
            }
            let label: Label = k
                .parse()
                .map_err(|e: UnknownName| err(None, format!("[deadlines]: {e}")))?;
            per_label.insert(label, d);
        }
        for l in Label::ALL {
            if !per_label.contains_key(&l) {
                return Err(err(None, format!("[deadlines] has no term for {l}")));
            }
        }
        Ok(Router {
            rules,
            fallback,
            dead_letter,
            max_deliveries: raw.max_deliveries,
            queues: raw.queues,
            deadlines: Deadlines {
                per_label,
                bezwaar_filing: bezwaar_filing.unwrap_or(Duration::weeks(6)),
            },
        })
    }

    /// Route a message: the first matching rule's queue, or the fallback.
    pub fn route(&self, input: &RouteInput<'_>) -> Route {
        let (queue, rule) = self
            .rules
            .iter()
            .find(|r| r.matches(input))
            .map(|r| (r.queue.clone(), r.name.clone()))
            .unwrap_or_else(|| (self.fallback.clone(), "fallback".into()));
        Route {
            queue,
            rule,
            due_at: input.received_at + self.deadlines.per_label[&input.label],
        }
    }

    /// The queue for a label alone (when nothing else is known).
    pub fn queue_for_label(&self, label: Label) -> String {
        let families = BTreeSet::new();
        self.route(&RouteInput {
            label,
            confidence: 1.0,
            needs_clarification: false,
            repeat: false,
            channel: Channel::Unspecified,
            lang: Lang::Nl,
            families: &families,
            topics: &[],
            received_at: Utc::now(),
        })
        .queue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(label: Label, families: &BTreeSet<Family>) -> RouteInput<'_> {
        RouteInput {
            label,
            confidence: 0.9,
            needs_clarification: false,
            repeat: false,
            channel: Channel::Email,
            lang: Lang::Nl,
            families,
            topics: &[],
            received_at: DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn every_label_has_its_desk() {
        let r = Router::builtin();
        let f = BTreeSet::new();
        let q = |l| r.route(&input(l, &f)).queue;
        assert_eq!(q(Label::Klacht), "klachten");
        assert_eq!(q(Label::Melding), "meldingen");
        assert_eq!(q(Label::Bezwaar), "bezwaar");
        assert_eq!(q(Label::Raadsadres), "griffie");
        assert_eq!(q(Label::Overig), "kcc");
    }

    #[test]
    fn doubt_and_low_confidence_go_to_a_person() {
        let r = Router::builtin();
        let f = BTreeSet::new();
        let mut i = input(Label::Klacht, &f);
        i.needs_clarification = true;
        assert_eq!(r.route(&i).queue, "handmatige-beoordeling");
        let mut i = input(Label::Klacht, &f);
        i.confidence = 0.3;
        assert_eq!(r.route(&i).rule, "lage zekerheid");
    }

    #[test]
    fn klacht_is_due_in_six_weeks() {
        let r = Router::builtin();
        let f = BTreeSet::new();
        let i = input(Label::Klacht, &f);
        assert_eq!(r.route(&i).due_at - i.received_at, Duration::weeks(6));
    }

    #[test]
    fn no_match_goes_to_the_fallback() {
        let text = BUILTIN.split("[[rule]]").next().unwrap().to_string()
            + "[[rule]]\nname = \"alleen engels\"\nlanguage = [\"en\"]\nqueue = \"kcc\"\n";
        let r = Router::parse("t", &text, &[]).unwrap();
        let f = BTreeSet::new();
        let route = r.route(&input(Label::Klacht, &f));
        assert_eq!(
            (route.queue.as_str(), route.rule.as_str()),
            ("handmatige-beoordeling", "fallback")
        );
    }

    #[test]
    fn families_topics_and_channels_select() {
        let text = BUILTIN.split("[[rule]]").next().unwrap().to_string()
            + "[[rule]]\nname = \"bejegening\"\nfamilies = [\"bejegening\"]\nchannel = [\"balie\", \"email\"]\nqueue = \"klachten\"\n";
        let r = Router::parse("t", &text, &[]).unwrap();
        let mut f = BTreeSet::new();
        assert_eq!(r.route(&input(Label::Overig, &f)).rule, "fallback");
        f.insert(Family::Bejegening);
        assert_eq!(r.route(&input(Label::Overig, &f)).rule, "bejegening");
    }

    fn error_of(extra: &str) -> String {
        let text = BUILTIN.to_string() + extra;
        Router::parse("r.toml", &text, &["verlichting".to_string()])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_names_are_errors_naming_the_line() {
        let line = BUILTIN.lines().count() + 2;
        let e = error_of("\n[[rule]]\nname = \"x\"\nlabel = [\"klachten\"]\nqueue = \"kcc\"\n");
        assert!(
            e.contains(&format!("line {line}")) && e.contains("klachten"),
            "{e}"
        );
        let e = error_of("\n[[rule]]\nname = \"x\"\nfamilies = [\"boosheid\"]\nqueue = \"kcc\"\n");
        assert!(e.contains("boosheid") && e.contains("line"), "{e}");
        let e = error_of("\n[[rule]]\nname = \"x\"\nqueue = \"nergens\"\n");
        assert!(
            e.contains("nergens") && e.contains(&format!("line {line}")),
            "{e}"
        );
        let e = error_of("\n[[rule]]\nname = \"x\"\ntopics = [\"zwembad\"]\nqueue = \"kcc\"\n");
        assert!(e.contains("zwembad"), "{e}");
        let e = error_of("\n[[rule]]\nname = \"x\"\nkleur = \"rood\"\nqueue = \"kcc\"\n");
        assert!(e.contains("kleur") && e.contains("line"), "{e}");
    }
}
