//! Pins a short run of the paper's MNIST GAN (scripts/mnist_paper.rhai: same stacks, init, noise,
//! simultaneous scheme, SGD schedules, batch 100) to metrics recorded before any performance
//! work on the engine. Every optimisation of the training step must reproduce them.
//!
//! The values were recorded with the dfdx-autograd step (the engine as of the commit "Checkpoints,
//! final weights, …"), which stays in the engine as its reference path; both it and the fast path
//! (src/engine/fast) must reproduce them. The tolerance is tight: it allows only last-bit
//! differences of f32 sums (the fast path's GEMMs sum in another order than dfdx's), not a
//! different computation: metrics to 2e-6 relative (measured: 2.6e-7, a few f32 ulps), and how far
//! each parameter moved to 1e-4 relative (measured: 3.7e-5, for G's weights, whose 20-step moves
//! of ~1e-7 are a few ulps of the weights themselves). Any change that needs a looser tolerance
//! must say so and explain why; it must not simply re-pin.
//!
//! Needs MNIST in `GAN_DATA_DIR` (default `../shared/data/mnist`).

mod common;

use gan::data::{load_mnist, MnistSplit};
use gan::engine::network::NamedValues;
use gan::engine::{
    Control, EnginePath, FitObserver, FitSpec, Gan, GanSpec, OptimizerSpec, StepMetrics, Trainer,
    UpdateScheme,
};

struct Steps(Vec<StepMetrics>);
impl FitObserver for Steps {
    fn on_step(&mut self, _: &Gan, m: &StepMetrics, _: u64, _: u64) -> Control {
        self.0.push(*m);
        Control::Continue
    }
}

/// What a short run pins: (d_loss, g_loss, d_real, d_fake) of each step, then for every parameter
/// of G and D how far training moved it from its initial value (Σ|Δ|, √ΣΔ²), which the metrics
/// (D's outputs are all ≈ ½ this early) show only faintly.
type Run = (Vec<[f64; 4]>, Vec<[f64; 2]>);

fn moved(before: &[NamedValues], after: &[NamedValues]) -> Vec<[f64; 2]> {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| {
            assert_eq!(a.name, b.name);
            let (mut l1, mut l2) = (0f64, 0f64);
            for (&x, &y) in a.values.iter().zip(&b.values) {
                let d = x as f64 - y as f64;
                l1 += d.abs();
                l2 += d * d;
            }
            [l1, l2.sqrt()]
        })
        .collect()
}

fn short_run(scheme: UpdateScheme, path: EnginePath) -> Run {
    let data = load_mnist(&common::mnist_dir(), MnistSplit::Train)
        .expect("MNIST is needed: set GAN_DATA_DIR or run `gan data fetch mnist`");
    let mut spec = GanSpec::paper_mnist();
    spec.scheme = scheme;
    let mut gan = Gan::try_new(spec, 1234).unwrap();
    gan.path = path;
    // G's output bias is set from the data marginals on the first fit: start from there.
    gan.init_g_bias_from_marginals(&data.x);
    let (g0, d0) = (gan.g.export(), gan.d.export());
    let fit = FitSpec {
        epochs: 2,
        batch: 100,
        d_opt: OptimizerSpec::paper_sgd(),
        g_opt: OptimizerSpec::paper_sgd(),
        steps_per_epoch: Some(10),
    };
    let mut obs = Steps(Vec::new());
    Trainer::fit(&mut gan, &data.x, data.dim, &fit, &mut obs).unwrap();
    let steps = obs
        .0
        .iter()
        .map(|m| [m.d_loss, m.g_loss, m.d_real, m.d_fake])
        .collect();
    let mut params = moved(&g0, &gan.g.export());
    params.extend(moved(&d0, &gan.d.export()));
    (steps, params)
}

