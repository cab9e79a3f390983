//! PromQL conformance: runs Prometheus's promqltest scripts (read unchanged from
//! `shared/conformance/prometheus/promql/promqltest/testdata/`) against `promql::Engine` over
//! the real store (`tsdb::Db`), with the upstream runner's extra checks (the `@` variants and
//! the range-mode re-run of every instant eval). See the "The promqltest script format"
//! section of `shared/conformance/prometheus/README.md`.
//!
//! ```text
//! cargo test -p promql --test conformance -- --nocapture
//! ```
//!
//! Environment knobs:
//! * `CONFORMANCE_FILTER=<substring>`: run only files whose name contains it (the baseline is
//!   then checked for those files only).
//! * `CONFORMANCE_SHOW=<n>`: failures shown in detail per file (default 5).
//! * `CONFORMANCE_MAX_SAMPLES=<n>`: the engine's `max_samples` (default: the engine default,
//!   50 M; upstream's runner uses 10 000).
//!
//! The test fails if a non-skipped eval of a required file fails, if a required file has a
//! script error, or if a file passes fewer evals than its floor in [`BASELINE`].

mod conformance {
    pub mod compare;
    pub mod load;
    pub mod rewrite;
    pub mod runner;
    pub mod script;
}

use std::path::PathBuf;
use std::time::{Duration, Instant};

use conformance::runner::{self, FileSpec, Tier};

use Tier::{Experimental, Optional, Required};

/// Every script, its tier, and the least number of evals it must pass (raise the number as the
/// engine improves: one line per file).
const BASELINE: &[(&str, Tier, usize)] = &[
    ("aggregators.test", Required, 125),
    ("collision.test", Required, 2),
    ("duration_expression.test", Experimental, 8),
    ("extended_vectors.test", Experimental, 38),
    ("fill-modifier.test", Experimental, 46),
    ("functions.test", Required, 322),
    ("histograms.test", Required, 91),
    ("info.test", Experimental, 1),
    ("limit.test", Experimental, 0),
    ("literals.test", Required, 25),
    ("name_label_dropping.test", Required, 30),
    ("native_histograms.test", Optional, 3),
    ("operators.test", Required, 142),
    ("range_queries.test", Required, 16),
    ("selectors.test", Required, 31),
    ("staleness.test", Required, 17),
    ("start_timestamps.test", Optional, 0),
    ("trig_functions.test", Required, 19),
    ("type_and_unit.test", Optional, 58),
];

/// The scripts' folder, relative to this crate.
fn testdata_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/prometheus/promql/promqltest/testdata");
    assert!(
        dir.is_dir(),
        "the PromQL conformance scripts are missing: expected the folder {} (the promqltest \
         testdata of shared/conformance/prometheus); the conformance test cannot run without it",
        dir.display()
    );
    dir.canonicalize().unwrap_or(dir)
}

/// The `*.test` files of the folder, sorted.
fn script_files() -> Vec<String> {
    let dir = testdata_dir();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.test scripts in {}", dir.display());
    files
}

fn env_usize(name: &str) -> Option<usize> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
    )
}

