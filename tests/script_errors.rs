//! Script errors name the problem and the exact script position.

mod common;

use gan::script::ScriptError;

fn error_of(text: &str) -> ScriptError {
    let (mut s, _) = common::session(None, &[], None);
    s.eval_named("recipe.rhai", text)
        .expect_err("the script should fail")
}

#[test]
fn unknown_option_key_names_the_key_at_the_call() {
    let e = error_of("seed(1);\nlet o = sgd(#{ lr: 0.1, momentun: 0.5 });\n");
    assert_eq!((e.line, e.col), (Some(2), Some(9)), "{e}");
    assert!(
        e.message.contains("unknown option `momentun` in sgd()"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("did you mean `momentum`?"),
        "{}",
        e.message
    );
    let r = e.render();
    assert!(r.starts_with("recipe.rhai:2:9: unknown option"), "{r}");
    // the source line and a caret under column 9
    let lines: Vec<&str> = r.lines().collect();
    assert_eq!(lines[1], "   2 | let o = sgd(#{ lr: 0.1, momentun: 0.5 });");
    assert_eq!(lines[2], format!("{}^", " ".repeat(7 + 8)));
}

#[test]
fn wrong_option_type_names_key_and_types() {
    let e = error_of("let a = 1;\n  let o = adam(#{ lr: \"fast\" });");
    assert_eq!((e.line, e.col), (Some(2), Some(11)), "{e}");
    assert!(
        e.message
            .contains("option `lr` of adam() must be a number or a schedule"),
        "{}",
        e.message
    );
    assert!(e.message.contains("got string"), "{}", e.message);
}

#[test]
fn unknown_fit_option_is_refused_before_training() {
    let e = error_of(
        "let g = stack(1).dense(4).relu().dense(1);\nlet d = stack(1).dense(4).relu().dense(1);\nlet m = gan(g, d);\n\
         m.fit(gaussian_1d(0.0, 1.0, 200), #{ epochs: 1, bacth: 10 });",
    );
    assert_eq!((e.line, e.col), (Some(4), Some(3)), "{e}");
    assert!(
        e.message
            .contains("unknown option `bacth` in fit() (did you mean `batch`?)"),
        "{}",
        e.message
    );
}

#[test]
fn shape_mismatch_between_g_and_d_points_at_gs_last_layer() {
    let e = error_of("let g = stack(10).dense(5).relu()\n    .dense(3);\nlet d = stack(2).dense(4).dense(1);\nlet x = gan(g, d);");
    // G's `.dense(3)` fixes its width: line 2, the `dense` after `    .`
    assert_eq!((e.line, e.col), (Some(2), Some(6)), "{e}");
    assert_eq!(
        e.message,
        "G outputs 3 features but D takes 2 inputs (D's stack is declared at 3:9) \
         (found by the call at recipe.rhai:4:9)"
    );
    let r = e.render();
    assert!(
        r.starts_with("recipe.rhai:2:6: G outputs 3 features"),
        "{r}"
    );
    assert_eq!(r.lines().nth(1), Some("   2 |     .dense(3);"), "{r}");
}

#[test]
fn counts_of_one_are_singular() {
    let e = error_of("let g = stack(2).dense(1);\nlet d = stack(3).dense(1);\nlet x = gan(g, d);");
    assert!(
        e.message
            .starts_with("G outputs 1 feature but D takes 3 inputs"),
        "{}",
        e.message
    );
}

#[test]
fn d_with_more_than_one_output_points_at_ds_last_layer() {
    let e = error_of(
        "let g = stack(2).dense(3);\nlet d = stack(3).relu().dense(4);\nlet x = gan(g, d);",
    );
    assert_eq!((e.line, e.col), (Some(2), Some(25)), "{e}");
    assert!(
        e.message
            .contains("D must output 1 logit per example, but its stack outputs 4"),
        "{}",
        e.message
    );
    assert!(e
        .message
        .ends_with("(found by the call at recipe.rhai:3:9)"));
}

#[test]
fn a_bad_layer_points_at_its_own_declaration() {
    // Too big to allocate: refused when built, pointing back at the layer that asked for it.
    let e = error_of("let g = stack(2).dense(3);\nlet d = stack(3)\n    .dense(100000)\n    .dense(100000).dense(1);\nlet x = gan(g, d);");
    assert_eq!((e.line, e.col), (Some(4), Some(6)), "{e}");
    assert!(
        e.message
            .starts_with("discriminator: layer 2 `dense(100000)`"),
        "{}",
        e.message
    );
    assert!(e.message.contains("refusing to allocate"), "{}", e.message);
    assert!(
        e.message
            .ends_with("(found by the call at recipe.rhai:5:9)"),
        "{}",
        e.message
    );
}

#[test]
fn a_generator_layer_at_fault_is_pointed_at_too() {
    // layer 2 passes the parameter cap (40 000 × 40 000), which only the whole stack can know
    let e = error_of(
        "let g = stack(2).dense(40000)\n  .dense(40000);\nlet d = stack(40000).dense(1);\nlet x = gan(g, d);",
    );
    assert!(
        e.message.starts_with("generator: layer 2 `dense(4"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("more than 1073741824 parameters"),
        "{}",
        e.message
    );
    assert_eq!((e.line, e.col), (Some(2), Some(4)), "{e}");
}

#[test]
fn shape_errors_point_into_the_cell_that_declared_the_layer() {
    let (mut s, _) = common::session(None, &[], None);
    let _ = s.eval("let g = stack(4)\n  .dense(3);").expect("cell 1");
    let _ = s.eval("let d = stack(2).dense(1);").expect("cell 2");
    let e = s.eval("1 + 1;\nlet x = gan(g, d);").unwrap_err();
    assert_eq!(e.source_name, "cell[1]", "{e}");
    assert_eq!((e.line, e.col), (Some(2), Some(4)), "{e}");
    assert_eq!(e.source_line.as_deref(), Some("  .dense(3);"));
    assert_eq!(
        e.message,
        "G outputs 3 features but D takes 2 inputs (D's stack is declared at cell[2]:1:9) \
         (found by the call at cell[3]:2:9)"
    );
}

#[test]
fn an_undefined_variable_is_not_called_a_syntax_error() {
    let e = error_of("let a = 1;\nlet b = a + x;");
    assert_eq!((e.line, e.col), (Some(2), Some(13)), "{e}");
    assert_eq!(e.message, "undefined variable `x`");
}

#[test]
fn invalid_layer_arguments_fail_at_the_layer_call() {
    let e = error_of("let g = stack(2)\n  .dense(0);");
    assert_eq!((e.line, e.col), (Some(2), Some(4)), "{e}");
    assert!(
        e.message
            .contains("dense units must be a positive integer, got 0"),
        "{}",
        e.message
    );
    let e = error_of("let d = stack(2).dropout(1.5);");
    assert_eq!((e.line, e.col), (Some(1), Some(18)));
    assert!(e.message.contains("keep probability"), "{}", e.message);
}

#[test]
fn vanilla_is_refused_as_ambiguous() {
    let e = error_of("let g = stack(2).dense(1);\nlet d = stack(1).dense(1);\nlet x = gan(g, d, #{ loss: \"vanilla\" });");
    assert!(
        e.message.contains("\"vanilla\" is ambiguous"),
        "{}",
        e.message
    );
    assert!(e.message.contains("\"saturating\"") && e.message.contains("\"non_saturating\""));
}

#[test]
fn syntax_errors_have_positions() {
    let e = error_of("let x = 1;\nlet y = (2 + ;\n");
    assert_eq!(e.line, Some(2));
    assert!(e.message.starts_with("syntax error"), "{}", e.message);
}

#[test]
fn set_values_must_parse_as_the_default_type() {
    let (mut s, _) = common::session(None, &[("epochs", "ten")], None);
    let e = s
        .eval_named("r.rhai", "let e = param(\"epochs\", 5);")
        .unwrap_err();
    assert!(e.message.contains("--set epochs=ten"), "{}", e.message);
    assert!(e.message.contains("must be an integer"), "{}", e.message);
    let (mut s, _) = common::session(None, &[("epochs", "7")], None);
    assert_eq!(s.eval("param(\"epochs\", 5)").unwrap().as_int().unwrap(), 7);
}

#[test]
fn batch_larger_than_the_data_is_refused() {
    let e = error_of(
        "let g = stack(1).dense(4).relu().dense(1);\nlet d = stack(1).dense(4).relu().dense(1);\nlet m = gan(g, d);\n\
         m.fit(gaussian_1d(0.0, 1.0, 50), #{ epochs: 1, batch: 100 });",
    );
    assert_eq!(e.line, Some(4));
    assert!(
        e.message.contains("needs 100 examples") && e.message.contains("only 50"),
        "{}",
        e.message
    );
}

/// Options read as typed structs (src/script/option_struct.rs) keep the key, the type wanted,
/// the value given and the call's exact position.
#[test]
fn typed_option_errors_name_the_key_and_point_at_the_call() {
    let game =
        "let g = stack(1).dense(4).relu().dense(1);\nlet d = stack(1).dense(4).relu().dense(1);\n";
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "let m = gan(g, d);\nm.fit(gaussian_1d(0.0, 1.0, 200), #{ batch: 0 });",
            (4, 3),
            "option `batch` of fit() must be ≥ 1, got 0",
        ),
        (
            "let m = gan(g, d);\nm.fit(gaussian_1d(0.0, 1.0, 200), #{ epochs: \"2\" });",
            (4, 3),
            "option `epochs` of fit() must be an integer, got string `2`",
        ),
        (
            "let m = gan(g, d);\n  m.fit(gaussian_1d(0.0, 1.0, 200), #{ opt: 0.1 });",
            (4, 5),
            "option `opt` of fit() must be an optimizer (sgd(…) or adam(…)), got number `0.1`",
        ),
        (
            "let m = gan(g, d);\nm.fit(gaussian_1d(0.0, 1.0, 200), #{ on_epoch: 3 });",
            (4, 3),
            "option `on_epoch` of fit() must be a function, e.g. |epoch, metrics| { … }, got integer `3`",
        ),
        (
            "let m = gan(g, d, #{ name: 5 });",
            (3, 9),
            "option `name` of gan() must be a string, got integer `5`",
        ),
        (
            "let m = gan(g, d, #{ k: 0 });",
            (3, 9),
            "option `k` of gan() must be ≥ 1, got 0",
        ),
        (
            "let m = gan(g, d, #{ scheem: \"alternating\" });",
            (3, 9),
            "unknown option `scheem` in gan() (did you mean `scheme`?); it accepts: \
             loss, scheme, k, noise, noise_scale, init_bias_from_marginals, name",
        ),
        (
            "let o = sgd(#{ nesterov: 1 });",
            (3, 9),
            "option `nesterov` of sgd() must be true or false, got integer `1`",
        ),
        (
            "let o = adam(#{ beta1: \"x\" });",
            (3, 9),
            "option `beta1` of adam() must be a number, got string `x`",
        ),
        (
            "let r = ring(8, #{ radios: 1.0 });",
            (3, 9),
            "unknown option `radios` in ring() (did you mean `radius`?); it accepts: radius, std, n",
        ),
        (
            "let r = grid(25, #{ n: 2.5 });",
            (3, 9),
            "option `n` of grid() must be an integer, got number `2.5`",
        ),
        (
            "let x = mnist(\"train\", #{ rnage: \"signed\" });",
            (3, 9),
            "unknown option `rnage` in mnist() (did you mean `range`?); it accepts: range",
        ),
    ];
    for (tail, at, want) in cases {
        let e = error_of(&format!("{game}{tail}"));
        assert_eq!(e.message, *want, "{tail}");
        assert_eq!((e.line, e.col), (Some(at.0), Some(at.1)), "{tail}: {e}");
    }
}

