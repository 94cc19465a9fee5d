//! The detectors on synthetic per-epoch series.

use super::*;

fn obs(epoch: u64) -> Observation {
    Observation {
        epoch,
        d_loss: 1.2,
        g_loss: 0.9,
        d_fake: Some(0.3),
        spread: Some(0.9),
        g_norm: Some(10.0),
        d_norm: Some(5.0),
        saturating: false,
    }
}

fn series(n: u64, f: impl Fn(u64, &mut Observation)) -> Vec<Observation> {
    (1..=n)
        .map(|e| {
            let mut o = obs(e);
            f(e, &mut o);
            o
        })
        .collect()
}

fn kinds(s: &[Observation]) -> Vec<Kind> {
    check(s, &[]).into_iter().map(|w| w.kind).collect()
}

#[test]
fn a_healthy_series_raises_nothing() {
    assert!(kinds(&series(30, |_, _| {})).is_empty());
}

#[test]
fn d_winning_needs_three_epochs_below_the_threshold() {
    let s = series(5, |e, o| o.d_fake = Some(if e >= 3 { 0.04 } else { 0.3 }));
    assert_eq!(kinds(&s[..4]), vec![]);
    assert_eq!(kinds(&s), vec![Kind::DWinning]);
    let w = &check(&s, &[])[0];
    assert!(w.message.contains("0.040 → 0.040 → 0.040"), "{}", w.message);
    assert!(!w.message.contains("use loss"), "{}", w.message);
    let s = series(5, |_, o| (o.d_fake, o.saturating) = (Some(0.01), true));
    assert!(check(&s, &[])[0]
        .message
        .contains("use loss: \"non_saturating\""));
    // one epoch back above the threshold resets the count
    let s = series(6, |e, o| o.d_fake = Some(if e == 5 { 0.2 } else { 0.01 }));
    assert_eq!(kinds(&s), vec![]);
    // not under losses whose D(G(z)) means something else
    let s = series(6, |_, o| o.d_fake = None);
    assert_eq!(kinds(&s), vec![]);
}

#[test]
fn collapse_needs_four_epochs_of_low_spread() {
    let s = series(6, |e, o| o.spread = Some(if e >= 3 { 0.5 } else { 0.9 }));
    assert_eq!(kinds(&s[..5]), vec![]);
    assert_eq!(kinds(&s), vec![Kind::ModeCollapse]);
    assert_eq!(
        kinds(&series(6, |_, o| o.spread = Some(limits::SPREAD))),
        vec![]
    );
}

#[test]
fn divergence_is_a_steady_rise_to_three_times() {
    // |g_loss| 2, 4, 8, 16 over epochs 5..8
    let s = series(8, |e, o| {
        o.g_loss = if e >= 5 {
            (2u64 << (e - 5)) as f64
        } else {
            1.0
        }
    });
    assert_eq!(kinds(&s), vec![Kind::Divergence]);
    assert!(check(&s, &[])[0].message.contains("|g_loss|"));
    // a loss rising ×56 towards log 4 (D trained alone first, as toy_1d.rhai does): no
    let s = series(8, |e, o| {
        o.d_loss = [0.013, 0.118, 0.234, 0.73][(e as usize).saturating_sub(5).min(3)]
    });
    assert_eq!(kinds(&s), vec![]);
    // rising but only ×2.7: no
    let s = series(8, |e, o| {
        o.d_norm = Some(if e >= 5 {
            1.4f64.powi(e as i32 - 5)
        } else {
            1.0
        })
    });
    assert_eq!(kinds(&s), vec![]);
    // a dip in the middle: no
    let s = series(8, |e, o| {
        o.g_norm = Some([1.0, 5.0, 4.0, 9.0][(e as usize).saturating_sub(5).min(3)])
    });
    assert_eq!(kinds(&s), vec![]);
    // weights growing from their initial range in the first epochs: no
    let s = series(4, |e, o| o.d_norm = Some(10f64.powi(e as i32)));
    assert_eq!(kinds(&s), vec![]);
}

#[test]
fn a_reported_kind_is_not_reported_again() {
    let s = series(5, |_, o| o.d_fake = Some(0.01));
    assert_eq!(kinds(&s), vec![Kind::DWinning]);
    assert!(check(&s, &[Kind::DWinning]).is_empty());
}
