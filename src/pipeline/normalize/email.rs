//! E-mail structure: quoted replies and reply headers, legal disclaimers, signatures.
//!
//! Every pass works on normalized lines and only turns `Fate::Keep` lines into
//! `Fate::Drop(..)`. Each returns whether it found e-mail structure.

use super::offsets::Line;
use super::{Fate, RemovedReason};

// "-----Oorspronkelijk bericht-----", "-----Original Message-----".
static_regex!(
    original_message_re,
    r"(?i)^-{2,}\s*(?:oorspronkelijk\s+bericht|origineel\s+bericht|original\s+message)\s*-{2,}$"
);
// Forward markers: the forwarded message itself is kept, only the marker and its header go.
static_regex!(
    forward_re,
    r"(?i)^(?:-{2,}\s*(?:forwarded\s+message|doorgestuurd\s+bericht|forwarded\s+e-?mail)\s*-{2,}|begin\s+(?:forwarded\s+message|doorgestuurd\s+bericht)\s*:)$"
);
// "Op <date> schreef <name> <addr>:", "Op <date> heeft <name> het volgende geschreven:".
static_regex!(
    op_schreef_re,
    r"(?i)^op\s.+\s(?:schreef(?:\s.+)?|het\s+volgende\s+geschreven\s*):$"
);
// A time, a year or an address: every client's reply header has one of them.
static_regex!(header_date_re, r"\b\d{1,2}[:.]\d{2}\b|\b(?:19|20)\d{2}\b|@");
static_regex!(first_person_schreef_re, r"(?i)\bschreef\s+(?:ik|wij|we)\b");
// "On <date>, <name> wrote:".
static_regex!(on_wrote_re, r"(?i)^on\s.+\swrote\s*:$");
static_regex!(first_person_wrote_re, r"(?i)\b(?:i|we)\s+wrote\b");
// Outlook header block: "Van:"/"From:" followed by "Verzonden:"/"Datum:"/"Aan:"/"Sent:"/...
static_regex!(from_field_re, r"(?i)^\*?(?:van|from)\s*:\*?\s*\S");
static_regex!(
    outlook_second_field_re,
    r"(?i)^\*?(?:verzonden|datum|aan|sent|date|to)\s*:"
);
static_regex!(
    header_field_re,
    r"(?i)^\*?(?:van|from|verzonden|sent|datum|date|aan|to|cc|bcc|onderwerp|subject|bijlagen?|attachments?|reply-to|antwoord\s+aan|prioriteit|importance)\s*:"
);
static_regex!(separator_re, r"^[_\-=]{8,}$");
static_regex!(
    salutation_re,
    r"(?i)^(?:beste|geachte|hallo|hoi|hey|hee|dag|goede(?:n)?(?:morgen|middag|avond)|dear|hi|hello|good\s+(?:morning|afternoon|evening)|to\s+whom\s+it\s+may\s+concern)(?:[^\p{L}]|$)"
);
static_regex!(
    disclaimer_re,
    r"(?i)dit\s+(?:e-?mail-?)?(?:bericht|e-?mail)\s+(?:en\s+(?:de|eventuele)\s+bijlagen?\s+)?(?:is|zijn)\s+(?:uitsluitend|alleen|enkel|slechts)\s+bestemd|aan\s+(?:dit|deze)\s+(?:e-?mail-?)?(?:bericht|e-?mail)\s+kunnen\s+geen\s+rechten\s+(?:worden\s+)?(?:ontleend|verkregen)|indien\s+u\s+(?:dit|deze)\s+(?:e-?mail-?)?(?:bericht|e-?mail)\s+(?:per\s+abuis|ten\s+onrechte|onterecht)|this\s+e-?mail\s+and\s+any\s+(?:files|attachments)|this\s+(?:e-?mail\s+)?message\s+(?:and\s+any\s+attachments\s+)?is\s+intended\s+(?:only|solely)\s+for|is\s+confidential\s+and\s+may\s+(?:also\s+)?be\s+(?:legally\s+)?privileged|if\s+you\s+are\s+not\s+the\s+intended\s+recipient|\bdisclaimer\s*:"
);
// Closings that end a message whatever follows them on the line.
static_regex!(
    strong_closing_re,
    r"(?i)^(?:(?:met\s+)?(?:vriendelijke|hartelijke|vriendelijk|hartelijk|beste|lieve|warme|zonnige|sportieve)\s+groet(?:en|jes)?|met\s+(?:vr(?:iendelijke)?\.?|hartelijke)\s*(?:gr\.?|groet(?:en)?)|m\.?\s?v\.?\s?g\.?|m\.?\s?vr\.?\s?gr\.?|hoogachtend|(?:with\s+)?(?:kind|best|warm|warmest|kindest)\s+regards|yours\s+(?:sincerely|faithfully|truly))(?:[^\p{L}]|$)"
);
// Short closings that are also ordinary words: only followed by nothing or a name.
static_regex!(
    weak_closing_re,
    r"(?i)^(?:groet(?:en|jes)?|grt?\.?|regards|best|cheers|sincerely|liefs|thanks|thank\s+you|many\s+thanks|(?:alvast\s+)?bedankt|dank\s+(?:u|je)\s+wel)(?P<tail>[^\p{L}].*)?$"
);
// Mobile and mail-client signatures.
static_regex!(
    client_signature_re,
    r"(?i)^(?:(?:verzonden|verstuurd)\s+(?:vanaf|met|via|van|vanuit)\s+(?:mijn|een|outlook|gmail)\b|sent\s+(?:from|with|via)\s+(?:my|outlook|mail|yahoo|samsung)\b|(?:get|download)\s+outlook\s+for\b)"
);