#[test]
fn promql_conformance() {
    let dir = testdata_dir();
    let files = script_files();
    let filter = std::env::var("CONFORMANCE_FILTER")
        .ok()
        .filter(|f| !f.is_empty());
    let show = env_usize("CONFORMANCE_SHOW").unwrap_or(5);
    let mut opts = promql::EngineOptions {
        timeout: Duration::from_secs(100),
        ..Default::default()
    };
    if let Some(n) = env_usize("CONFORMANCE_MAX_SAMPLES") {
        opts.max_samples = n;
    }
    println!(
        "PromQL conformance: {} scripts in {}\nengine options: {opts:?}\n",
        files.len(),
        dir.display()
    );
    let engine = promql::Engine::new(opts);

    let mut fatal: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for (name, _, _) in BASELINE {
        if !files.iter().any(|f| f == name) {
            fatal.push(format!(
                "{name}: listed in BASELINE but missing from {}",
                dir.display()
            ));
        }
    }
    if let Some(r) = conformance::load::chunk_range_override() {
        println!("store: head chunk range overridden to {r} ms (CONFORMANCE_CHUNK_RANGE_MS)\n");
    }
    let (mut passed, mut failed, mut skipped, mut text_mismatches) = (0, 0, 0, 0);
    let mut refusals = 0;
    let mut queries = [0; 3];
    let (mut req_passed, mut req_failed) = (0, 0);
    for name in &files {
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let (tier, floor) = match BASELINE.iter().find(|(n, ..)| n == name) {
            Some((_, t, f)) => (*t, *f),
            None => {
                notes.push(format!(
                    "{name}: not in BASELINE (run as optional; add a line for it)"
                ));
                (Optional, 0)
            }
        };
        let started = Instant::now();
        let rep = runner::run_file(&dir.join(name), &FileSpec { name, tier }, &engine);
        print!("{}", runner::print_report(&rep, tier, show));
        println!("    ({:.1}s)", started.elapsed().as_secs_f64());
        passed += rep.passed;
        failed += rep.failed;
        skipped += rep.skipped;
        text_mismatches += rep.text_mismatches;
        refusals += rep.refusals.len();
        for (q, n) in queries.iter_mut().zip(rep.queries) {
            *q += n;
        }
        if !rep.refusals.is_empty() {
            notes.push(format!(
                "{name}: the store refused or altered samples of {} series line(s) (see STORE lines); \
                 evals over them may fail for that reason",
                rep.refusals.len()
            ));
        }
        if tier == Required {
            req_passed += rep.passed;
            req_failed += rep.failed;
            if rep.failed > 0 {
                fatal.push(format!(
                    "{name}: {} eval(s) failed in a required file",
                    rep.failed
                ));
            }
            if !rep.script_errors.is_empty() {
                fatal.push(format!(
                    "{name}: {} script error(s) in a required file",
                    rep.script_errors.len()
                ));
            }
        }
        if rep.passed < floor {
            fatal.push(format!(
                "{name}: {} passed, below the baseline floor of {floor}",
                rep.passed
            ));
        } else if rep.passed > floor {
            notes.push(format!(
                "{name}: {} passed, above the baseline floor of {floor} (raise it)",
                rep.passed
            ));
        }
    }
    println!(
        "\nTOTAL: passed {passed}  failed {failed}  skipped {skipped}  (required files: passed \
         {req_passed}, failed {req_failed}; advisory text mismatches: {text_mismatches}; store \
         refusals: {refusals})"
    );
    println!(
        "queries run: {} as written, {} @-pinned variants, {} range-mode re-runs",
        queries[0], queries[1], queries[2]
    );
    for n in &notes {
        println!("note: {n}");
    }
    if !fatal.is_empty() {
        panic!("PromQL conformance failed:\n  {}", fatal.join("\n  "));
    }
}

