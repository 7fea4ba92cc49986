//! Fine-tuning the encoder's top layers (`herken train --fine-tune`) on a tiny set: the same
//! seed gives the same layers (two `herken train` processes: inside this test binary other
//! tests draw from libtorch's global generator while loading models), both runtimes load the
//! file and compute what training computed, and layers trained on another base encoder are
//! refused.

use std::path::PathBuf;

use herken::domain::Label;
use herken::pipeline::model::encoder::{cosine, Encoder, Runtime, TopLayers, INT8_AGREEMENT};
use herken::training::finetune::{boundary_states, fine_tune, save};
use herken::training::FineTuneOptions;

fn encoder_dir() -> PathBuf {
    std::env::var_os("HERKEN_ENCODER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(herken::fetch::default_encoder_dir)
}

const TEXTS: [(&str, Label); 10] = [
    (
        "De lantaarnpaal bij het speelveld is kapot.",
        Label::Melding,
    ),
    (
        "Er ligt grofvuil naast de container op het plein.",
        Label::Melding,
    ),
    (
        "Een losse stoeptegel voor de bakker, iemand struikelde.",
        Label::Melding,
    ),
    (
        "Ik heb drie keer gebeld en niemand belt terug, schandalig.",
        Label::Klacht,
    ),
    (
        "De medewerker aan de balie was onbeschoft tegen mijn moeder.",
        Label::Klacht,
    ),
    (
        "Al maanden wacht ik op antwoord op mijn brief.",
        Label::Klacht,
    ),
    (
        "Hierbij teken ik bezwaar aan tegen de aanslag afvalstoffenheffing.",
        Label::Bezwaar,
    ),
    (
        "Geachte raadsleden, behoud het zwembad in ons dorp.",
        Label::Raadsadres,
    ),
    ("Hoe laat is het gemeentehuis zaterdag open?", Label::Overig),
    (
        "Bedankt voor de snelle hulp met mijn paspoort!",
        Label::Overig,
    ),
];

#[test]
fn every_runtime_computes_what_fine_tuning_computed() {
    let dir = encoder_dir();
    let base = Encoder::load_on(&dir, Runtime::Libtorch)
        .unwrap_or_else(|e| panic!("{e}: run `herken model fetch` (scripts/setup.sh does)"));
    let cache = tempfile::tempdir().unwrap();
    let texts: Vec<&str> = TEXTS.iter().map(|(t, _)| *t).collect();
    let labels: Vec<Label> = TEXTS.iter().map(|(_, l)| *l).collect();
    let opts = FineTuneOptions {
        layers: 1,
        epochs: 2,
        batch_size: 4,
        threads: 1,
        ..FineTuneOptions::default()
    };
    let states = boundary_states(&dir, &base, 11, &texts, cache.path(), 2, &|_, _, _| {}).unwrap();
    assert_eq!(states.len(), texts.len());
    // The cache is used the second time (and gives the same states).
    let again = boundary_states(&dir, &base, 11, &texts, cache.path(), 1, &|_, _, _| {}).unwrap();
    assert_eq!(again.tokens(3), states.tokens(3));
    let (train, held): (Vec<usize>, Vec<usize>) = (0..texts.len()).partition(|i| i % 3 != 0);
    let out = tempfile::tempdir().unwrap();
    let (model, report) = fine_tune(
        &dir,
        &states,
        &labels,
        &train,
        &held,
        &opts,
        7,
        &|_, _, _| {},
    )
    .unwrap();
    assert_eq!(report.heldout_macro_f1.len(), 2);
    assert!((1..=2).contains(&report.best_epoch));
    let top = out.path().join("encoder-top.safetensors");
    let id = save(&model, &top, &base).unwrap();
    assert!(id.starts_with(&format!("{}+top1@", base.id())), "{id}");
    let embedded = model.embed(&states, &[0, 3, 7]).unwrap();
    let t = TopLayers::read(&top).unwrap();
    assert_eq!(t.layers, [11]);
    assert_eq!(t.base_encoder, base.id());
    for runtime in Runtime::ALL.into_iter().filter(|r| r.available()) {
        let e = Encoder::load_with_top(&dir, runtime, Some(&top)).unwrap();
        assert_eq!(e.id(), t.encoder_id(base.id()));
        assert_ne!(e.id(), base.id());
        for (k, &i) in [0usize, 3, 7].iter().enumerate() {
            let got = e.embed(texts[i]).unwrap();
            let c = cosine(&got, &embedded[k]);
            // Training runs the top layer on f16 boundary states; the f32 runtimes on f32
            // ones; the int8 runtime approximates them within its stated bound.
            let bound = match runtime {
                Runtime::Int8 => INT8_AGREEMENT,
                Runtime::Libtorch | Runtime::Rust => 0.999,
            };
            assert!(c >= bound, "{runtime}: cosine {c:.5} for {:?}", texts[i]);
            let moved = cosine(&got, &base.embed(texts[i]).unwrap());
            assert!(
                moved < 0.999_99,
                "{runtime}: fine-tuning changed nothing ({moved})"
            );
        }
    }
}

#[test]
fn fine_tuned_layers_of_another_base_encoder_are_refused_by_name() {
    let dir = encoder_dir();
    let base = Encoder::load_on(&dir, Runtime::Rust).expect("encoder fetched");
    // A file that claims another base encoder.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("encoder-top.safetensors");
    let data = vec![0u8; 8];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![4], &data).unwrap();
    let meta = [
        ("base_encoder".to_string(), "e5-small@00000000".to_string()),
        ("layers".to_string(), "11".to_string()),
    ]
    .into_iter()
    .collect();
    let bytes = safetensors::serialize([("x", view)], &Some(meta)).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let err = Encoder::load_with_top(&dir, Runtime::Rust, Some(&path))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("e5-small@00000000") && err.contains(base.id()),
        "{err}"
    );
}

