//! HTML building blocks: escaping, the page frame, highlighted cues with a legend, label bars,
//! and the "Leren" report with its inline SVG charts. Pure functions from data to markup.
//!
//! Served pages carry a Content-Security-Policy without inline styles or scripts, so nothing
//! here uses `style="…"` or `<script>`: sizes and colours are SVG attributes and classes.

use std::fmt::Write;

use crate::domain::{Channel, Label};
use crate::pipeline::types::{Cue, Family};
use crate::store::report::{Bucket, Report};

/// The style sheet, built into the binary.
pub const CSS: &str = include_str!("assets/style.css");
/// The page script (keyboard shortcuts of room mode, the full-screen button).
pub const JS: &str = include_str!("assets/app.js");
/// The icon.
pub const ICON: &str = include_str!("assets/icon.svg");

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The Dutch name of a label, capitalised.
pub fn label_nl(l: Label) -> &'static str {
    match l {
        Label::Klacht => "Klacht",
        Label::Melding => "Melding",
        Label::Bezwaar => "Bezwaar",
        Label::Raadsadres => "Raadsadres",
        Label::Overig => "Overig",
    }
}

/// What a label means, in one line for the counter.
pub fn label_hint(l: Label) -> &'static str {
    match l {
        Label::Klacht => "ongenoegen over hoe de gemeente iets deed of afhandelde",
        Label::Melding => "iets kapot of vervelend, meestal in de openbare ruimte",
        Label::Bezwaar => "tegen een besluit van de gemeente met rechtsgevolg",
        Label::Raadsadres => "verzoek aan de gemeenteraad over regels of beleid",
        Label::Overig => "vraag, afspraak, compliment, andere instantie",
    }
}

/// The Dutch name of a channel.
pub fn channel_nl(c: Channel) -> &'static str {
    match c {
        Channel::Unspecified => "onbekend",
        Channel::Balie => "balie",
        Channel::Telefoon => "telefoon",
        Channel::Email => "e-mail",
        Channel::Brief => "brief",
        Channel::Webformulier => "webformulier",
        Channel::Chat => "chat",
    }
}

/// What a cue family points at, for the legend.
pub fn family_nl(f: Family) -> &'static str {
    match f {
        Family::Ongenoegen => "ongenoegen: onvrede, teleurstelling",
        Family::Herhaling => "herhaling: eerder gemeld, nog steeds",
        Family::Verwachting => "verwachting: excuses, herstel, vergoeding",
        Family::Bejegening => "bejegening: hoe iemand behandeld werd",
        Family::Proces => "afhandeling: geen reactie, te lang, niet teruggebeld",
        Family::Sarcasme => "sarcasme",
        Family::Klachtwoord => "het woord klacht (beslist niet alleen)",
        Family::Besluit => "besluit, beschikking, aanslag",
        Family::Raad => "gemeenteraad, verordening, beleid",
        Family::Object => "ding in de openbare ruimte",
        Family::Situatie => "situatie: kapot, overlast, gedumpt",
        Family::Vraag => "vraag om informatie",
        Family::Dank => "dank, compliment",
        Family::Ontkenning => "ontkenning: geen klacht",
        Family::Instantie => "andere instantie dan de gemeente",
        Family::Schadeclaim => "schadeclaim: eigen juridische route",
    }
}

/// A date in Dutch: "6 december 2026".
pub fn date_nl(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Datelike;
    format!(
        "{} {} {}",
        t.day(),
        crate::domain::DUTCH_MONTHS[t.month0() as usize],
        t.year()
    )
}

/// One navigation entry.
pub struct Nav<'a> {
    /// Path.
    pub href: &'a str,
    /// Label.
    pub text: &'a str,
    /// Shown as the current page.
    pub current: bool,
}