/// Every line of every script parses, and the eval counts are those the README's table gives
/// for the unchanged files (evals, instant, range, expect fail, `{{` in expected, NH evals).
#[test]
fn scripts_parse_and_match_the_readme_counts() {
    use conformance::load::Names;
    use conformance::script::{Command, parse_script};

    // file, evals, instant, range, expect fail, `{{` in expected, NH evals
    const TABLE: &[(&str, usize, usize, usize, usize, usize, usize)] = &[
        ("aggregators.test", 160, 153, 7, 4, 0, 31),
        ("collision.test", 2, 2, 0, 1, 0, 0),
        ("duration_expression.test", 59, 30, 29, 0, 0, 0),
        ("extended_vectors.test", 169, 162, 7, 8, 0, 49),
        ("fill-modifier.test", 46, 39, 7, 0, 0, 0),
        ("functions.test", 431, 394, 37, 7, 18, 102),
        ("histograms.test", 185, 185, 0, 6, 7, 94),
        ("info.test", 53, 4, 49, 2, 0, 1),
        ("limit.test", 37, 13, 24, 0, 6, 37),
        ("literals.test", 25, 25, 0, 0, 0, 0),
        ("name_label_dropping.test", 30, 29, 1, 1, 0, 0),
        ("native_histograms.test", 522, 502, 20, 0, 208, 518),
        ("operators.test", 214, 113, 101, 6, 5, 71),
        ("range_queries.test", 18, 5, 13, 0, 1, 2),
        ("selectors.test", 31, 31, 0, 0, 0, 0),
        ("staleness.test", 17, 17, 0, 0, 0, 0),
        ("start_timestamps.test", 26, 7, 19, 0, 7, 10),
        ("trig_functions.test", 19, 19, 0, 0, 0, 0),
        ("type_and_unit.test", 58, 58, 0, 0, 0, 0),
    ];
    let dir = testdata_dir();
    let mut problems = Vec::new();
    for name in script_files() {
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        let s = parse_script(&text);
        for e in &s.errors {
            problems.push(format!("{name}:{}: {}", e.line, e.msg));
        }
        let (mut evals, mut instant, mut range, mut fail, mut hist, mut nh) = (0, 0, 0, 0, 0, 0);
        let mut names = Names::default();
        for c in &s.commands {
            match c {
                Command::Clear { .. } => names = Names::default(),
                Command::Load(l) => names.note_load(l),
                Command::Eval(ev) => {
                    evals += 1;
                    if ev.is_range() {
                        range += 1
                    } else {
                        instant += 1
                    }
                    fail += usize::from(ev.is_fail());
                    hist += usize::from(ev.expects_histogram());
                    // The README's heuristic exactly: `{{` in the expected result, or the
                    // expression names a metric loaded with histograms.
                    nh += usize::from(
                        ev.expects_histogram()
                            || runner::names_metric(&ev.expr, &names.nh).is_some(),
                    );
                }
            }
        }
        let got = (evals, instant, range, fail, hist, nh);
        match TABLE.iter().find(|r| r.0 == name) {
            Some(r) if (r.1, r.2, r.3, r.4, r.5, r.6) != got => problems.push(format!(
                "{name}: (evals, instant, range, fail, {{{{ in expected, NH) = {got:?}, README says {:?}",
                (r.1, r.2, r.3, r.4, r.5, r.6)
            )),
            Some(_) => {}
            None => problems.push(format!("{name}: not in the README table")),
        }
    }
    assert!(
        problems.is_empty(),
        "script problems:\n  {}",
        problems.join("\n  ")
    );
}

mod script_tests {
    use super::conformance::compare::almost_equal;
    use super::conformance::rewrite;
    use super::conformance::script::{
        Command, EvalKind, ExpectKind, SeqValue, parse_script, parse_st_sequence,
    };

    #[test]
    fn start_timestamp_sequences() {
        assert_eq!(
            parse_st_sequence("_ _ -30s-1mx2 -1mx1 _x2 0 1ms-1mx1").unwrap(),
            [
                None,
                None,
                Some(-30_000),
                Some(-90_000),
                Some(-150_000),
                Some(-60_000),
                Some(-60_000),
                None,
                None,
                Some(0),
                Some(1),
                Some(-59_999)
            ]
        );
        assert_eq!(parse_st_sequence("-0msx2").unwrap(), [Some(0); 3]);
    }