fn check(name: &str, got: Run, want: (&[[f64; 4]], &[[f64; 2]])) {
    if std::env::var_os("GAN_PRINT_PINNED").is_some() {
        println!(
            "{name}: steps {:?}
{name}: params {:?}",
            got.0, got.1
        );
    }
    // f32 training: relative 2e-6 is a few ulps of the f32 values the metrics are means of.
    let close = |a: f64, b: f64, rel: f64| (a - b).abs() <= rel * b.abs().max(1e-3);
    assert_eq!(got.0.len(), want.0.len(), "{name}: step count");
    for (i, (g, w)) in got.0.iter().zip(want.0).enumerate() {
        for (k, field) in ["d_loss", "g_loss", "d_real", "d_fake"].iter().enumerate() {
            assert!(
                close(g[k], w[k], 2e-6),
                "{name} step {i} {field}: {} vs pinned {}",
                g[k],
                w[k]
            );
        }
    }
    assert_eq!(got.1.len(), want.1.len(), "{name}: parameter count");
    for (i, (g, w)) in got.1.iter().zip(want.1).enumerate() {
        for (k, what) in ["sum |Δ|", "|Δ|₂"].iter().enumerate() {
            assert!(
                close(g[k], w[k], 1e-4),
                "{name} parameter {i} {what}: {} vs pinned {}",
                g[k],
                w[k]
            );
        }
    }
}

const SIMULTANEOUS: [[f64; 4]; 20] = [
    [
        0.6931707859039307,
        0.6932146549224854,
        0.4999425891755143,
        0.49996624191158895,
    ],
    [
        0.6931612491607666,
        0.6932117342948914,
        0.4999536551779268,
        0.4999677246042772,
    ],
    [
        0.6931543350219727,
        0.6932032704353333,
        0.49996495261282514,
        0.49997194267830375,
    ],
    [
        0.6931480765342712,
        0.693196713924408,
        0.4999741840307577,
        0.4999751228870151,
    ],
    [
        0.6931620836257935,
        0.6931736469268799,
        0.49997167881393884,
        0.4999865847522576,
    ],
    [
        0.6931489706039429,
        0.6931564807891846,
        0.4999934614284497,
        0.4999952937014097,
    ],
    [
        0.6931371688842773,
        0.6931493282318115,
        0.500008997875462,
        0.49999900599714586,
    ],
    [
        0.6931467056274414,
        0.6931321024894714,
        0.5000079478368965,
        0.5000074813702556,
    ],
    [
        0.6931422352790833,
        0.6931242942810059,
        0.5000164954979672,
        0.5000114790042153,
    ],
    [
        0.6931366324424744,
        0.6931127905845642,
        0.5000276896630589,
        0.5000171906393197,
    ],
    [
        0.6931295394897461,
        0.6931027770042419,
        0.5000399160602753,
        0.5000221700534341,
    ],
    [
        0.693128228187561,
        0.69309002161026,
        0.5000474695478032,
        0.5000286274774929,
    ],
    [
        0.6931233406066895,
        0.6930830478668213,
        0.5000560766686475,
        0.5000321147957189,
    ],
    [
        0.6931165456771851,
        0.6930814385414124,
        0.5000634355818736,
        0.5000328157805233,
    ],
    [
        0.6931171417236328,
        0.6930798292160034,
        0.500063770983763,
        0.5000337436034882,
    ],
    [
        0.6931164264678955,
        0.6930599808692932,
        0.5000744059959902,
        0.5000436309939633,
    ],
    [
        0.6931195259094238,
        0.6930537223815918,
        0.5000743000925543,
        0.500046707709643,
    ],
    [
        0.693102240562439,
        0.6930564045906067,
        0.5000902668295539,
        0.5000453149279075,
    ],
    [
        0.6931096911430359,
        0.6930445432662964,
        0.5000888134056035,
        0.50005128269506,
    ],
    [
        0.6930919885635376,
        0.6930475234985352,
        0.5001049775465174,
        0.500049761057247,
    ],
];
const SIMULTANEOUS_PARAMS: [[f64; 2]; 12] = [
    [0.00336408851029546, 1.225499054733977e-05],
    [0.00017556642759108954, 6.365144019478434e-06],
    [0.04262220024406105, 5.074520976498306e-05],
    [0.00031003526630246636, 1.2503158133543105e-05],
    [0.030922335403334184, 8.06481383552064e-05],
    [0.00027355365455150604, 2.2551859012359784e-05],
    [1.0708468352834646, 0.002895080387316004],
    [0.009418729281509997, 0.00045776059424318204],
    [1.7780475383810384, 0.005291824831532569],
    [0.11044780686954425, 0.005249059740090655],
    [0.21385608502532705, 0.014395913183678149],
    [7.072719745337963e-05, 7.072719745337963e-05],
];

#[test]
fn paper_mnist_simultaneous_run_matches_pinned_metrics_on_the_reference_path() {
    let got = short_run(UpdateScheme::Simultaneous, EnginePath::Reference);
    check(
        "simultaneous, reference",
        got,
        (&SIMULTANEOUS, &SIMULTANEOUS_PARAMS),
    );
}

