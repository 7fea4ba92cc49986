//! One criterion group per pipeline stage, and the whole pipeline, on messages of three kinds:
//! a short web-form report, an e-mail with signature and quoted reply, a counter transcript.
//! Run: `cargo bench --bench pipeline`.

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
    let analysis = recognizer.pipeline().analyse(&messages()[1].1);
    g.bench_function("email", |b| {
        b.iter(|| {
            decide::decide(
                black_box([0.4, 0.3, 0.1, 0.1, 0.1]),
                &analysis.cues,
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

criterion_group!(benches, stages);
criterion_main!(benches);