/// The layers' and the data transforms' typed options.
#[test]
fn typed_layer_and_data_option_errors_point_at_the_call() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "let d = stack([1, 28, 28])\n    .conv(8, 4, #{ strid: 2 });",
            (2, 6),
            "unknown option `strid` in conv() (did you mean `stride`?); it accepts: stride, padding, bias, irange, untied_bias",
        ),
        (
            "let d = stack([1, 28, 28]).conv(8, 4, #{ stride: 0 });",
            (1, 28),
            "option `stride` of conv() must be ≥ 1, got 0",
        ),
        (
            "let d = stack([1, 28, 28]).conv(8, 4, #{ padding: 2000000 });",
            (1, 28),
            "option `padding` of conv() must be at most 1048576, got 2000000",
        ),
        (
            "let d = stack([8, 7, 7]).conv_transpose(4, 4, #{ output_padding: true });",
            (1, 26),
            "option `output_padding` of conv_transpose() must be an integer, got bool `true`",
        ),
        (
            "let d = stack([1, 28, 28]).conv(8, 4, #{ output_padding: 1 });",
            (1, 28),
            "unknown option `output_padding` in conv(); it accepts: stride, padding, bias, irange, untied_bias",
        ),
        (
            "let d = stack([1, 8, 8]).max_pool(2, 2, #{ cell: true });",
            (1, 26),
            "unknown option `cell` in max_pool() (did you mean `ceil`?); it accepts: ceil",
        ),
        (
            "let d = stack([1, 8, 8]).conv(2, 3, #{ irange: \"wide\" });",
            (1, 26),
            "option `irange` of conv() must be a number, got string `wide`",
        ),
        (
            "let d = stack([1, 4, 4]).batch_norm(#{ eps: \"small\" });",
            (1, 26),
            "option `eps` of batch_norm() must be a number, got string `small`",
        ),
        (
            "let r = ring(8);\nlet g = r.gcn(#{ scale: 1, use_sd: true });",
            (2, 11),
            "unknown option `use_sd` in gcn() (did you mean `use_std`?); it accepts: \
             scale, subtract_mean, use_std, sqrt_bias, min_divisor",
        ),
    ];
    for (text, at, want) in cases {
        let e = error_of(text);
        assert_eq!(e.message, *want, "{text}");
        assert_eq!((e.line, e.col), (Some(at.0), Some(at.1)), "{text}: {e}");
    }
}

