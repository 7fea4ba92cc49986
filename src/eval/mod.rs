//! Evaluation: per-label precision, recall and F1, macro-F1, accuracy, the confusion matrix
//! and the expected calibration error, for `herken eval` and for training's held-out split;
//! and, in [`evidence`], how well the cues match the phrases a trainer marks.

pub mod evidence;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::Label;

/// Scores of one label.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct LabelMetrics {
    /// Of the messages given this label, the share that has it.
    pub precision: f64,
    /// Of the messages that have this label, the share that was given it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Messages that have this label.
    pub support: usize,
}

/// The scores of a set of predictions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metrics {
    /// Messages scored.
    pub count: usize,
    /// Share predicted right.
    pub accuracy: f64,
    /// Unweighted mean F1 over the labels present in gold or predictions.
    pub macro_f1: f64,
    /// Per label, keyed by label name.
    pub labels: BTreeMap<String, LabelMetrics>,
    /// confusion[gold][predicted], keyed by label names.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// Expected calibration error over 10 equal-width confidence bins.
    pub ece: f64,
}

/// One prediction to score.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    /// The right label.
    pub gold: Label,
    /// The predicted label.
    pub predicted: Label,
    /// The predicted label's probability.
    pub confidence: f32,
}

/// Score predictions.
pub fn metrics(items: &[Scored]) -> Metrics {
    let n = items.len();
    let mut m = [[0usize; Label::COUNT]; Label::COUNT];
    for s in items {
        m[s.gold.index()][s.predicted.index()] += 1;
    }
    let mut labels = BTreeMap::new();
    let mut f1_sum = 0.0;
    let mut f1_n = 0;
    for l in Label::ALL {
        let k = l.index();
        let tp = m[k][k] as f64;
        let predicted: usize = (0..Label::COUNT).map(|g| m[g][k]).sum();
        let support: usize = m[k].iter().sum();
        let precision = if predicted > 0 {
            tp / predicted as f64
        } else {
            0.0
        };
        let recall = if support > 0 {
            tp / support as f64
        } else {
            0.0
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        if support > 0 || predicted > 0 {
            f1_sum += f1;
            f1_n += 1;
        }
        labels.insert(
            l.as_str().to_string(),
            LabelMetrics {
                precision,
                recall,
                f1,
                support,
            },
        );
    }
    let confusion = Label::ALL
        .iter()
        .map(|g| {
            (
                g.as_str().to_string(),
                Label::ALL
                    .iter()
                    .map(|p| (p.as_str().to_string(), m[g.index()][p.index()]))
                    .collect(),
            )
        })
        .collect();
    let correct: usize = (0..Label::COUNT).map(|k| m[k][k]).sum();
    Metrics {
        count: n,
        accuracy: if n > 0 {
            correct as f64 / n as f64
        } else {
            0.0
        },
        macro_f1: if f1_n > 0 { f1_sum / f1_n as f64 } else { 0.0 },
        labels,
        confusion,
        ece: ece(items),
    }
}

/// Expected calibration error: the confidence-weighted gap between confidence and accuracy
/// over 10 equal-width bins.
pub fn ece(items: &[Scored]) -> f64 {
    if items.is_empty() {
        return 0.0;
    }
    let mut bins = [(0usize, 0f64, 0usize); 10];
    for s in items {
        let b = ((s.confidence as f64 * 10.0) as usize).min(9);
        bins[b].0 += 1;
        bins[b].1 += s.confidence as f64;
        bins[b].2 += usize::from(s.gold == s.predicted);
    }
    bins.iter()
        .filter(|b| b.0 > 0)
        .map(|(n, conf, ok)| {
            let n = *n as f64;
            (n / items.len() as f64) * ((conf / n) - (*ok as f64 / n)).abs()
        })
        .sum()
}

/// The metrics as a readable table.
pub fn render(m: &Metrics) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{:<12} {:>9} {:>7} {:>7} {:>8}\n",
        "label", "precision", "recall", "f1", "support"
    ));
    for l in Label::ALL {
        let x = &m.labels[l.as_str()];
        s.push_str(&format!(
            "{:<12} {:>9.3} {:>7.3} {:>7.3} {:>8}\n",
            l.as_str(),
            x.precision,
            x.recall,
            x.f1,
            x.support
        ));
    }
    s.push_str(&format!(
        "\nmacro-F1 {:.3}   accuracy {:.3}   ECE {:.3}   n = {}\n\nconfusion (rows: gold, columns: predicted)\n{:<12}",
        m.macro_f1, m.accuracy, m.ece, m.count, ""
    ));
    for l in Label::ALL {
        s.push_str(&format!(" {:>10}", l.as_str()));
    }
    s.push('\n');
    for g in Label::ALL {
        s.push_str(&format!("{:<12}", g.as_str()));
        for p in Label::ALL {
            s.push_str(&format!(" {:>10}", m.confusion[g.as_str()][p.as_str()]));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(g: Label, p: Label, c: f32) -> Scored {
        Scored {
            gold: g,
            predicted: p,
            confidence: c,
        }
    }

    #[test]
    fn perfect_predictions_score_one() {
        let items: Vec<_> = Label::ALL.iter().map(|l| s(*l, *l, 1.0)).collect();
        let m = metrics(&items);
        assert_eq!(m.macro_f1, 1.0);
        assert_eq!(m.accuracy, 1.0);
        assert!(m.ece < 1e-9);
    }

    #[test]
    fn hand_computed_example() {
        use Label::*;
        let items = [
            s(Klacht, Klacht, 0.9),
            s(Klacht, Melding, 0.6),
            s(Melding, Melding, 0.8),
            s(Melding, Klacht, 0.7),
        ];
        let m = metrics(&items);
        let k = m.labels["klacht"];
        assert!((k.precision - 0.5).abs() < 1e-9 && (k.recall - 0.5).abs() < 1e-9);
        assert_eq!(m.confusion["klacht"]["melding"], 1);
        assert!((m.macro_f1 - 0.5).abs() < 1e-9);
        // bins: 0.6 (wrong), 0.7 (wrong), 0.8 (right), 0.9 (right):
        // ECE = 1/4 (0.6 + 0.7 + 0.2 + 0.1) = 0.4
        assert!((m.ece - 0.4).abs() < 1e-6, "{}", m.ece);
    }
}