fn is_live(lines: &[Line], fates: &[Fate], i: usize) -> bool {
    !lines[i].is_blank() && fates[i] == Fate::Keep
}

/// Running count of the kept content before a position, to decide whether "something
/// substantial" precedes a reply header or a closing. Salutations do not count.
struct Substance {
    upto: usize,
    words: usize,
    letters: usize,
}

impl Substance {
    fn new() -> Self {
        Substance {
            upto: 0,
            words: 0,
            letters: 0,
        }
    }

    /// True when the kept lines before line `end` hold at least two words and eight letters.
    /// `end` must not decrease between calls.
    fn before(&mut self, lines: &[Line], fates: &[Fate], end: usize) -> bool {
        while self.upto < end && !self.enough() {
            let i = self.upto;
            self.upto += 1;
            if !is_live(lines, fates, i) || salutation_re().is_match(&lines[i].text) {
                continue;
            }
            for word in lines[i].text.split(' ') {
                let l = word.chars().filter(|c| c.is_alphabetic()).count();
                if l > 0 {
                    self.words += 1;
                    self.letters += l;
                }
            }
        }
        self.enough()
    }

    fn enough(&self) -> bool {
        self.words >= 2 && self.letters >= 8
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderKind {
    /// A reply header: what follows is an earlier message.
    Reply,
    /// A forward marker: what follows is the forwarded message.
    Forward,
}

/// A reply or forward header occupying lines `[start, end)`.
#[derive(Debug)]
struct Header {
    kind: HeaderKind,
    start: usize,
    end: usize,
}

/// Line index just past the header fields ("Van:", "Aan:", ...) that start at `from`.
fn extend_fields(lines: &[Line], from: usize) -> usize {
    let mut end = from;
    let mut k = from;
    while k < lines.len() {
        if lines[k].is_blank() {
            k += 1;
            continue;
        }
        if !header_field_re().is_match(&lines[k].text) {
            break;
        }
        k += 1;
        end = k;
    }
    end
}

fn contains_any_ci(t: &str, needles: &[&str]) -> bool {
    let lower = t.to_lowercase();
    needles.iter().any(|n| lower.contains(n))
}

fn is_reply_intro(t: &str) -> bool {
    if t.len() > 400 || !header_date_re().is_match(t) {
        return false;
    }
    (op_schreef_re().is_match(t) && !first_person_schreef_re().is_match(t))
        || (on_wrote_re().is_match(t) && !first_person_wrote_re().is_match(t))
}

/// The reply or forward header that starts at line `i`, if any.
fn header_at(lines: &[Line], i: usize) -> Option<Header> {
    let t = lines[i].text.as_str();
    let first = t.chars().next()?;
    if !matches!(
        first,
        '-' | 'O' | 'o' | 'V' | 'v' | 'F' | 'f' | 'B' | 'b' | '*'
    ) {
        return None;
    }
    let mut header = None;
    if original_message_re().is_match(t) {
        header = Some((HeaderKind::Reply, extend_fields(lines, i + 1)));
    } else if forward_re().is_match(t) {
        header = Some((HeaderKind::Forward, extend_fields(lines, i + 1)));
    } else if t
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("op ") || p.eq_ignore_ascii_case("on "))
    {
        if is_reply_intro(t) {
            header = Some((HeaderKind::Reply, i + 1));
        } else if !t.ends_with([':', '.', '!', '?'])
            && contains_any_ci(t, &["schreef", "wrote", "heeft", "om ", "at "])
            && i + 1 < lines.len()
            && !lines[i + 1].is_blank()
            && lines[i + 1].text.len() <= 120
        {
            let joined = format!("{t} {}", lines[i + 1].text);
            if is_reply_intro(&joined) {
                header = Some((HeaderKind::Reply, i + 2));
            }
        }
    } else if from_field_re().is_match(t) {
        let followed = lines[i + 1..]
            .iter()
            .filter(|l| !l.is_blank())
            .take(4)
            .any(|l| outlook_second_field_re().is_match(&l.text));
        if followed {
            header = Some((HeaderKind::Reply, extend_fields(lines, i + 1)));
        }
    }
    let (kind, end) = header?;
    // An Outlook separator line ("________________") just above belongs to the header.
    let mut start = i;
    if let Some(prev) = (0..i).rev().find(|&k| !lines[k].is_blank()) {
        if separator_re().is_match(&lines[prev].text) {
            start = prev;
        }
    }
    Some(Header { kind, start, end })
}

/// Drop quoted lines ("> ...") and reply headers with everything after them. A reply header
/// with nothing substantial before it (a forwarded or pasted message, a letter header) and a
/// forward marker lose only the header lines; the text below them is kept and scanned on.
pub(crate) fn strip_quotes(lines: &[Line], fates: &mut [Fate]) -> bool {
    let mut found = false;
    let mut substance = Substance::new();
    let mut i = 0;
    while i < lines.len() {
        if !is_live(lines, fates, i) {
            i += 1;
            continue;
        }
        if lines[i].text.starts_with('>') {
            fates[i] = Fate::Drop(RemovedReason::QuotedReply);
            found = true;
            i += 1;
            continue;
        }
        let Some(header) = header_at(lines, i) else {
            i += 1;
            continue;
        };
        found = true;
        let cut_rest =
            header.kind == HeaderKind::Reply && substance.before(lines, fates, header.start);
        let end = if cut_rest { lines.len() } else { header.end };
        for k in header.start..end {
            if is_live(lines, fates, k) {
                fates[k] = Fate::Drop(RemovedReason::QuotedReply);
            }
        }
        if cut_rest {
            break;
        }
        i = header.end.max(i + 1);
    }
    found
}

/// Drop legal disclaimer paragraphs. The paragraph is dropped from the sentence that holds the
/// disclaimer phrase on: earlier lines of the same paragraph that end a sentence stay.
pub(crate) fn strip_disclaimers(lines: &[Line], fates: &mut [Fate]) -> bool {
    let mut found = false;
    let mut i = 0;
    let mut joined = String::new();
    let mut offsets = Vec::new();
    while i < lines.len() {
        if !is_live(lines, fates, i) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        joined.clear();
        offsets.clear();
        while end < lines.len() && is_live(lines, fates, end) {
            offsets.push(joined.len());
            joined.push_str(&lines[end].text);
            joined.push(' ');
            end += 1;
        }
        if let Some(m) = disclaimer_re().find(&joined) {
            let mut from = start + offsets.partition_point(|&o| o <= m.start()) - 1;
            let mut back = 0;
            while from > start && back < 3 && !ends_sentence(&lines[from - 1].text) {
                from -= 1;
                back += 1;
            }
            for fate in &mut fates[from..end] {
                *fate = Fate::Drop(RemovedReason::Disclaimer);
            }
            found = true;
        }
        i = end;
    }
    found
}

fn ends_sentence(t: &str) -> bool {
    t.ends_with(['.', '!', '?', ':', ';'])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    /// A closing as in a letter ("Met vriendelijke groet").
    Letter,
    /// A mail client's or mail convention's signature ("-- ", "Sent from my iPhone").
    Email,
}

/// Words allowed in a name after a short closing ("Groeten, Jan de Vries").
fn is_name_word(w: &str) -> bool {
    const PARTICLES: &[&str] = &[
        "van", "de", "der", "den", "het", "ter", "ten", "te", "la", "le", "du", "von", "da", "di",
        "'t", "fam", "fam.", "familie", "mevr.", "dhr.", "mw.", "mr.", "mrs.", "ms.",
    ];
    let mut chars = w.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() => chars.all(|c| c.is_alphabetic() || "-.'’".contains(c)),
        Some(_) => PARTICLES.contains(&w.to_lowercase().as_str()),
        None => false,
    }
}