/// A corpus of the texts above, three times over, in a temporary directory.
fn tiny_corpus() -> tempfile::TempDir {
    let corpus = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for round in 0..3 {
        for (t, l) in TEXTS {
            lines.push_str(
                &serde_json::json!({"text": format!("{t} Bericht {round}."), "label": l.as_str()})
                    .to_string(),
            );
            lines.push('\n');
        }
    }
    std::fs::write(corpus.path().join("tiny.jsonl"), lines).unwrap();
    corpus
}

#[test]
fn a_head_trained_at_depth_8_is_served_by_an_encoder_of_that_depth() {
    let corpus = tiny_corpus();
    let out = corpus.path().join("model");
    let herken = || std::process::Command::new(env!("CARGO_BIN_EXE_herken"));
    let o = herken()
        .args(["train", "--corpus"])
        .arg(corpus.path())
        .arg("--out")
        .arg(&out)
        .args(["--encoder-depth", "8"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let id = m["encoder"]["encoder"].as_str().unwrap().to_string();
    assert!(id.ends_with("/depth8"), "{id}");
    // The service side: the manifest's depth is the depth the encoder is loaded at.
    let o = herken()
        .arg("classify")
        .arg("--model-dir")
        .arg(&out)
        .arg("Lantaarnpaal kapot in de Eikenlaan.")
        .env("HERKEN_REQUIRE_ENCODER", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains(&format!("{id}+sparse-lr@")), "{stdout}");
    // Fine-tuned layers lie above layer 8: the two do not go together.
    let o = herken()
        .args(["train", "--corpus"])
        .arg(corpus.path())
        .args(["--encoder-depth", "8", "--fine-tune"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot be used with"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn herken_train_fine_tune_gives_the_same_layers_for_the_same_seed() {
    let corpus = tiny_corpus();
    let mut tops = Vec::new();
    for run in 0..2 {
        let out = corpus.path().join(format!("model{run}"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_herken"))
            .args(["train", "--corpus"])
            .arg(corpus.path())
            .arg("--out")
            .arg(&out)
            .args([
                "--fine-tune",
                "--top-layers",
                "1",
                "--ft-epochs",
                "1",
                "--ft-threads",
                "1",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        tops.push(std::fs::read(out.join("encoder-top.safetensors")).unwrap());
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["encoder"]["fine_tune"]["layers"], 1);
        assert!(m["encoder"]["encoder"].as_str().unwrap().contains("+top1@"));
        assert!(out.join("encoder-head-frozen.bin").is_file());
    }
    assert_eq!(tops[0], tops[1], "the same seed must give the same layers");
}