/// The page frame. `body` is trusted markup; `title` is escaped. `standalone` embeds the style
/// sheet (a report file) instead of linking it. `user` is shown with a log-out button when given
/// (with its CSRF token).
pub fn page(
    title: &str,
    nav: &[Nav<'_>],
    user: Option<(&str, &str)>,
    body: &str,
    standalone: bool,
    wide: bool,
) -> String {
    let mut h = String::with_capacity(body.len() + 4096);
    h.push_str("<!doctype html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(h, "<title>{} · herken</title>", esc(title));
    if standalone {
        let _ = writeln!(h, "<style>\n{CSS}\n</style>");
    } else {
        h.push_str("<link rel=\"stylesheet\" href=\"/static/style.css\">\n");
        h.push_str("<link rel=\"icon\" href=\"/static/icon.svg\" type=\"image/svg+xml\">\n");
        h.push_str("<script src=\"/static/app.js\" defer></script>\n");
    }
    h.push_str("</head>\n<body>\n<a class=\"skip\" href=\"#inhoud\">Naar de inhoud</a>\n");
    h.push_str("<header class=\"top\"><div class=\"bar\">");
    h.push_str(
        "<span class=\"brand\"><span class=\"logo\" aria-hidden=\"true\">h</span>herken</span>",
    );
    if !nav.is_empty() {
        h.push_str("<nav aria-label=\"Hoofdmenu\"><ul>");
        for n in nav {
            let _ = write!(
                h,
                "<li><a href=\"{}\"{}>{}</a></li>",
                esc(n.href),
                if n.current {
                    " aria-current=\"page\""
                } else {
                    ""
                },
                esc(n.text)
            );
        }
        h.push_str("</ul></nav>");
    }
    if let Some((name, csrf)) = user {
        let _ = write!(
            h,
            "<form class=\"who\" method=\"post\" action=\"/uitloggen\"><span>{}</span>\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\" class=\"link\">Uitloggen</button></form>",
            esc(name),
            esc(csrf)
        );
    }
    h.push_str("</div></header>\n");
    let _ = write!(
        h,
        "<main id=\"inhoud\" class=\"{}\">\n{body}\n</main>\n",
        if wide { "wide" } else { "" }
    );
    h.push_str("<footer class=\"foot\"><p>herken herkent klachten, meldingen, bezwaren en raadsadressen. \
                Het is een hulpmiddel: <strong>bij twijfel vraagt u naar de bedoeling</strong>.</p></footer>\n");
    h.push_str("</body>\n</html>\n");
    h
}

/// The text with every cue marked by family (class `f-<family>`); negated cues are struck
/// through. Offsets are in Unicode scalar values. A cue inside another ("klacht" inside "geen
/// klacht indienen") is marked inside it; a cue that crosses another's end is left out.
pub fn highlight(text: &str, cues: &[Cue]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut sorted: Vec<&Cue> = cues
        .iter()
        .filter(|c| c.start < c.end && c.end <= chars.len())
        .collect();
    sorted.sort_by_key(|c| (c.start, std::cmp::Reverse(c.end)));
    let piece = |from: usize, to: usize| esc(&chars[from..to].iter().collect::<String>());
    let close = |c: &Cue| {
        format!(
            "<span class=\"sr\"> ({}{})</span></mark>",
            if c.from_model {
                "volgens het model"
            } else {
                c.family.as_str()
            },
            if c.negated { ", ontkend" } else { "" }
        )
    };
    let mut out = String::new();
    let mut at = 0;
    let mut open: Vec<&Cue> = Vec::new();
    for c in sorted {
        while let Some(top) = open.last() {
            if top.end > c.start {
                break;
            }
            out.push_str(&piece(at, top.end));
            at = top.end;
            out.push_str(&close(top));
            open.pop();
        }
        if open.last().is_some_and(|top| c.end > top.end) || c.start < at {
            continue;
        }
        out.push_str(&piece(at, c.start));
        at = c.start;
        let fam = c.family.as_str();
        if c.from_model {
            // The model's evidence: its own mark, whatever the nearest family.
            out.push_str("<mark class=\"cue f-model\" title=\"volgens het model\">");
            open.push(c);
            continue;
        }
        let _ = write!(
            out,
            "<mark class=\"cue f-{fam}{}\" title=\"{fam}{}\">",
            if c.negated { " negated" } else { "" },
            if c.negated { ", ontkend" } else { "" },
        );
        open.push(c);
    }
    while let Some(top) = open.pop() {
        out.push_str(&piece(at, top.end));
        at = top.end;
        out.push_str(&close(top));
    }
    out.push_str(&piece(at, chars.len()));
    out
}

/// The text with plain spans marked (the trainer's cues of an exercise).
pub fn highlight_spans(text: &str, spans: &[(usize, usize)]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut at = 0;
    for &(s, e) in spans {
        if s < at || e > chars.len() || s >= e {
            continue;
        }
        out.push_str(&esc(&chars[at..s].iter().collect::<String>()));
        let _ = write!(
            out,
            "<mark class=\"cue trainer\">{}</mark>",
            esc(&chars[s..e].iter().collect::<String>())
        );
        at = e;
    }
    out.push_str(&esc(&chars[at..].iter().collect::<String>()));
    out
}

/// The legend of the families present in `cues`.
pub fn legend(cues: &[Cue]) -> String {
    let mut fams: Vec<Family> = cues
        .iter()
        .filter(|c| !c.from_model)
        .map(|c| c.family)
        .collect();
    fams.sort();
    fams.dedup();
    let model = cues.iter().any(|c| c.from_model);
    if fams.is_empty() && !model {
        return "<p class=\"muted\">Geen signaalwoorden gevonden.</p>".into();
    }
    let mut h = String::from("<ul class=\"legend\" aria-label=\"Legenda van de signalen\">");
    if model {
        h.push_str("<li><span class=\"swatch f-model\" aria-hidden=\"true\"></span><strong>model</strong> woorden waar het model zwaar op leunt, ook zonder signaalwoord in de woordenlijst</li>");
    }
    for f in fams {
        let _ = write!(
            h,
            "<li><span class=\"swatch f-{}\" aria-hidden=\"true\"></span><strong>{}</strong> {}</li>",
            f.as_str(),
            f.as_str(),
            esc(family_nl(f).split_once(": ").map(|x| x.1).unwrap_or(family_nl(f)))
        );
    }
    h.push_str("</ul>");
    h
}

/// One horizontal bar per label with its probability (inline SVG; the numbers as text too).
pub fn label_bars(scores: &std::collections::BTreeMap<String, f32>, chosen: Label) -> String {
    let mut h = String::from(
        "<table class=\"bars\"><caption class=\"sr\">Kans per soort bericht</caption><tbody>",
    );
    for l in Label::ALL {
        let p = scores
            .get(l.as_str())
            .copied()
            .unwrap_or(0.0)
            .clamp(0.0, 1.0);
        let w = (p * 200.0).round();
        let _ = write!(
            h,
            "<tr{}><th scope=\"row\">{}</th><td class=\"barcell\"><svg width=\"200\" height=\"14\" viewBox=\"0 0 200 14\" aria-hidden=\"true\" focusable=\"false\">\
             <rect width=\"200\" height=\"14\" rx=\"3\" class=\"track\"/><rect width=\"{w}\" height=\"14\" rx=\"3\" class=\"l-{}\"/></svg></td>\
             <td class=\"num\">{:.0}&nbsp;%</td></tr>",
            if l == chosen { " class=\"chosen\"" } else { "" },
            label_nl(l),
            l.as_str(),
            p * 100.0
        );
    }
    h.push_str("</tbody></table>");
    h
}

fn count_text(n: Option<u64>, min: u64) -> String {
    match n {
        Some(n) => n.to_string(),
        None => format!("&lt;{min}"),
    }
}

/// A horizontal bar chart of buckets (inline SVG) with a table beside it for screen readers
/// and exact numbers. Suppressed counts get no bar and read "<N".
fn bar_chart(title: &str, buckets: &[Bucket], min: u64, names: &dyn Fn(&str) -> String) -> String {
    if buckets.is_empty() {
        return format!(
            "<section class=\"card\"><h3>{}</h3><p class=\"muted\">Niets in deze periode.</p></section>",
            esc(title)
        );
    }
    let max = buckets
        .iter()
        .filter_map(|b| b.count)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let row = 26;
    let label_w = 150;
    let bar_w = 260;
    let height = buckets.len() * row + 4;
    let mut h = String::new();
    let _ = write!(
        h,
        "<section class=\"card\"><h3>{}</h3><svg class=\"chart\" role=\"img\" aria-label=\"{}\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\">",
        esc(title),
        esc(title),
        label_w + bar_w + 60,
        label_w + bar_w + 60
    );
    for (i, b) in buckets.iter().enumerate() {
        let y = i * row + 2;
        let name = names(&b.key);
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"axis\">{}</text>",
            label_w - 8,
            y + 16,
            esc(&name)
        );
        match b.count {
            Some(n) => {
                let w =
                    ((n as f64 / max) * bar_w as f64)
                        .round()
                        .max(if n > 0 { 2.0 } else { 0.0 });
                let _ = write!(
                    h,
                    "<rect x=\"{label_w}\" y=\"{}\" width=\"{w}\" height=\"18\" rx=\"3\" class=\"bar\"/>\
                     <text x=\"{}\" y=\"{}\" class=\"val\">{n}</text>",
                    y + 2,
                    label_w as f64 + w + 6.0,
                    y + 16
                );
            }
            None => {
                let _ = write!(
                    h,
                    "<rect x=\"{label_w}\" y=\"{}\" width=\"24\" height=\"18\" rx=\"3\" class=\"hidden-bar\"/>\
                     <text x=\"{}\" y=\"{}\" class=\"val muted\">&lt;{min}</text>",
                    y + 2,
                    label_w + 30,
                    y + 16
                );
            }
        }
    }
    h.push_str("</svg>");
    let _ = write!(h, "<details><summary>Tabel</summary><table class=\"data\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">aantal</th></tr></thead><tbody>", esc(title));
    for b in buckets {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(&names(&b.key)),
            count_text(b.count, min)
        );
    }
    h.push_str("</tbody></table></details></section>");
    h
}

/// Weekly columns (inline SVG).
fn week_chart(title: &str, buckets: &[Bucket], min: u64) -> String {
    if buckets.is_empty() {
        return format!(
            "<section class=\"card\"><h3>{}</h3><p class=\"muted\">Niets in deze periode.</p></section>",
            esc(title)
        );
    }
    let max = buckets
        .iter()
        .filter_map(|b| b.count)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let col = (1000 / buckets.len().max(1)).clamp(30, 72);
    let chart_h = 140.0;
    let width = buckets.len() * col + 20;
    let mut h = String::new();
    let _ = write!(
        h,
        "<section class=\"card span2\"><h3>{}</h3><div class=\"scroll\"><svg class=\"chart\" role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"190\" viewBox=\"0 0 {width} 190\">",
        esc(title),
        esc(title)
    );
    let _ = write!(
        h,
        "<line x1=\"10\" x2=\"{}\" y1=\"{}\" y2=\"{}\" class=\"baseline\"/>",
        width - 10,
        chart_h + 20.0,
        chart_h + 20.0
    );
    for (i, b) in buckets.iter().enumerate() {
        let x = 14 + i * col;
        let week = b.key.split_once("-W").map(|(_, w)| w).unwrap_or(&b.key);
        match b.count {
            Some(n) => {
                let bh = (n as f64 / max * chart_h).round();
                let _ = write!(
                    h,
                    "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{bh}\" rx=\"2\" class=\"bar\"/>\
                     <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"val\">{n}</text>",
                    chart_h + 20.0 - bh,
                    col - 10,
                    x + (col - 10) / 2,
                    chart_h + 14.0 - bh,
                );
            }
            None => {
                let _ = write!(
                    h,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"val muted\">&lt;{min}</text>",
                    x + (col - 10) / 2,
                    chart_h + 14.0
                );
            }
        }
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"axis\">wk {}</text>",
            x + (col - 10) / 2,
            chart_h + 38.0,
            esc(week)
        );
    }
    h.push_str("</svg></div></section>");
    h
}

