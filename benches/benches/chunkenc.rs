//! Chunk encode and decode throughput on 120-sample chunks shaped like real scrapes: 15 s
//! counters with a few ms of jitter, and gauges with noisy values. XOR (the head's encoding)
//! and columns (the encoding inside blocks' compressed frames), decoded by the bulk path
//! queries use (`decode_range`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::SampleIterator;
use tsdb::chunkenc::{
    Encoding, XorAppender, XorIterator, decode_all, decode_range, encode_columns,
};

const CHUNKS: usize = 1000;
const PER_CHUNK: usize = 120;

fn data() -> Vec<Vec<(i64, f64)>> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..CHUNKS)
        .map(|c| {
            let mut t = 1_700_000_000_000i64 + c as i64 * 1_800_000;
            let mut v = (rnd() % 1_000_000) as f64;
            (0..PER_CHUNK)
                .map(|_| {
                    t += 15_000 + (rnd() % 5) as i64 - 2;
                    if c % 2 == 0 {
                        v += (rnd() % 100) as f64; // counter
                    } else {
                        v = 50.0 + (rnd() % 1000) as f64 / 37.0; // gauge
                    }
                    (t, v)
                })
                .collect()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let series = data();
    let chunks: Vec<Vec<u8>> = series
        .iter()
        .map(|s| {
            let mut a = XorAppender::new();
            for &(t, v) in s {
                a.append(t, v);
            }
            a.into_bytes()
        })
        .collect();
    let bytes: usize = chunks.iter().map(|c| c.len()).sum();
    eprintln!(
        "chunkenc: {} samples in {} bytes = {:.3} bytes/sample",
        CHUNKS * PER_CHUNK,
        bytes,
        bytes as f64 / (CHUNKS * PER_CHUNK) as f64
    );
    let mut g = c.benchmark_group("chunkenc");
    g.throughput(Throughput::Elements((CHUNKS * PER_CHUNK) as u64));
    g.bench_function("encode", |b| {
        let mut a = XorAppender::new();
        b.iter(|| {
            let mut total = 0;
            for s in &series {
                a.reset();
                for &(t, v) in s {
                    a.append(t, v);
                }
                total += a.bytes().len();
            }
            total
        })
    });
    g.bench_function("decode_iterator", |b| {
        b.iter(|| {
            let mut sum = 0i64;
            let mut it = XorIterator::new(chunks[0].as_slice());
            for c in &chunks {
                it.reset(c.as_slice());
                while it.next() {
                    sum = sum.wrapping_add(it.at().0);
                }
            }
            sum
        })
    });
    g.bench_function("decode_all", |b| {
        let (mut ts, mut vs) = (Vec::with_capacity(PER_CHUNK), Vec::with_capacity(PER_CHUNK));
        b.iter(|| {
            let mut n = 0;
            for c in &chunks {
                ts.clear();
                vs.clear();
                decode_all(c, &mut ts, &mut vs).unwrap();
                n += ts.len();
            }
            n
        })
    });
    let columns: Vec<Vec<u8>> = series
        .iter()
        .map(|s| {
            let mut out = Vec::new();
            encode_columns(s, &mut out);
            out
        })
        .collect();
    g.bench_function("columns_encode", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            let mut total = 0;
            for s in &series {
                out.clear();
                encode_columns(s, &mut out);
                total += out.len();
            }
            total
        })
    });
    for (name, enc, chunks) in [
        ("decode_range/xor", Encoding::Xor, &chunks),
        ("decode_range/columns", Encoding::Columns, &columns),
    ] {
        g.bench_function(name, |b| {
            let mut out = Vec::with_capacity(PER_CHUNK);
            b.iter(|| {
                let mut n = 0;
                for c in chunks {
                    out.clear();
                    decode_range(enc, c, i64::MIN, i64::MAX, &mut out).unwrap();
                    n += out.len();
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
