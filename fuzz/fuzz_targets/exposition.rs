//! Both exposition parsers on arbitrary input: never a panic; an error always names a line
//! inside the input; a sample always has a valid metric name; the raw series text the scraper
//! caches on always splits into labels (only a repeated label name may still fail).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scraper::textparse::{Entry, Format, Parser, RawEntry, is_metric_name, series_labels};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.split('\n').count();
    for format in [Format::Text, Format::OpenMetrics] {
        for entry in Parser::new(text, format) {
            match entry {
                Ok(Entry::Sample(s)) => assert!(is_metric_name(s.name)),
                Ok(_) => {}
                Err(e) => {
                    assert!(e.line >= 1 && e.line <= lines, "error line {} outside 1..={lines}", e.line);
                    break;
                }
            }
        }
        let mut p = Parser::new(text, format);
        while let Some(Ok(entry)) = p.next_raw() {
            if let RawEntry::Sample(s) = entry {
                assert!(s.series.starts_with(s.name));
                if let Err(e) = series_labels(s.series) {
                    assert!(e.contains("duplicate label name"), "{e}: {:?}", s.series);
                }
            }
        }
    }
});