fn label_name(k: &str) -> String {
    k.parse::<Label>()
        .map(|l| label_nl(l).to_string())
        .unwrap_or_else(|_| k.to_string())
}

fn channel_name(k: &str) -> String {
    k.parse::<Channel>()
        .map(|c| channel_nl(c).to_string())
        .unwrap_or_else(|_| k.to_string())
}

/// Deadlines per queue, as a card with a table.
fn deadline_table(r: &Report) -> String {
    let min = r.min_count;
    let mut h = String::from("<section class=\"card\"><h3>Termijnen per wachtrij</h3>");
    if r.deadlines.is_empty() {
        h.push_str(
            "<p class=\"muted\">Geen berichten in een wachtrij in deze periode.</p></section>",
        );
        return h;
    }
    h.push_str("<table class=\"data\"><thead><tr><th scope=\"col\">wachtrij</th><th scope=\"col\" class=\"num\">binnen</th><th scope=\"col\" class=\"num\">te laat afgehandeld</th><th scope=\"col\" class=\"num\">open, termijn voorbij</th></tr></thead><tbody>");
    for d in &r.deadlines {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&d.queue),
            count_text(d.queued, min),
            count_text(d.handled_late, min),
            count_text(d.open_past_due, min)
        );
    }
    h.push_str("</tbody></table></section>");
    h
}

