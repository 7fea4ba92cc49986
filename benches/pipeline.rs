//! One criterion group per pipeline stage, and the whole pipeline, on messages of three kinds:
//! a short web-form report, an e-mail with signature and quoted reply, a counter transcript.
//! The sentence encoder gets its own group, per runtime this build has (rust-bert on libtorch,
//! pure Rust), when `herken model fetch` has put it in the configured encoder_dir.
//! The cascade (`encoder_skip_confidence`) gets a group too: the first 24 messages of
//! `benches/data/mix_unseen.jsonl` (never trained on) classified with it off and on, with and
//! without the semantic sketch a remembered message needs, the encoder's result cache off.
//! Run: `cargo bench --bench pipeline` (one group: `cargo bench --bench pipeline -- encoder`).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use herken::config::Config;
use herken::domain::{Channel, Message};
use herken::pipeline::cues::{self, Lexicon};
use herken::pipeline::decide::{self, DecideOptions};
use herken::pipeline::{language, normalize};
use herken::recognizer::Recognizer;

const SHORT: &str = "Lantaarnpaal kapot bij de Merelstraat 22, al drie keer gemeld.";
const EMAIL: &str = "Geachte heer/mevrouw,\n\nIk heb op 3 maart een aanvraag voor huishoudelijke hulp ingediend. Er is beloofd dat ik binnen twee weken zou worden teruggebeld, maar ik heb nog steeds niets gehoord. Ik ben hier erg teleurgesteld over en verwacht excuses.\n\nMet vriendelijke groet,\nJ. Jansen\nDorpsstraat 1\n06-12345678\n\nOp 4 maart 2026 schreef Gemeente <info@gemeente.nl>:\n> Wij hebben uw aanvraag ontvangen.\n> Met vriendelijke groet, het KCC";
const TRANSCRIPT: &str = "Medewerker: Goedemorgen, waarmee kan ik u helpen?\nBurger: Ik bel voor de derde keer over de container die niet geleegd wordt.\nMedewerker: Wilt u een klacht indienen?\nBurger: Ja, want er gebeurt gewoon niets en ik word nooit teruggebeld.\nMedewerker: Dat noteer ik.";

fn messages() -> Vec<(&'static str, Message)> {
    vec![
        (
            "short",
            Message::new(SHORT).with_channel(Channel::Webformulier),
        ),
        ("email", Message::new(EMAIL).with_channel(Channel::Email)),
        (
            "transcript",
            Message::new(TRANSCRIPT).with_channel(Channel::Telefoon),
        ),
    ]
}

fn stages(c: &mut Criterion) {
    let lexicon = Lexicon::builtin().unwrap();
    let mut g = c.benchmark_group("normalize");
    for (name, m) in messages() {
        g.throughput(Throughput::Bytes(m.text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &m, |b, m| {
            b.iter(|| normalize::normalize(black_box(&m.text), m.channel))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("language");
    for (name, m) in messages() {
        g.bench_with_input(BenchmarkId::from_parameter(name), &m, |b, m| {
            b.iter(|| language::detect(black_box(&m.text)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("cues");
    for (name, m) in messages() {
        g.bench_with_input(BenchmarkId::from_parameter(name), &m, |b, m| {
            b.iter(|| cues::find(&lexicon, black_box(&m.text), herken::Lang::Nl))
        });
    }
    g.finish();

    let recognizer = Recognizer::from_config(&Config::default()).unwrap();
    let mut g = c.benchmark_group("decide");
    let email = &messages()[1].1;
    let analysis = recognizer.pipeline().analyse(email);
    g.bench_function("email", |b| {
        b.iter(|| {
            decide::decide(
                black_box([0.4, 0.3, 0.1, 0.1, 0.1]),
                &analysis.cues,
                &email.text,
                analysis.lang,
                &lexicon,
                &DecideOptions::default(),
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("pipeline");
    for (name, m) in messages() {
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::from_parameter(name), &m, |b, m| {
            b.iter(|| recognizer.classify(black_box(m)).unwrap())
        });
    }
    let long = Message::new(EMAIL.repeat(150)).with_channel(Channel::Email);
    g.throughput(Throughput::Bytes(long.text.len() as u64));
    g.bench_function("email_x150", |b| {
        b.iter(|| recognizer.classify(black_box(&long)).unwrap())
    });
    g.finish();
}

/// One embedding of each message kind's raw text, and one at the 256-token cut.
fn encoder(c: &mut Criterion) {
    use herken::pipeline::model::encoder::{Encoder, Runtime};
    let dir = Config::default().encoder_dir;
    if !dir.join("model.safetensors").is_file() {
        eprintln!(
            "encoder benchmarks skipped: no encoder in {} (run `herken model fetch`)",
            dir.display()
        );
        return;
    }
    let long = EMAIL.repeat(6);
    let texts = [
        ("short", SHORT),
        ("email", EMAIL),
        ("transcript", TRANSCRIPT),
        ("cut_256", long.as_str()),
    ];
    for runtime in Runtime::ALL.into_iter().filter(|r| r.available()) {
        let e = Encoder::load_on(&dir, runtime).expect("encoder loads");
        // The forward pass itself, not the result cache's answer for a text seen before.
        e.set_cache_entries(0);
        let mut g = c.benchmark_group(format!("encoder_{runtime}"));
        g.sample_size(20);
        for (name, text) in &texts {
            g.throughput(Throughput::Elements(1));
            g.bench_with_input(BenchmarkId::from_parameter(name), text, |b, t| {
                b.iter(|| e.embed(black_box(t)).unwrap())
            });
        }
        g.finish();
    }
}

/// Classifying messages the model never saw, with the cascade off (0) and at its default.
fn cascade(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/mix_unseen.jsonl");
    let text = std::fs::read_to_string(path).expect("benches/data/mix_unseen.jsonl");
    let messages: Vec<Message> = text
        .lines()
        .take(24)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            Message::new(v["text"].as_str().expect("text").to_string())
        })
        .collect();
    let mut with_sender = messages.clone();
    for m in &mut with_sender {
        m.sender = "bench@example.invalid".into();
    }
    let mut g = c.benchmark_group("cascade");
    g.sample_size(10);
    g.throughput(Throughput::Elements(messages.len() as u64));
    for (name, skip) in [
        ("off", None),
        ("default", Config::default().encoder_skip_confidence),
    ] {
        let config = Config {
            encoder_skip_confidence: skip,
            encoder_cache_entries: 0,
            ..Config::default()
        };
        let Ok(r) = Recognizer::from_config(&config) else {
            eprintln!("cascade benchmarks skipped: the model does not load");
            return;
        };
        g.bench_function(format!("{name}/no_sender"), |b| {
            b.iter(|| {
                for m in &messages {
                    black_box(r.classify(m).unwrap());
                }
            })
        });
        g.bench_function(format!("{name}/sender"), |b| {
            b.iter(|| {
                for m in &with_sender {
                    black_box(r.recognize(m).unwrap());
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, stages, encoder, cascade);
criterion_main!(benches);