#[test]
fn paper_mnist_simultaneous_run_matches_pinned_metrics_on_the_fast_path() {
    let got = short_run(UpdateScheme::Simultaneous, EnginePath::Fast);
    check(
        "simultaneous, fast",
        got,
        (&SIMULTANEOUS, &SIMULTANEOUS_PARAMS),
    );
}

const ALTERNATING: [[f64; 4]; 20] = [
    [
        0.6931707859039307,
        0.6932138800621033,
        0.4999425891755143,
        0.49996624191158895,
    ],
    [
        0.6931612491607666,
        0.6931964159011841,
        0.4999536551779268,
        0.49996772460076655,
    ],
    [
        0.6931543350219727,
        0.6931781768798828,
        0.49996495261279783,
        0.49997194267506373,
    ],
    [
        0.6931480765342712,
        0.6931744813919067,
        0.4999741840306167,
        0.49997512287693796,
    ],
    [
        0.6931620836257935,
        0.6931619644165039,
        0.49997167881272925,
        0.49998658474201213,
    ],
    [
        0.6931489706039429,
        0.6931494474411011,
        0.49999346142538464,
        0.4999952936836109,
    ],
    [
        0.6931371688842773,
        0.6931398510932922,
        0.5000089978672994,
        0.4999990059834489,
    ],
    [
        0.6931467056274414,
        0.6931322813034058,
        0.5000079478211259,
        0.5000074813535256,
    ],
    [
        0.6931422352790833,
        0.6931250095367432,
        0.500016495473702,
        0.5000114789850568,
    ],
    [
        0.6931366324424744,
        0.6931040287017822,
        0.5000276896288346,
        0.5000171906111618,
    ],
    [
        0.6931295394897461,
        0.6930965185165405,
        0.5000399160169493,
        0.5000221700341777,
    ],
    [
        0.693128228187561,
        0.6930879354476929,
        0.5000474694960712,
        0.5000286274443758,
    ],
    [
        0.6931233406066895,
        0.6930792927742004,
        0.50005607660348,
        0.5000321147646346,
    ],
    [
        0.6931165456771851,
        0.693066418170929,
        0.5000634355031114,
        0.5000328157407987,
    ],
    [
        0.6931171417236328,
        0.693072497844696,
        0.5000637708911505,
        0.5000337435653677,
    ],
    [
        0.6931164264678955,
        0.6930609941482544,
        0.5000744058846703,
        0.5000436309584919,
    ],
    [
        0.6931195259094238,
        0.693055272102356,
        0.5000742999641699,
        0.5000467076715374,
    ],
    [
        0.693102240562439,
        0.6930528283119202,
        0.5000902666783368,
        0.5000453148789631,
    ],
    [
        0.6931096911430359,
        0.6930537223815918,
        0.5000888132354507,
        0.500051282648603,
    ],
    [
        0.6930919885635376,
        0.6930369138717651,
        0.5001049773530133,
        0.5000497609914086,
    ],
];
const ALTERNATING_PARAMS: [[f64; 2]; 12] = [
    [0.0034009711290821087, 1.2399567500399966e-05],
    [0.00017856679440797496, 6.4594132800258915e-06],
    [0.043169223813599444, 5.1497179731657805e-05],
    [0.00031469837645992094, 1.2703623951628295e-05],
    [0.03120840154222415, 8.08761826343953e-05],
    [0.0002781772054731846, 2.2683460323855713e-05],
    [1.0708471955378667, 0.0028950823583996747],
    [0.009418729239198953, 0.00045776060042727743],
    [1.7780462070449996, 0.005291821168396774],
    [0.11044780840857982, 0.0052490598316018355],
    [0.21385585396637907, 0.014395898058859453],
    [7.072719745337963e-05, 7.072719745337963e-05],
];

#[test]
fn paper_mnist_alternating_run_matches_pinned_metrics_on_the_reference_path() {
    let got = short_run(UpdateScheme::Alternating { k: 1 }, EnginePath::Reference);
    check(
        "alternating, reference",
        got,
        (&ALTERNATING, &ALTERNATING_PARAMS),
    );
}

#[test]
fn paper_mnist_alternating_run_matches_pinned_metrics_on_the_fast_path() {
    let got = short_run(UpdateScheme::Alternating { k: 1 }, EnginePath::Fast);
    check(
        "alternating, fast",
        got,
        (&ALTERNATING, &ALTERNATING_PARAMS),
    );
}
