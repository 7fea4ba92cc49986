//! Routing: which intake queue a classified message goes to. Pure.
//!
//! The default desks: klachten (the klachtencoördinator), meldingen (the meldingen team),
//! bezwaar (juridische zaken), griffie (raadsadressen), kcc (everything else), and
//! handmatige-beoordeling (a person looks when the classifier is in doubt).

use crate::domain::Label;

/// Queue for messages the classifier is in doubt about.
pub const MANUAL_QUEUE: &str = "handmatige-beoordeling";

/// The default queue of each label.
pub fn default_queue(label: Label) -> &'static str {
    match label {
        Label::Klacht => "klachten",
        Label::Melding => "meldingen",
        Label::Bezwaar => "bezwaar",
        Label::Raadsadres => "griffie",
        Label::Overig => "kcc",
    }
}

/// The queue for a classified message: a person when in doubt, else the label's desk.
pub fn queue_for(label: Label, needs_clarification: bool) -> &'static str {
    if needs_clarification {
        MANUAL_QUEUE
    } else {
        default_queue(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_its_own_desk() {
        let mut seen: Vec<_> = Label::ALL.iter().map(|l| default_queue(*l)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), Label::COUNT);
    }

    #[test]
    fn doubt_goes_to_a_person() {
        assert_eq!(queue_for(Label::Klacht, true), MANUAL_QUEUE);
        assert_eq!(queue_for(Label::Bezwaar, false), "bezwaar");
    }
}