    #[test]
    fn commands_and_expect_lines() {
        let s = parse_script(
            "# comment\nload 5m\n  m{a=\"1\"} 0+1x3\n  m{a=\"1\"}@st _ -1mx1 _\n  m{a=\"1\"} 1 2 3 4\n\n\
             eval instant at 10m m\n  expect warn msg: some warning\n  expect no_info\n  m{a=\"1\"} 2\n\
             # empty\n\
             eval range from 0 to 10m step 5m m\n  expect ordered\n  m{a=\"1\"} 1 _ 3\n\n\
             eval_fail instant at 0 x\n\n\
             eval instant at 1m m[1m]\n  expect range vector from 10s to 1m step 10s\n  m 1 2\n\n\
             eval instant at 0 \"a\"\n  expect string ` Foo `\n\n\
             eval instant at 1m 1\n  1\n\
             clear\nbogus command\n",
        );
        assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
        assert_eq!(s.errors[0].line, 28);
        let Command::Load(l) = &s.commands[0] else {
            panic!()
        };
        assert_eq!(
            (l.step_ms, l.series.len()),
            (300_000, 1),
            "a repeated series replaces the earlier line"
        );
        assert_eq!(
            l.series[0].start_offsets,
            [None, Some(-60_000), Some(-60_000), None]
        );
        let evals: Vec<_> = s.evals().collect();
        assert_eq!(evals.len(), 6);
        assert_eq!(evals[0].kind, EvalKind::Instant { t: 600_000 });
        assert!(evals[0].has(ExpectKind::Warn) && evals[0].has(ExpectKind::NoInfo));
        assert_eq!(evals[0].series.len(), 1);
        assert_eq!(
            evals[1].kind,
            EvalKind::Range {
                start: 0,
                end: 600_000,
                step: 300_000
            }
        );
        assert!(evals[1].is_ordered());
        assert_eq!(evals[1].series[0].values[1], SeqValue::Omitted);
        assert!(evals[2].is_fail() && evals[2].series.is_empty());
        assert_eq!(evals[3].range_vector, Some((10_000, 60_000, 10_000)));
        assert_eq!(evals[3].eval_time(), 60_000);
        assert_eq!(evals[4].expected_string.as_deref(), Some(" Foo "));
        assert_eq!(evals[5].expected_scalar, Some(1.0));
        assert!(matches!(s.commands.last(), Some(Command::Clear { .. })));
    }

    #[test]
    fn instant_eval_with_several_values_needs_range_vector() {
        let s = parse_script("eval instant at 1m m\n  m 1 2\n");
        assert_eq!(s.errors.len(), 1);
    }

    #[test]
    fn float_comparison() {
        assert!(almost_equal(1.0, 1.0 + 1e-9));
        assert!(!almost_equal(1.0, 1.0 + 1e-5));
        assert!(!almost_equal(0.0, 1e-300));
        assert!(almost_equal(f64::NAN, -f64::NAN));
        assert!(!almost_equal(model::stale_nan(), f64::NAN));
        assert!(almost_equal(model::stale_nan(), model::stale_nan()));
        assert!(almost_equal(f64::INFINITY, f64::INFINITY));
        assert!(!almost_equal(f64::INFINITY, f64::MAX));
    }

    #[test]
    fn at_rewrite() {
        let e = promql::Engine::parse("sum(rate(a[5m])) + b offset 1m + max_over_time(c[10m:1m])")
            .unwrap();
        let rw = rewrite::at_rewrite(&e, 60_000).unwrap().to_string();
        assert!(
            rw.contains("a[5m] @ 60.000") || rw.contains("a[5m] @ 60"),
            "{rw}"
        );
        assert_eq!(rw.matches('@').count(), 3, "{rw}");
        let e = promql::Engine::parse("a @ 100 + b").unwrap();
        let rw = rewrite::at_rewrite(&e, 5_000).unwrap().to_string();
        assert!(rw.contains("100"), "an existing @ stays: {rw}");
        let e = promql::Engine::parse("timestamp(a)").unwrap();
        assert!(rewrite::at_rewrite(&e, 5_000).is_none());
        assert_eq!(rewrite::variant_times(0), [-1000, 0, 1000]);
        assert_eq!(
            rewrite::variant_times(3000),
            [-30_000, 0, 600, 3000, 30_000]
        );
        assert_eq!(
            rewrite::system_time(-1500),
            std::time::UNIX_EPOCH - std::time::Duration::from_millis(1500)
        );
        assert!(rewrite::uses_query_context_funcs("x + step()"));
    }

    #[test]
    fn nh_heuristic_names() {
        use super::conformance::runner::names_metric;
        let names: std::collections::BTreeSet<String> = ["hist".to_string()].into();
        assert!(names_metric("rate(hist[5m])", &names).is_some());
        assert!(names_metric(r#"{__name__="hist"}"#, &names).is_some());
        assert!(names_metric(r#"{__name__=~"hi.*"}"#, &names).is_some());
        assert!(names_metric("rate(hist_total[5m])", &names).is_none());
        assert!(names_metric(r#"{__name__=~"h"}"#, &names).is_none());
    }
}