fn is_name_tail(tail: &str) -> bool {
    let t = tail
        .trim_start_matches(|c: char| c.is_whitespace() || ",.!:;-–".contains(c))
        .trim_end_matches(|c: char| c.is_whitespace() || ",.!".contains(c));
    if t.is_empty() {
        return true;
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    words.len() <= 5
        && words.iter().all(|w| is_name_word(w.trim_end_matches(',')))
        && words
            .iter()
            .any(|w| w.chars().next().is_some_and(char::is_uppercase))
}

/// Whether the line starts with a closing.
fn closing_at(t: &str) -> Option<Closing> {
    if t == "--" {
        return Some(Closing::Email);
    }
    let first = t.chars().next()?;
    if !first.is_alphabetic() {
        return None;
    }
    if client_signature_re().is_match(t) {
        return Some(Closing::Email);
    }
    if strong_closing_re().is_match(t) {
        return Some(Closing::Letter);
    }
    let caps = weak_closing_re().captures(t)?;
    is_name_tail(caps.name("tail").map_or("", |m| m.as_str())).then_some(Closing::Letter)
}

/// Drop a signature: a closing line and everything after it up to the next quoted part. The
/// closing must be in the last third or the last ten lines of its part of the message, and
/// something substantial must come before it. Returns true for e-mail signatures ("-- ",
/// "Sent from my iPhone").
pub(crate) fn strip_signatures(lines: &[Line], fates: &mut [Fate]) -> bool {
    let mut found = false;
    let mut substance = Substance::new();
    let mut segment: Vec<usize> = Vec::new();
    let mut i = 0;
    while i <= lines.len() {
        let boundary = i == lines.len() || fates[i] == Fate::Drop(RemovedReason::QuotedReply);
        if !boundary {
            if is_live(lines, fates, i) {
                segment.push(i);
            }
            i += 1;
            continue;
        }
        let m = segment.len();
        for (r, &k) in segment.iter().enumerate() {
            let Some(closing) = closing_at(&lines[k].text) else {
                continue;
            };
            let near_end = 3 * r >= 2 * m || m - r <= 10;
            if !near_end || !substance.before(lines, fates, k) {
                continue;
            }
            for &j in &segment[r..] {
                fates[j] = Fate::Drop(RemovedReason::Signature);
            }
            found |= closing == Closing::Email;
            break;
        }
        segment.clear();
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::{normalize, Normalized, RemovedReason, TextKind};
    use crate::domain::Channel;

    fn norm(t: &str) -> Normalized {
        normalize(t, Channel::Unspecified)
    }

    use super::super::removed_texts as removed;

    const BODY: &str =
        "De lantaarnpaal in onze straat is al drie weken kapot.\nIk heb het al twee keer gemeld.";

    #[test]
    fn quoted_lines_with_gt_are_removed() {
        let t = format!("{BODY}\n> Uw melding is ontvangen.\n>> Eerdere tekst");
        let n = norm(&t);
        assert_eq!(n.text, BODY);
        assert_eq!(n.kind, TextKind::Email);
        assert_eq!(
            removed(&t, &n, RemovedReason::QuotedReply),
            ["> Uw melding is ontvangen.\n>> Eerdere tekst"]
        );
    }

    #[test]
    fn inline_reply_keeps_text_between_quotes() {
        let t = "> Wanneer was dat?\nOp 3 maart, en daarna nog eens.\n> Waar precies?\nBij de Kerkstraat 12.";
        let n = norm(t);
        assert_eq!(
            n.text,
            "Op 3 maart, en daarna nog eens.\nBij de Kerkstraat 12."
        );
    }

    #[test]
    fn dutch_op_schreef_header_cuts_the_rest() {
        let t = format!(
            "{BODY}\n\nOp di 12 mrt. 2024 om 10:15 schreef Gemeente Utrecht <info@utrecht.nl>:\nUw melding is in behandeling.\nMet vriendelijke groet, KCC"
        );
        let n = norm(&t);
        assert_eq!(n.text, BODY);
        assert_eq!(n.kind, TextKind::Email);
    }

    #[test]
    fn dutch_op_schreef_header_wrapped_over_two_lines() {
        let t = format!(
            "{BODY}\n\nOp 12 maart 2024 10:15 schreef Gemeente Utrecht\n<info@utrecht.nl>:\n\nUw melding is in behandeling."
        );
        assert_eq!(norm(&t).text, BODY);
    }

    #[test]
    fn dutch_heeft_het_volgende_geschreven_header() {
        let t = format!(
            "{BODY}\n\nOp 12 mrt. 2024, om 10:15 heeft Gemeente Utrecht <info@utrecht.nl> het volgende geschreven:\n\nUw melding is in behandeling."
        );
        assert_eq!(norm(&t).text, BODY);
    }

    #[test]
    fn first_person_op_schreef_is_not_a_header() {
        let t = "Het probleem is nog steeds niet opgelost.\nOp 3 maart 2024 schreef ik u al het volgende:\nde stoeptegel ligt los.";
        assert_eq!(norm(t).text, t);
    }

    #[test]
    fn two_sentences_starting_with_op_are_not_a_header() {
        let t = "Op 3 maart heb ik gebeld en daarna nog eens\nmaar niemand schreef terug:\ngeen reactie.";
        assert_eq!(norm(t).text, t);
    }

    #[test]
    fn english_on_wrote_header() {
        let t = "The bin on my street has not been emptied for two weeks.\n\nOn Tue, 12 Mar 2024 at 10:15, City of Amsterdam <info@amsterdam.nl> wrote:\nThank you for your report.";
        let n = norm(t);
        assert_eq!(
            n.text,
            "The bin on my street has not been emptied for two weeks."
        );
        assert_eq!(n.kind, TextKind::Email);
    }

    #[test]
    fn english_on_wrote_header_wrapped() {
        let t = "The bin on my street has not been emptied for two weeks.\n\nOn Tue, 12 Mar 2024 at 10:15, City of Amsterdam <\ninfo@amsterdam.nl> wrote:\nThank you for your report.";
        assert_eq!(
            norm(t).text,
            "The bin on my street has not been emptied for two weeks."
        );
    }

    #[test]
    fn oorspronkelijk_bericht_separator() {
        let t = format!(
            "{BODY}\n\n-----Oorspronkelijk bericht-----\nVan: Gemeente <info@gemeente.nl>\nVerzonden: maandag 11 maart 2024 09:00\nAan: Piet\nOnderwerp: Uw melding\n\nUw melding is ontvangen."
        );
        assert_eq!(norm(&t).text, BODY);
    }

    #[test]
    fn original_message_separator() {
        let t = "Nobody called me back as promised.\n\n-----Original Message-----\nFrom: City <info@city.nl>\nSent: Monday\nTo: me\n\nWe will call you back.";
        assert_eq!(norm(t).text, "Nobody called me back as promised.");
    }

    #[test]
    fn outlook_dutch_header_block() {
        let t = format!(
            "{BODY}\n\n________________________________\nVan: Gemeente Utrecht <info@utrecht.nl>\nVerzonden: maandag 11 maart 2024 09:00\nAan: Piet de Boer\nOnderwerp: RE: melding\n\nWij pakken uw melding op."
        );
        let n = norm(&t);
        assert_eq!(n.text, BODY);
        let q = removed(&t, &n, RemovedReason::QuotedReply);
        assert_eq!(q.len(), 1);
        assert!(q[0].starts_with("____"));
        assert!(q[0].ends_with("Wij pakken uw melding op."));
    }

    #[test]
    fn outlook_english_header_block_with_date_within_four_lines() {
        let t = "Still no answer after six weeks.\n\nFrom: Municipality <info@city.nl>\nTo: John\nCc: Desk\nDate: 11 March 2024\nSubject: RE: complaint\n\nWe have received your complaint.";
        assert_eq!(norm(t).text, "Still no answer after six weeks.");
    }

    #[test]
    fn van_line_without_outlook_fields_is_kept() {
        let t = "Van: de buren hoor ik elke nacht lawaai.\nDat is al maanden zo.";
        assert_eq!(norm(t).text, t);
    }

    #[test]
    fn letter_header_at_top_only_loses_the_header() {
        let t = "Van: Piet de Boer\nAan: Gemeente Utrecht\nOnderwerp: klacht\n\nIk ben niet teruggebeld zoals beloofd.";
        let n = norm(t);
        assert_eq!(n.text, "Ik ben niet teruggebeld zoals beloofd.");
        assert_eq!(
            removed(t, &n, RemovedReason::QuotedReply),
            ["Van: Piet de Boer\nAan: Gemeente Utrecht\nOnderwerp: klacht"]
        );
    }

    #[test]
    fn forwarded_message_keeps_forwarded_text() {
        let t = "---------- Forwarded message ---------\nFrom: Piet <piet@example.nl>\nDate: Mon, 11 Mar 2024\nSubject: container\nTo: <info@gemeente.nl>\n\nDe container is al een week vol.\n\nOp 1 mrt. 2024 schreef Gemeente <info@gemeente.nl>:\n> Bedankt voor uw melding.";
        let n = norm(t);
        assert_eq!(n.text, "De container is al een week vol.");
        assert_eq!(n.kind, TextKind::Email);
    }

    #[test]
    fn signature_with_name_and_phone_is_removed() {
        let t = format!(
            "Geachte heer, mevrouw,\n\n{BODY}\n\nMet vriendelijke groet,\n\nJan Jansen\nKerkstraat 12\n3511 AB Utrecht\n06-12345678"
        );
        let n = norm(&t);
        assert_eq!(n.text, format!("Geachte heer, mevrouw,\n{BODY}"));
        assert_eq!(n.kind, TextKind::Plain);
        assert_eq!(
            removed(&t, &n, RemovedReason::Signature),
            ["Met vriendelijke groet,\n\nJan Jansen\nKerkstraat 12\n3511 AB Utrecht\n06-12345678"]
        );
    }

    #[test]
    fn closing_sharing_its_line_with_the_name() {
        let t = format!("{BODY}\nMet vriendelijke groet, Jan Jansen\nTel. 030-1234567");
        assert_eq!(norm(&t).text, BODY);
    }

    #[test]
    fn short_closings_with_names() {
        for closing in [
            "Groeten, Jan",
            "Groetjes Marieke",
            "Mvg,",
            "M.vr.gr. P. de Vries",
            "Hoogachtend,",
            "Hartelijke groet,",
            "Groet,",
            "Gr. Jan",
        ] {
            let t = format!("{BODY}\n{closing}\nJan");
            assert_eq!(norm(&t).text, BODY, "closing {closing:?}");
        }
    }

    #[test]
    fn english_closings() {
        let body = "The street light has been broken for three weeks.";
        for closing in [
            "Kind regards,",
            "Best regards, John",
            "Regards,",
            "Best,",
            "Cheers,",
            "Sincerely,",
            "Yours sincerely,",
            "Yours faithfully",
            "Thanks,",
            "Thank you,",
        ] {
            let t = format!("{body}\n{closing}\nJohn Smith\n+31 6 1234 5678");
            assert_eq!(norm(&t).text, body, "closing {closing:?}");
        }
    }

    #[test]
    fn dash_dash_signature_marks_email() {
        let t = format!("{BODY}\n-- \nPiet de Boer | www.example.nl");
        let n = norm(&t);
        assert_eq!(n.text, BODY);
        assert_eq!(n.kind, TextKind::Email);
    }

    #[test]
    fn sent_from_my_iphone_is_removed() {
        for sig in [
            "Verzonden vanaf mijn iPhone",
            "Sent from my iPhone",
            "Sent from my phone",
            "Verstuurd vanaf mijn Samsung Galaxy",
        ] {
            let t = format!("{BODY}\n\n{sig}");
            let n = norm(&t);
            assert_eq!(n.text, BODY, "signature {sig:?}");
            assert_eq!(n.kind, TextKind::Email);
        }
    }

    #[test]
    fn closing_word_mid_text_does_not_cut() {
        let t = "Ik bel over de afvalbak.\nGroeten aan je moeder trouwens, zei de buurman.\nDe afvalbak is al weken vol en stinkt.";
        assert_eq!(norm(t).text, t);
        let t = "Hij zei: doe de groeten aan je moeder.\nMaar de stoep is nog steeds kapot.";
        assert_eq!(norm(t).text, t);
    }

    #[test]
    fn thanks_followed_by_more_words_does_not_cut() {
        let t = "I reported the broken light twice.\nThanks for nothing, really.";
        assert_eq!(norm(t).text, t);
        let t = "Ik heb twee keer gebeld.\nBedankt voor niks dus.";
        assert_eq!(norm(t).text, t);
    }

    #[test]
    fn best_as_dutch_word_does_not_cut() {
        let t = "Ik heb drie keer gebeld.\nBest, dan wacht ik wel weer, tijd zat.";
        assert_eq!(norm(t).text, t);
    }

    #[test]
    fn closing_early_in_long_message_does_not_cut() {
        let mut t = String::from("Hallo,\nMet vriendelijke groet begin ik deze brief.\n");
        for i in 0..30 {
            t.push_str(&format!("Regel {i} van mijn klacht over de afhandeling.\n"));
        }
        assert_eq!(norm(&t).text, t.trim_end());
    }

    #[test]
    fn closing_without_substance_before_is_kept() {
        let t = "Met vriendelijke groet,\nJan";
        assert_eq!(norm(t).text, "Met vriendelijke groet,\nJan");
        let t = "Beste,\nMet vriendelijke groet,\nJan";
        assert_eq!(norm(t).text, t);
    }

    #[test]
    fn dutch_disclaimer_paragraph_is_removed() {
        let t = format!(
            "{BODY}\n\nDit e-mailbericht is alleen bestemd voor de geadresseerde(n). Indien dit bericht niet\nvoor u is bestemd, verzoeken wij u dit te melden. Aan dit bericht kunnen geen rechten worden ontleend."
        );
        let n = norm(&t);
        assert_eq!(n.text, BODY);
        assert_eq!(n.kind, TextKind::Email);
        assert_eq!(n.removed.len(), 1);
        assert_eq!(n.removed[0].reason, RemovedReason::Disclaimer);
    }

    #[test]
    fn english_disclaimer_found_on_second_line_of_sentence() {
        let t = format!(
            "{BODY}\n\nThis e-mail, including its contents,\nis confidential and may be privileged. If you are not the intended recipient, delete it."
        );
        assert_eq!(norm(&t).text, BODY);
    }

    #[test]
    fn disclaimer_in_same_paragraph_keeps_earlier_sentences() {
        let t = format!("{BODY}\nDisclaimer: this message is intended only for the addressee.");
        assert_eq!(norm(&t).text, BODY);
    }

    #[test]
    fn disclaimer_after_signature_keeps_its_own_reason() {
        let t = format!(
            "{BODY}\n\nMet vriendelijke groet,\nJan\n\nDit bericht is uitsluitend bestemd voor de geadresseerde."
        );
        let n = norm(&t);
        assert_eq!(n.text, BODY);
        let reasons: Vec<_> = n.removed.iter().map(|r| r.reason).collect();
        assert_eq!(
            reasons,
            [RemovedReason::Signature, RemovedReason::Disclaimer]
        );
    }
}
