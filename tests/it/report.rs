//! The Leren report over a store filled as a server fills it (classified, remembered, routed,
//! pulled, acked, corrected): counts, suppression below the threshold, hotspots by street
//! without house numbers or postcodes, and nothing of any message's text or sender.

use std::sync::Arc;

use chrono::{Duration, Utc};
use herken::domain::{Channel, Label, Message};
use herken::engine::Engine;
use herken::intake::Intake;
use herken::route::Router;
use herken::store::report::ReportSpec;
use herken::store::{Location, Store};

use crate::support::{config, recognizer_arc, PgDatabase};

async fn filled() -> (Store, Intake) {
    fill(Store::open(&Location::SqliteMemory).await.unwrap()).await
}

async fn fill(store: Store) -> (Store, Intake) {
    let intake = Intake::new(Arc::new(store.clone()), Router::builtin());
    let c = config();
    let engine = Engine::new(
        recognizer_arc(),
        Arc::new(store.clone()),
        b"report-test-secret".to_vec(),
        c.repeat.clone(),
    )
    .with_intake(intake.clone());
    let now = Utc::now();
    let send = |id: String, text: String, sender: &str, channel: Channel, days_ago: i64| {
        let mut m = Message::new(text);
        m.id = id;
        m.sender = sender.to_string();
        m.channel = channel;
        m.received_at = now - Duration::days(days_ago);
        m
    };
    // Six neighbours about one street light, with house numbers and a postcode.
    for i in 1..=6 {
        let m = send(
            format!("lamp{i}"),
            format!(
                "De lantaarnpaal voor Merelstraat {} in 1234 AB is kapot.",
                10 + i
            ),
            &format!("buur{i}@voorbeeld.nl"),
            Channel::Webformulier,
            10 - i,
        );
        let (o, queued) = engine.classify_and_route(m, true).await.unwrap();
        assert!(queued);
        assert_eq!(o.label, Label::Melding);
    }
    // One person about a pothole, three times: the later ones are complaints.
    for i in 0..3 {
        let m = send(
            format!("gat{i}"),
            format!(
                "Het gat in het wegdek van de Kastanjelaan 7 (4321 ZX) is er nog steeds, melding {}.",
                i + 1
            ),
            "piet.de.vries@voorbeeld.nl",
            Channel::Email,
            20 - 7 * i,
        );
        engine.classify_and_route(m, true).await.unwrap();
    }
    // Five complaints about not being called back, by phone.
    for i in 0..5 {
        let m = send(
            format!("bel{i}"),
            "Ik ben al drie weken niet teruggebeld over mijn aanvraag, dit is echt te lang en ik voel me niet serieus genomen.".into(),
            &format!("06-1234567{i}"),
            Channel::Telefoon,
            3,
        );
        let (o, _) = engine.classify_and_route(m, true).await.unwrap();
        assert_eq!(o.label, Label::Klacht);
    }
    // One objection.
    let m = send(
        "woz".into(),
        "Hierbij maak ik bezwaar tegen de WOZ-beschikking met kenmerk 2026-17.".into(),
        "a.jansen@voorbeeld.nl",
        Channel::Brief,
        2,
    );
    engine.classify_and_route(m, true).await.unwrap();
    (store, intake)
}

fn spec(min_count: u64) -> ReportSpec {
    let now = Utc::now();
    ReportSpec {
        from: now - Duration::days(40),
        to: now + Duration::days(1),
        min_count,
        now,
    }
}

#[tokio::test]
async fn counts_are_aggregates_and_small_ones_are_suppressed() {
    let (store, intake) = filled().await;
    counts_contract(store, intake).await;
}

/// The same report from PostgreSQL (the queries are written once for both backends).
#[tokio::test]
async fn counts_are_the_same_on_postgres() {
    let db = PgDatabase::create().await;
    let store = Store::open(&Location::Postgres(db.url.clone()))
        .await
        .unwrap();
    let (store, intake) = fill(store).await;
    counts_contract(store.clone(), intake).await;
    store.close().await;
    db.drop().await;
}

