//! `herken quiz`: the exercise sets of the Oefenen page in the terminal. A message, the
//! trainee types a label, then the right answer with the trainer's signals marked and why;
//! a score at the end. Reads answers line by line from standard input, so it also runs with
//! answers piped in (a trainer's script, a test).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::Args;

use herken::domain::Label;
use herken::exercises::{self, Exercise};

use super::classify::ColorChoice;

/// Arguments of `herken quiz`.
#[derive(Debug, Args)]
pub struct QuizArgs {
    /// The exercise set: basis (the five labels), gevorderd (the hard cases), english, or alle.
    #[arg(long, default_value = "basis")]
    pub set: String,
    /// How many questions (at most the size of the set).
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// Order of the questions: the same seed gives the same round [default: random].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Colour the signals in the text.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

fn dutch(l: Label) -> &'static str {
    match l {
        Label::Klacht => "klacht",
        Label::Melding => "melding",
        Label::Bezwaar => "bezwaar",
        Label::Raadsadres => "raadsadres",
        Label::Overig => "overig",
    }
}

/// "Het is …": with the article, and overig said as what it is.
fn it_is(l: Label) -> &'static str {
    match l {
        Label::Klacht => "een klacht",
        Label::Melding => "een melding",
        Label::Bezwaar => "een bezwaar",
        Label::Raadsadres => "een raadsadres",
        Label::Overig => "overig (geen klacht, melding, bezwaar of raadsadres)",
    }
}

/// The text with the trainer's signals marked: yellow on a terminal, «guillemets» otherwise.
pub fn marked(e: &Exercise, color: bool) -> String {
    let chars: Vec<char> = e.text.chars().collect();
    let mut s = String::new();
    let mut at = 0;
    for (a, b) in exercises::cue_spans(e) {
        s.extend(&chars[at..a]);
        let inner: String = chars[a..b].iter().collect();
        if color {
            s.push_str(&format!("\x1b[1;30;43m{inner}\x1b[0m"));
        } else {
            s.push_str(&format!("«{inner}»"));
        }
        at = b;
    }
    s.extend(&chars[at..]);
    s
}

/// Run `herken quiz`.
pub fn run(args: QuizArgs) -> anyhow::Result<ExitCode> {
    if !exercises::is_set(&args.set) {
        anyhow::bail!(
            "unknown set {:?}: choose basis, gevorderd, english or alle",
            args.set
        );
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stdout().is_terminal(),
    };
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let pool = exercises::set(Some(&args.set));
    let n = args.count.clamp(1, pool.len());
    let items: Vec<&Exercise> = exercises::shuffled(&pool, seed)
        .into_iter()
        .take(n)
        .collect();
    let stdin = std::io::stdin();
    let typed = stdin.is_terminal();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    let rule = "─".repeat(60);
    let (bold, reset) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    writeln!(
        out,
        "{bold}herken quiz{reset} · set {} · {n} vragen (seed {seed})\n\
         Antwoord met k(lacht), m(elding), b(ezwaar), r(aadsadres) of o(verig); q stopt.\n",
        args.set
    )?;
    let mut asked: usize = 0;
    let mut right: usize = 0;
    'questions: for (i, e) in items.iter().enumerate() {
        writeln!(
            out,
            "{bold}Vraag {} van {n}{reset} · via {}\n{rule}\n{}\n{rule}",
            i + 1,
            herken::web::render::channel_nl(e.channel),
            e.text
        )?;
        let given = loop {
            write!(out, "Wat is dit? [k/m/b/r/o] ")?;
            out.flush()?;
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                writeln!(out)?;
                break 'questions;
            }
            let line = line.trim();
            // Piped answers are not echoed by a terminal: show them after the prompt.
            if !typed {
                writeln!(out, "{line}")?;
            }
            if line.eq_ignore_ascii_case("q") || line.eq_ignore_ascii_case("stop") {
                break 'questions;
            }
            match exercises::parse_answer(line) {
                Some(l) => break l,
                None => writeln!(
                    out,
                    "  {line:?} ken ik niet: typ k, m, b, r of o (of het hele woord)."
                )?,
            }
        };
        asked += 1;
        if given == e.label {
            right += 1;
            writeln!(
                out,
                "{}✓ Goed!{reset} Het is {}.",
                if color { "\x1b[1;32m" } else { "" },
                it_is(e.label)
            )?;
        } else {
            writeln!(
                out,
                "{}✗ Niet goed.{reset} Het is {} (u koos {}).",
                if color { "\x1b[1;31m" } else { "" },
                it_is(e.label),
                dutch(given)
            )?;
        }
        if !e.cues.is_empty() {
            writeln!(out, "\nDe signalen:\n{}", marked(e, color))?;
        }
        writeln!(out, "\nWaarom: {}\n", e.teaching_note)?;
    }
    let pct = (right * 100).checked_div(asked).unwrap_or(0);
    writeln!(
        out,
        "{bold}Score: {right} van {asked} goed ({pct}%){reset}{}",
        if asked < n {
            format!(" · gestopt na {asked} van {n} vragen")
        } else {
            String::new()
        }
    )?;
    Ok(ExitCode::SUCCESS)
}
