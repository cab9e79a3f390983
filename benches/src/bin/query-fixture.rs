//! Writes the PromQL benchmark fixture (`vane_benches::query_fixture`: 10,000 series × one
//! day at 15 s) as OpenMetrics text with timestamps, for `vane tsdb import` and
//! `promtool tsdb create-blocks-from openmetrics` (used by
//! `benches/side_by_side/query_latency.py`).
//!
//! Usage: `query-fixture <out.om>`

use std::io::BufWriter;

fn main() -> std::io::Result<()> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: query-fixture <out.om>");
        std::process::exit(2);
    };
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    vane_benches::query_fixture::write_openmetrics(&mut w)?;
    std::io::Write::flush(&mut w)
}
