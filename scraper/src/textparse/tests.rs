use super::*;

const TESTDATA: &str = "../../shared/conformance/prometheus/model/textparse/testdata";

fn count_samples(text: &str, format: Format) -> usize {
    let mut n = 0;
    for e in Parser::new(text, format) {
        if let Entry::Sample(_) = e.unwrap() {
            n += 1;
        }
    }
    n
}

fn read(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(TESTDATA)
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn conformance_payloads_parse_with_exact_sample_counts() {
    assert_eq!(
        count_samples(&read("alltypes.237mfs.prom.txt"), Format::Text),
        1857
    );
    assert_eq!(
        count_samples(&read("alltypes.237mfs.nometa.prom.txt"), Format::Text),
        1857
    );
    assert_eq!(
        count_samples(&read("alltypes.5mfs.om.txt"), Format::OpenMetrics),
        53
    );
    assert!(count_samples(&read("1histogram.om.txt"), Format::OpenMetrics) > 0);
}

#[test]
fn text_format_lines() {
    let input = "# HELP http_requests_total The total.\\nSecond line.\n# TYPE http_requests_total counter\n\
        http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
        # free comment\n\
        msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n\
        metric_without_timestamp_and_labels 12.47\n\
        something_weird{problem=\"division by zero\"} +Inf -3982045\n";
    let entries: Vec<Entry<'_>> = Parser::new(input, Format::Text)
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(entries.len(), 6);
    assert_eq!(
        entries[0],
        Entry::Help {
            name: "http_requests_total",
            text: "The total.\nSecond line.".into()
        }
    );
    let Entry::Sample(s) = &entries[2] else {
        panic!()
    };
    assert_eq!(s.name, "http_requests_total");
    assert_eq!(
        s.labels,
        vec![("method", "post".into()), ("code", "200".into())]
    );
    assert_eq!((s.value, s.timestamp_ms), (1027.0, Some(1395066363000)));
    let Entry::Sample(s) = &entries[3] else {
        panic!()
    };
    assert_eq!(s.labels[0].1, "C:\\DIR\\FILE.TXT");
    assert_eq!(s.labels[1].1, "Cannot find file:\n\"FILE.TXT\"");
    let Entry::Sample(s) = &entries[5] else {
        panic!()
    };
    assert_eq!((s.value, s.timestamp_ms), (f64::INFINITY, Some(-3982045)));
}

#[test]
fn openmetrics_timestamps_exemplars_and_eof() {
    let input = "# TYPE a counter\n# UNIT a seconds\na_total{x=\"1\"} 3 1795335242.411 # {id=\"a\"} 1.0 123.4\na_total{x=\"2\"} NaN 5\n# EOF\n";
    let entries: Vec<Entry<'_>> = Parser::new(input, Format::OpenMetrics)
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(entries.len(), 4);
    let Entry::Sample(s) = &entries[2] else {
        panic!()
    };
    assert_eq!(s.timestamp_ms, Some(1_795_335_242_411));
    let Entry::Sample(s) = &entries[3] else {
        panic!()
    };
    assert!(s.value.is_nan());
    assert_eq!(s.timestamp_ms, Some(5000));
}

#[test]
fn bad_input_names_the_line() {
    let cases = [
        ("a{b=\"c\" 1\n", Format::Text, "expected ',' or '}'"),
        ("a{b=\"c} 1\n", Format::Text, "unterminated"),
        ("a 1\na{1b=\"x\"} 2\n", Format::Text, "invalid label name"),
        (
            "a{b=\"1\",b=\"2\"} 1\n",
            Format::Text,
            "duplicate label name",
        ),
        ("a xyz\n", Format::Text, "invalid value"),
        ("a\n", Format::Text, "expected a value"),
        ("a 1 1.5\n", Format::Text, "invalid timestamp"),
        ("a 1\n", Format::OpenMetrics, "missing # EOF"),
        ("a 1\n# EOF\nb 2\n", Format::OpenMetrics, "after # EOF"),
        ("# TYPE a bogus\n", Format::Text, "invalid metric type"),
        ("1a 1\n", Format::Text, "invalid metric name"),
        ("a{b=\"\\q\"} 1\n", Format::Text, "invalid escape"),
    ];
    for (input, format, want) in cases {
        let err = Parser::new(input, format)
            .find_map(|e| e.err())
            .unwrap_or_else(|| panic!("{input:?} should fail"));
        assert!(err.to_string().contains(want), "{input:?}: {err}");
        assert!(err.line >= 1);
    }
    let err = Parser::new("a 1\na{1b=\"x\"} 2\n", Format::Text)
        .find_map(|e| e.err())
        .unwrap();
    assert_eq!(err.line, 2);
}

#[test]
fn seconds_to_milliseconds_is_exact() {
    assert_eq!(
        parse_seconds_as_ms("1795335242.411"),
        Some(1_795_335_242_411)
    );
    assert_eq!(parse_seconds_as_ms("1.5"), Some(1500));
    assert_eq!(parse_seconds_as_ms("1.2345"), Some(1234));
    assert_eq!(parse_seconds_as_ms("-1.5"), Some(-1500));
    assert_eq!(parse_seconds_as_ms("1e3"), Some(1_000_000));
    assert_eq!(parse_seconds_as_ms("abc"), None);
    assert_eq!(parse_seconds_as_ms("NaN"), None);
}