/// The report's body (headings, charts, tables). `export` adds links to the JSON and CSV.
pub fn report_body(r: &Report, export: Option<&str>) -> String {
    let min = r.min_count;
    let c = |n: Option<u64>| count_text(n, min);
    let from = chrono::DateTime::parse_from_rfc3339(&r.from)
        .map(|t| date_nl(t.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| r.from.clone());
    let to = chrono::DateTime::parse_from_rfc3339(&r.to)
        .map(|t| date_nl(t.with_timezone(&chrono::Utc) - chrono::Duration::days(1)))
        .unwrap_or_else(|_| r.to.clone());
    let mut h = String::new();
    let _ = write!(
        h,
        "<p class=\"lead\">Van <strong>{from}</strong> tot en met <strong>{to}</strong>. \
         Alleen totalen: geen berichttekst, afzender, huisnummer of postcode. \
         Aantallen onder de {min} worden niet getoond (&lt;{min}).</p>"
    );
    if let Some(q) = export {
        let _ = write!(
            h,
            "<p class=\"export\">Exporteren: <a href=\"/leren.json?{q}\" download>JSON</a> · <a href=\"/leren.csv?{q}\" download>CSV</a></p>"
        );
    }
    let _ = write!(
        h,
        "<div class=\"kpis\"><div class=\"kpi\"><span class=\"big\">{}</span><span>berichten in een wachtrij</span></div>\
         <div class=\"kpi\"><span class=\"big\">{}</span><span>berichten met afzender (geheugen voor herhaling)</span></div>\
         <div class=\"kpi\"><span class=\"big\">{}</span><span>correcties door medewerkers</span></div></div>",
        c(r.routed),
        c(r.remembered),
        c(r.corrections)
    );
    h.push_str("<h2>Wat kwam er binnen</h2><div class=\"grid\">");
    h.push_str(&week_chart("Per week", &r.by_week, min));
    h.push_str(&bar_chart("Per soort", &r.by_label, min, &label_name));
    h.push_str(&bar_chart("Per kanaal", &r.by_channel, min, &channel_name));
    h.push_str("</div><h2>Wachtrijen en termijnen</h2><div class=\"grid\">");
    h.push_str(&bar_chart("Per wachtrij", &r.by_queue, min, &|k| {
        k.to_string()
    }));
    h.push_str(&deadline_table(r));
    h.push_str("</div><h2>Waar klachten over gaan</h2><div class=\"grid\">");
    h.push_str(&bar_chart(
        "Signalen in klachten",
        &r.complaint_families,
        min,
        &|k| k.to_string(),
    ));
    h.push_str(&bar_chart(
        "Onderwerpen van klachten",
        &r.complaint_topics,
        min,
        &|k| k.to_string(),
    ));
    h.push_str("</div><h2>Plekken die vaak gemeld worden</h2>");
    if r.hotspots.is_empty() {
        let _ = write!(
            h,
            "<p class=\"muted\">Geen straat of buurt met {min} of meer meldingen in deze periode.</p>"
        );
    } else {
        h.push_str("<table class=\"data\"><caption class=\"sr\">Plekken die vaak gemeld worden</caption><thead><tr><th scope=\"col\">straat of buurt</th><th scope=\"col\" class=\"num\">meldingen</th><th scope=\"col\" class=\"num\">verschillende melders</th><th scope=\"col\" class=\"num\">waarvan klacht</th></tr></thead><tbody>");
        for s in &r.hotspots {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&s.place),
                c(s.reports),
                c(s.senders),
                c(s.klachten)
            );
        }
        h.push_str("</tbody></table>");
    }
    if r.places_below_threshold > 0 {
        let _ = write!(
            h,
            "<p class=\"muted\">{} minder dan {min} meldingen en {} er niet in.</p>",
            if r.places_below_threshold == 1 {
                "1 andere plek had".to_string()
            } else {
                format!("{} andere plekken hadden", r.places_below_threshold)
            },
            if r.places_below_threshold == 1 {
                "staat"
            } else {
                "staan"
            }
        );
    }
    h.push_str("<h2>Correcties door medewerkers</h2><p>Waar herken het mis had: wat herken zei, en wat een medewerker ervan maakte.</p>");
    if r.correction_pairs.is_empty() {
        h.push_str("<p class=\"muted\">Geen correcties in deze periode.</p>");
    } else {
        h.push_str("<table class=\"data\"><caption class=\"sr\">Correcties</caption><thead><tr><th scope=\"col\">herken zei</th><th scope=\"col\">medewerker zei</th><th scope=\"col\" class=\"num\">aantal</th></tr></thead><tbody>");
        for p in &r.correction_pairs {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(&label_name(&p.from)),
                esc(&label_name(&p.to)),
                c(p.count)
            );
        }
        h.push_str("</tbody></table>");
        h.push_str("<h3>Per week</h3><table class=\"data\"><thead><tr><th scope=\"col\">week</th><th scope=\"col\" class=\"num\">in wachtrij</th><th scope=\"col\" class=\"num\">gecorrigeerd</th><th scope=\"col\" class=\"num\">aandeel</th></tr></thead><tbody>");
        for w in &r.correction_weeks {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&w.week),
                c(w.routed),
                c(w.corrected),
                w.rate
                    .map(|r| format!("{:.0}&nbsp;%", r * 100.0))
                    .unwrap_or_else(|| "–".into())
            );
        }
        h.push_str("</tbody></table>");
    }
    h
}

