//! `herken quiz`, run as a person would: the answers typed (piped) on standard input.

use std::io::Write;
use std::process::{Command, Stdio};

use herken::exercises;

use crate::support::root;

fn quiz(args: &[&str], input: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_herken"))
        .current_dir(root())
        .arg("quiz")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn letter(l: herken::Label) -> &'static str {
    &l.as_str()[..1]
}

#[test]
fn a_round_gives_the_answer_the_signals_and_why_after_each_question_and_a_score() {
    let round = exercises::shuffled(&exercises::set(Some("basis")), 42);
    let round = &round[..3];
    // Right, a typo then wrong, right (as a whole word).
    let wrong = herken::Label::ALL
        .into_iter()
        .find(|l| *l != round[1].label)
        .unwrap();
    let input = format!(
        "{}\nhuh\n{}\n{}\n",
        letter(round[0].label),
        letter(wrong),
        round[2].label.as_str()
    );
    let (code, out) = quiz(
        &[
            "--set", "basis", "--count", "3", "--seed", "42", "--color", "never",
        ],
        &input,
    );
    assert_eq!(code, 0, "{out}");
    for (i, e) in round.iter().enumerate() {
        assert!(out.contains(&format!("Vraag {} van 3", i + 1)), "{out}");
        assert!(out.contains(&e.teaching_note), "teaching note of {}", e.id);
        if let Some(c) = e.cues.first() {
            assert!(out.contains(&format!("«{c}")), "cue {c:?} marked:\n{out}");
        }
    }
    assert!(out.contains("\"huh\" ken ik niet"), "{out}");
    assert_eq!(out.matches("✓ Goed!").count(), 2, "{out}");
    assert!(
        out.contains(&format!("(u koos {}).", wrong.as_str())),
        "{out}"
    );
    assert!(out.contains("✗ Niet goed. Het is "), "{out}");
    // The piped answers are shown after their prompts.
    assert!(out.contains("Wat is dit? [k/m/b/r/o] huh\n"), "{out}");
    assert!(
        out.trim_end().ends_with("Score: 2 van 3 goed (66%)"),
        "{out}"
    );
}

#[test]
fn stopping_early_scores_what_was_answered() {
    let round = exercises::shuffled(&exercises::set(Some("english")), 7);
    let (code, out) = quiz(
        &[
            "--set", "english", "--count", "5", "--seed", "7", "--color", "never",
        ],
        &format!("{}\nq\n", letter(round[0].label)),
    );
    assert_eq!(code, 0);
    assert!(
        out.trim_end()
            .ends_with("Score: 1 van 1 goed (100%) · gestopt na 1 van 5 vragen"),
        "{out}"
    );
    // End of input stops too.
    let (code, out) = quiz(&["--set", "gevorderd", "--count", "2", "--seed", "1"], "");
    assert_eq!(code, 0);
    assert!(out.contains("Score: 0 van 0 goed"), "{out}");
    assert!(!out.contains("\x1b["), "no colour when not a terminal");
}

#[test]
fn an_unknown_set_is_an_error_naming_the_sets() {
    let (code, _) = quiz(&["--set", "expert"], "");
    assert_eq!(code, 2);
}
