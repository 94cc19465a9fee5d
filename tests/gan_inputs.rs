//! A library user's inputs to `Gan` that are not whole rows get an error naming the method, the
//! expected row width and the size given, from the `try_` methods; the plain names panic with the
//! same message. Whole rows work on both engine paths.

use gan::engine::{EnginePath, Gan, GanSpec, InputError, LayerSpec, Noise, StackSpec};

fn small() -> Gan {
    let spec = GanSpec {
        g: StackSpec {
            input: 3,
            layers: vec![
                LayerSpec::Dense {
                    units: 4,
                    irange: Some(0.5),
                },
                LayerSpec::Sigmoid,
            ],
        },
        d: StackSpec {
            input: 4,
            layers: vec![LayerSpec::Dense {
                units: 1,
                irange: Some(0.5),
            }],
        },
        noise: Noise::Gaussian { dim: 3, std: 1.0 },
        ..GanSpec::paper_mnist()
    };
    Gan::try_new(spec, 1).unwrap()
}

#[test]
fn wrong_sized_inputs_are_errors_naming_both_sizes() {
    let mut gan = small();
    let e = gan.try_generate(&[0.0; 7]).unwrap_err();
    assert_eq!(
        e,
        InputError {
            method: "generate",
            what: "noise",
            width: 3,
            got: 7
        }
    );
    assert_eq!(
        e.to_string(),
        "generate: noise must be whole rows of 3 values (a multiple of 3), got 7 values"
    );
    assert_eq!(
        gan.try_d_logits(&[0.0; 5]).unwrap_err().to_string(),
        "d_logits: data must be whole rows of 4 values (a multiple of 4), got 5 values"
    );
    assert_eq!(
        gan.try_discriminate(&[0.0; 6]).unwrap_err().to_string(),
        "discriminate: data must be whole rows of 4 values (a multiple of 4), got 6 values"
    );
    let bias_before = gan.g.export();
    assert_eq!(
        gan.try_init_g_bias_from_marginals(&[0.5; 9])
            .unwrap_err()
            .to_string(),
        "init_g_bias_from_marginals: data must be whole rows of 4 values (a multiple of 4), got 9 values"
    );
    assert_eq!(
        gan.g.export(),
        bias_before,
        "a refused call changes nothing"
    );
    assert!(!gan.marginals_applied);
}

#[test]
fn plain_names_panic_with_the_same_message() {
    let gan = small();
    let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| gan.generate(&[0.0; 4])))
        .unwrap_err();
    let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(
        msg,
        "generate: noise must be whole rows of 3 values (a multiple of 3), got 4 values"
    );
}

#[test]
fn whole_rows_work_on_both_paths_and_agree() {
    let mut gan = small();
    let z = [0.1, -0.4, 0.9, 1.2, 0.0, -0.3];
    let fast = gan.try_generate(&z).unwrap();
    assert_eq!(fast.len(), 2 * 4);
    let p_fast = gan.try_discriminate(&fast).unwrap();
    gan.path = EnginePath::Reference;
    let reference = gan.try_generate(&z).unwrap();
    let p_ref = gan.try_discriminate(&reference).unwrap();
    for (a, b) in fast.iter().zip(&reference).chain(p_fast.iter().zip(&p_ref)) {
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
    // no rows is a valid (empty) batch, on either path
    assert_eq!(gan.try_d_logits(&[]).unwrap(), Vec::<f32>::new());
    assert_eq!(gan.try_generate(&[]).unwrap(), Vec::<f32>::new());
    gan.try_init_g_bias_from_marginals(&[0.5; 8]).unwrap();
    assert!(gan.marginals_applied);
}