async fn counts_contract(store: Store, intake: Intake) {
    // A clerk handles every complaint, two of them after the deadline; one melding is
    // corrected to a klacht.
    let now = Utc::now();
    let pulled = intake
        .pull("klachten", 100, 600, now, "klachtencoordinator")
        .await
        .unwrap();
    assert!(pulled.len() >= 5, "{} complaints pulled", pulled.len());
    let ids: Vec<String> = pulled.iter().map(|i| i.item_id.clone()).collect();
    intake
        .ack(&ids[..2], now + Duration::weeks(8), "klachtencoordinator")
        .await
        .unwrap();
    intake
        .ack(&ids[2..], now, "klachtencoordinator")
        .await
        .unwrap();
    let before = store.report(&spec(1)).await.unwrap();
    intake
        .correct(
            "lamp1",
            Label::Klacht,
            "j.smit",
            "al eerder gemeld aan de balie",
            now,
        )
        .await
        .unwrap();

    let r = store.report(&spec(5)).await.unwrap();
    assert_eq!(r.routed, Some(15));
    let label = |l: &str| r.by_label.iter().find(|b| b.key == l).unwrap().count;
    assert_eq!(
        label("bezwaar"),
        None,
        "one objection is below the threshold"
    );
    assert_eq!(
        label("raadsadres"),
        Some(0),
        "zero says nothing about anyone"
    );
    assert!(label("melding").is_some_and(|n| n >= 5), "{:?}", r.by_label);
    let channel = |c: &str| {
        r.by_channel
            .iter()
            .find(|b| b.key == c)
            .and_then(|b| b.count)
    };
    assert_eq!(channel("webformulier"), Some(6));
    assert_eq!(channel("telefoon"), Some(5));
    assert_eq!(channel("brief"), None);
    // Complaint themes: the signals of the complaints, counted per complaint.
    let proces = r.complaint_families.iter().find(|b| b.key == "proces");
    assert!(
        proces.is_some_and(|b| b.count.is_some_and(|n| n >= 5)),
        "{:?}",
        r.complaint_families
    );
    // The street with six reports is a hotspot; the one with three is left out.
    assert_eq!(r.hotspots.len(), 1, "{:?}", r.hotspots);
    assert_eq!(r.hotspots[0].place, "Merelstraat");
    assert_eq!(r.hotspots[0].reports, Some(6));
    assert_eq!(r.hotspots[0].senders, Some(6));
    assert!(r.places_below_threshold >= 1);
    // Deadlines: two complaints handled late is below the threshold, and so is said so.
    let k = r.deadlines.iter().find(|d| d.queue == "klachten").unwrap();
    assert!(k.queued.is_some_and(|n| n >= 5));
    assert_eq!(k.handled_late, None);
    // One correction: suppressed, and so is its pair.
    assert_eq!(r.corrections, None);
    assert_eq!(r.correction_pairs.len(), 1);
    assert_eq!(r.correction_pairs[0].count, None);

    // With a threshold of 1 everything shows.
    let all = store.report(&spec(1)).await.unwrap();
    let count = |r: &herken::store::report::Report, l: &str| {
        r.by_label
            .iter()
            .find(|b| b.key == l)
            .unwrap()
            .count
            .unwrap()
    };
    assert_eq!(
        count(&all, "melding") + 1,
        count(&before, "melding"),
        "the correction moves one"
    );
    assert_eq!(count(&all, "klacht"), count(&before, "klacht") + 1);
    assert_eq!(all.corrections, Some(1));
    assert_eq!(all.correction_pairs[0].from, "melding");
    assert_eq!(all.correction_pairs[0].to, "klacht");
    let k = all
        .deadlines
        .iter()
        .find(|d| d.queue == "klachten")
        .unwrap();
    assert_eq!(k.handled_late, Some(2));
    assert!(all.hotspots.iter().any(|h| h.place == "Kastanjelaan"));
}

#[tokio::test]
async fn no_text_sender_house_number_or_postcode_leaves_the_store() {
    let (store, _) = filled().await;
    let postcode = regex::Regex::new(r"(?i)\b\d{4}\s?[a-z]{2}\b").unwrap();
    for min in [1, 5] {
        let r = store.report(&spec(min)).await.unwrap();
        let json = serde_json::to_string(&r).unwrap();
        let csv = r.to_csv();
        let html = herken::web::render::report_file(&r);
        for out in [&json, &csv, &html] {
            for secret in [
                "voorbeeld.nl",
                "piet",
                "06-1234567",
                "1234",
                "4321",
                "lantaarnpaal",
                "teruggebeld",
                "WOZ",
                "Merelstraat 1",
                "Kastanjelaan 7",
            ] {
                assert!(
                    !out.contains(secret),
                    "min {min}: the report shows {secret:?}"
                );
            }
        }
        assert!(!postcode.is_match(&json), "a postcode in {json}");
    }
}

#[tokio::test]
async fn an_empty_period_is_an_empty_report() {
    let (store, _) = filled().await;
    let long_ago = Utc::now() - Duration::days(3000);
    let r = store
        .report(&ReportSpec {
            from: long_ago,
            to: long_ago + Duration::days(7),
            min_count: 5,
            now: Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(r.routed, Some(0));
    assert!(r.hotspots.is_empty() && r.by_queue.is_empty() && r.correction_pairs.is_empty());
    assert!(r.by_label.iter().all(|b| b.count == Some(0)));
}
