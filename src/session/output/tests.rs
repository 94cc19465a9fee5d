use super::*;
use crate::engine::EpochMetrics;
use crate::script::{Progress, Sink};

fn metrics(epoch: u64) -> EpochMetrics {
    EpochMetrics {
        epoch,
        step: epoch * 10,
        d_loss: 1.3,
        g_loss: 0.7,
        d_real: 0.5,
        d_fake: 0.5,
        lr: 0.1,
        lr_g: 0.1,
        momentum: 0.5,
        steps: 10,
        secs: 0.1,
        it_per_s: 100.0,
        ..Default::default()
    }
}

#[test]
fn progress_is_one_display_then_a_table() {
    let c = Collector::new();
    let s = c.sink();
    s.text("hello");
    for e in 1..=3u64 {
        for done in [5, 10] {
            s.progress(&Progress {
                gan: "gan".into(),
                epoch: e,
                epochs: 3,
                done,
                total: 10,
                d_loss: 1.0,
                g_loss: 1.0,
            });
        }
        s.epoch("gan", &metrics(e));
    }
    s.fit_end("gan");
    s.image("x.png", &[1, 2, 3], None);
    let out = c.take();
    assert_eq!(out.len(), 4, "{out:#?}");
    assert_eq!(out[0], Output::Stream("hello\n".into()));
    let prog = out[1].data().unwrap();
    assert!(
        prog["text/plain"].contains("trained epochs 1–3"),
        "{prog:?}"
    );
    let table = out[2].data().unwrap();
    assert!(table["text/html"].contains("<table"));
    assert_eq!(table["text/html"].matches("<tr>").count(), 4);
    assert_eq!(
        unbase64(&out[3].data().unwrap()["image/png"]).unwrap(),
        vec![1, 2, 3]
    );
}

#[test]
fn long_tables_elide_the_middle() {
    let t = MetricsTable::new("", (1..=100).map(metrics).collect());
    let h = t.to_html();
    assert!(h.contains("… 85 more epochs …"));
    assert!(h.contains("<td>100</td>") && h.contains("<td>1</td>"));
    assert!(t.to_text().contains("… 85 more epochs …"));
}
