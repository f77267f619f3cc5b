//! `latency/<operation>.hgrm`: percentile distributions in HdrHistogram's text format.
//!
//! The text is byte-for-byte what HdrHistogram's `outputPercentileDistribution(out, 5, 1000.0)`
//! prints (and what wrk2 `--latency` prints): values in ms from µs histograms, 5 percentile ticks
//! per half distance, then the `#[Mean …]`, `#[Max …]`, `#[Buckets …]` footer. Such files load in
//! HdrHistogram's online plotter and in any tool that reads `.hgrm`.

use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

use super::{ReportError, Secrets, file_stem, write_file};
use crate::metrics::RunData;

/// µs per output unit (ms).
const SCALING_RATIO: f64 = 1000.0;
/// Percentile ticks per half distance, HdrHistogram's default.
const TICKS_PER_HALF: u32 = 5;

/// The percentile distribution of a µs histogram, in ms.
pub fn render(h: &Histogram<u64>) -> String {
    let digits = usize::from(h.sigfig());
    let mut out = format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    if !h.is_empty() {
        for v in h.iter_quantiles(TICKS_PER_HALF) {
            total += v.count_since_last_iteration();
            let value = v.value_iterated_to() as f64 / SCALING_RATIO;
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                out += &format!(
                    "{value:12.digits$} {q:2.12} {total:10} {:14.2}\n",
                    1.0 / (1.0 - q)
                );
            } else {
                out += &format!("{value:12.digits$} {q:2.12} {total:10}\n");
            }
        }
    }
    let (mean, stdev) = if h.is_empty() {
        (0.0, 0.0)
    } else {
        (h.mean() / SCALING_RATIO, h.stdev() / SCALING_RATIO)
    };
    out += &format!("#[Mean    = {mean:12.digits$}, StdDeviation   = {stdev:12.digits$}]\n");
    out += &format!(
        "#[Max     = {:12.digits$}, Total count    = {:12}]\n",
        h.max() as f64 / SCALING_RATIO,
        h.len()
    );
    out += &format!(
        "#[Buckets = {:12}, SubBuckets     = {:12}]\n",
        h.buckets(),
        sub_bucket_count(h.sigfig())
    );
    out
}

/// HdrHistogram's sub-bucket count for a precision (2048 for 3 significant figures).
fn sub_bucket_count(sigfig: u8) -> u64 {
    let largest = 2 * 10u64.pow(u32::from(sigfig));
    largest.next_power_of_two()
}

/// Writes `<op>.hgrm` (raw) and `<op>.corrected.hgrm` per operation into `dir`.
pub fn write_dir(
    dir: &Path,
    data: &RunData,
    secrets: &Secrets,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    for (op, stats) in &data.ops {
        let stem = file_stem(&secrets.mask(op));
        for (suffix, h) in [
            ("hgrm", &stats.latency.raw),
            ("corrected.hgrm", &stats.latency.corrected),
        ] {
            let path = dir.join(format!("{stem}.{suffix}"));
            write_file(&path, secrets.mask_document(&render(h)).as_bytes())?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::hdr;

    #[test]
    fn sub_buckets_match_hdr_histogram() {
        assert_eq!(sub_bucket_count(3), 2048);
        assert_eq!(sub_bucket_count(2), 256);
    }

    #[test]
    fn exact_text_for_a_small_histogram() {
        let mut h = hdr::new_histogram();
        for ms in [1u64, 2, 3, 4, 10] {
            hdr::record(&mut h, ms * 1000);
        }
        let expected = concat!(
            "       Value     Percentile TotalCount 1/(1-Percentile)\n",
            "\n",
            "       1.000 0.000000000000          1           1.00\n",
            "       1.000 0.100000000000          1           1.11\n",
            "       1.000 0.200000000000          1           1.25\n",
            "       2.000 0.300000000000          2           1.43\n",
            "       2.000 0.400000000000          2           1.67\n",
            "       3.001 0.500000000000          3           2.00\n",
            "       3.001 0.550000000000          3           2.22\n",
            "       4.001 0.600000000000          4           2.50\n",
            "       4.001 0.650000000000          4           2.86\n",
            "       4.001 0.700000000000          4           3.33\n",
            "       4.001 0.750000000000          4           4.00\n",
            "       4.001 0.775000000000          4           4.44\n",
            "      10.007 0.800000000000          5           5.00\n",
            "      10.007 1.000000000000          5\n",
            "#[Mean    =        4.001, StdDeviation   =        3.164]\n",
            "#[Max     =       10.007, Total count    =            5]\n",
            "#[Buckets =            4, SubBuckets     =         2048]\n",
        );
        assert_eq!(render(&h), expected);
    }

    #[test]
    fn empty_histogram_has_only_header_and_footer() {
        let text = render(&hdr::new_histogram());
        assert!(
            text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n#[Mean")
        );
        assert!(text.contains("#[Max     =        0.000, Total count    =            0]\n"));
    }
}