/// The paper's study, theory, figure, metric and plot functions read their options as typed
/// structs too: an unknown key gets its hint, a wrong value its type, both at the call.
#[test]
fn study_figure_and_plot_option_errors_point_at_the_call() {
    let game = "let g = stack(1).dense(4).relu().dense(1);\n\
                let d = stack(1).dense(4).relu().dense(1);\nlet m = gan(g, d);\n";
    let data = "gaussian_1d(0.0, 1.0, 200)";
    let cases: &[(String, (usize, usize), &str)] = &[
        (
            "m.g_grad_norm(#{ los: \"saturating\" });".into(),
            (4, 3),
            "unknown option `los` in g_grad_norm() (did you mean `loss`?); it accepts: n, loss, z",
        ),
        (
            format!("m.train_steps({data}, #{{ probe_every: -1 }});"),
            (4, 3),
            "option `probe_every` of train_steps() must be ≥ 0, got -1",
        ),
        (
            format!("  m.train_d({data}, #{{ opt: 0.1 }});"),
            (4, 5),
            "option `opt` of train_d() must be an optimizer (sgd(…) or adam(…)), got number `0.1`",
        ),
        (
            "density_ratio_check(m, 0.0, 1.0, #{ points: \"many\" });".into(),
            (4, 1),
            "option `points` of density_ratio_check() must be an integer, got string `many`",
        ),
        (
            "m.pg_density([0.0], #{ z_points: 1 });".into(),
            (4, 3),
            "option `z_points` of pg_density() must be ≥ 2, got 1",
        ),
        (
            "parzen(m, #{ sigma: \"wide\" });".into(),
            (4, 1),
            "option `sigma` of parzen() must be a number, got string `wide`",
        ),
        (
            "classifier_metrics(m.sample(4), #{ data: 3 });".into(),
            (4, 1),
            "option `data` of classifier_metrics() must be a string, got integer `3`",
        ),
        (
            "figure3(m, #{ scale: 17 });".into(),
            (4, 1),
            "option `scale` of figure3() must be at most 16, got 17",
        ),
        (
            "figure1([1], #{ hieght: 300 });".into(),
            (4, 1),
            "unknown option `hieght` in figure1() (did you mean `height`?); it accepts: file, width, height",
        ),
        (
            "plot_lines(\"p.png\", [#{ series: [#{ ys: [1.0], nmae: \"a\" }] }]);".into(),
            (4, 1),
            "unknown option `nmae` in a plot_lines() series (did you mean `name`?); it accepts: name, ys, xs",
        ),
        (
            "plot_lines(\"p.png\", [#{ series: [] }], #{ width: \"wide\" });".into(),
            (4, 1),
            "option `width` of plot_lines() must be an integer, got string `wide`",
        ),
    ];
    for (tail, at, want) in cases {
        let e = error_of(&format!("{game}{tail}"));
        assert_eq!(e.message, *want, "{tail}");
        assert_eq!((e.line, e.col), (Some(at.0), Some(at.1)), "{tail}: {e}");
    }
}