/// The report as one self-contained HTML file (`herken report --html`).
pub fn report_file(r: &Report) -> String {
    let body = format!("<h1>Leren van klachten</h1>{}", report_body(r, None));
    page("Leren", &[], None, &body, true, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(start: usize, end: usize, text: &str, family: Family) -> Cue {
        Cue {
            start,
            end,
            text: text.into(),
            family,
            supports: Label::Klacht,
            negated: false,
            from_model: false,
            weight: 0.0,
        }
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn cues_are_marked_by_family_at_character_offsets_and_text_is_escaped() {
        let text = "Één <b>lamp</b> al weer kapot";
        let h = highlight(
            text,
            &[
                cue(16, 23, "al weer", Family::Herhaling),
                cue(24, 29, "kapot", Family::Situatie),
            ],
        );
        assert!(h.starts_with("Één &lt;b&gt;lamp&lt;/b&gt; "), "{h}");
        assert!(
            h.contains("<mark class=\"cue f-herhaling\" title=\"herhaling\">al weer<span"),
            "{h}"
        );
        assert!(h.contains("<mark class=\"cue f-situatie\" title=\"situatie\">kapot<span"));
    }

    #[test]
    fn a_cue_inside_another_is_marked_inside_it() {
        let mut inner = cue(9, 15, "klacht", Family::Klachtwoord);
        inner.negated = true;
        let h = highlight(
            "Ik, geen klacht indienen",
            &[
                cue(4, 24, "geen klacht indienen", Family::Ontkenning),
                inner,
            ],
        );
        assert_eq!(
            h,
            "Ik, <mark class=\"cue f-ontkenning\" title=\"ontkenning\">geen \
             <mark class=\"cue f-klachtwoord negated\" title=\"klachtwoord, ontkend\">klacht\
             <span class=\"sr\"> (klachtwoord, ontkend)</span></mark> indienen\
             <span class=\"sr\"> (ontkenning)</span></mark>"
        );
    }

    #[test]
    fn overlapping_and_out_of_range_cues_are_skipped() {
        let h = highlight(
            "abc def",
            &[
                cue(0, 3, "abc", Family::Ongenoegen),
                cue(1, 5, "bc d", Family::Proces),
                cue(5, 99, "", Family::Dank),
            ],
        );
        assert_eq!(h.matches("<mark").count(), 1);
        assert!(h.ends_with(" def"));
    }
}
