//! The training corpus: well-formed, and no text a near-duplicate of an evaluation text
//! (word-trigram Jaccard ≥ 0.5), so the evaluation measures generalisation.

use std::collections::{HashMap, HashSet};

use herken::dataset;

use crate::support::{root, shared};

fn shingles(text: &str) -> HashSet<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.len() < 3 {
        return words.into_iter().collect();
    }
    words.windows(3).map(|w| w.join(" ")).collect()
}

fn eval_texts() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let dir = shared().join("eval");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "jsonl") {
            continue;
        }
        for (n, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let name = format!("{}:{}", path.file_name().unwrap().to_string_lossy(), n + 1);
            if let Some(t) = v["text"].as_str() {
                out.push((name.clone(), t.to_string()));
            }
            for m in v["messages"].as_array().into_iter().flatten() {
                out.push((name.clone(), m["text"].as_str().unwrap().to_string()));
            }
        }
    }
    out
}

#[test]
fn no_corpus_text_is_a_near_duplicate_of_an_eval_text() {
    let (corpus, _) = dataset::read_corpus(&root().join("data").join("corpus")).unwrap();
    let evals: Vec<(String, HashSet<String>)> = eval_texts()
        .into_iter()
        .map(|(n, t)| (n, shingles(&t)))
        .collect();
    assert!(evals.len() > 200);
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, s)) in evals.iter().enumerate() {
        for sh in s {
            index.entry(sh.as_str()).or_default().push(i);
        }
    }
    let mut offenders = Vec::new();
    for ex in &corpus {
        let s = shingles(&ex.message.text);
        let mut shared_counts: HashMap<usize, usize> = HashMap::new();
        for sh in &s {
            for &i in index.get(sh.as_str()).into_iter().flatten() {
                *shared_counts.entry(i).or_default() += 1;
            }
        }
        for (i, inter) in shared_counts {
            let union = s.len() + evals[i].1.len() - inter;
            let jaccard = inter as f64 / union.max(1) as f64;
            if jaccard >= 0.5 {
                offenders.push(format!("{} ~ {} ({jaccard:.2})", ex.message.id, evals[i].0));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "near-duplicates of eval texts in the corpus: {offenders:#?}"
    );
}

#[test]
fn corpus_has_every_label_and_no_exact_duplicates() {
    let (corpus, _) = dataset::read_corpus(&root().join("data").join("corpus")).unwrap();
    let mut seen = HashSet::new();
    let dups: Vec<_> = corpus
        .iter()
        .filter(|e| !seen.insert(e.message.text.trim().to_lowercase()))
        .map(|e| e.message.id.clone())
        .collect();
    assert!(dups.is_empty(), "exact duplicates: {dups:?}");
    for l in herken::Label::ALL {
        assert!(
            corpus.iter().filter(|e| e.label == l).count() >= 100,
            "fewer than 100 {l} messages"
        );
    }
}
