//! Writing a target's body: pre-rendered label text plus this tick's values.

use super::layout::{BUCKET_MID_MS, Family, Item, LE, What};
use super::value::{counter, h2, write_fixed};

/// One line of a body, as [`each_line`] hands it over.
pub(crate) struct Line<'a> {
    pub family: &'static Family,
    /// `name{labels} ` (with the trailing space).
    pub prefix: &'a [u8],
    pub units: i64,
    pub scale: u8,
    pub counter: bool,
    pub reset: bool,
}

/// Calls `f` for every line of the body of tick `k`, in body order.
pub(crate) fn each_line<'a>(
    items: &'a [Item],
    text: &'a [u8],
    k: u64,
    mut f: impl FnMut(Line<'a>),
) {
    for it in items {
        let start = it.text.start as usize;
        match &it.what {
            What::Single { shape, scale } => {
                let counter = shape.is_counter();
                f(Line {
                    family: it.family,
                    prefix: &text[start..it.text.end as usize],
                    units: shape.value(it.id, &it.life, k),
                    scale: *scale,
                    counter,
                    reset: counter && it.life.resets_at(k),
                });
            }
            What::Histogram { rates, ends } => {
                let reset = it.life.resets_at(k);
                let mut cumulative = 0i64;
                let mut sum_ms = 0i64;
                let mut from = start;
                for (b, rate) in rates.iter().enumerate() {
                    let n = counter(h2(it.id, b as u64), &it.life, k, *rate);
                    cumulative += n;
                    sum_ms += n * BUCKET_MID_MS[b] as i64;
                    f(Line {
                        family: it.family,
                        prefix: &text[from..ends[b] as usize],
                        units: cumulative,
                        scale: 0,
                        counter: true,
                        reset,
                    });
                    from = ends[b] as usize;
                }
                for (i, (units, scale)) in [(sum_ms, 3), (cumulative, 0)].into_iter().enumerate() {
                    let end = ends[LE.len() + i] as usize;
                    f(Line {
                        family: it.family,
                        prefix: &text[from..end],
                        units,
                        scale,
                        counter: true,
                        reset,
                    });
                    from = end;
                }
            }
        }
    }
}

/// Appends the body of tick `k`: `# HELP` and `# TYPE` before each family, then its lines.
pub(crate) fn body(items: &[Item], text: &[u8], k: u64, out: &mut Vec<u8>) {
    let mut family: Option<&'static Family> = None;
    each_line(items, text, k, |line| {
        if family.is_none_or(|f| f.name != line.family.name) {
            family = Some(line.family);
            let f = line.family;
            for part in [
                "# HELP ",
                f.name,
                " ",
                f.help,
                "\n# TYPE ",
                f.name,
                " ",
                f.kind.as_str(),
                "\n",
            ] {
                out.extend_from_slice(part.as_bytes());
            }
        }
        out.extend_from_slice(line.prefix);
        write_fixed(out, line.units, line.scale);
        out.push(b'\n');
    });
}
