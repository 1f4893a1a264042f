//! Benchmark (not a timed test) of the Singer protocol core on a file from
//! `bench/gen_orders.py`: (a) read every message with `MessageReader`,
//! (b) write the same RECORDs back with `MessageWriter` into a discarding sink.
//! Prints records/s, MB/s and peak RSS. Run through `bench/protocol.sh`.

use std::io::{BufReader, Write};
use std::time::Instant;

use singer_core::message::Message;
use singer_core::reader::MessageReader;
use singer_core::writer::MessageWriter;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

#[allow(clippy::print_stdout, clippy::disallowed_methods)]
fn main() {
    let path = std::env::args().nth(1).expect("usage: bench_protocol FILE");
    let bytes = std::fs::metadata(&path).expect("file").len() as f64;

    let start = Instant::now();
    let mut reader = MessageReader::new(BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(&path).expect("open"),
    ));
    let mut records = 0u64;
    while let Some(line) = reader.next_message().expect("valid stream") {
        if let Message::Record(_) = line.message {
            records += 1;
        }
    }
    let read_secs = start.elapsed().as_secs_f64();
    let read_rss = peak_rss_kib();

    // Write: RECORDs from raw bodies held in memory (the first 100,000, written until as
    // many records as were read have gone out), so only the writer is timed.
    let mut reader = MessageReader::new(BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(&path).expect("open"),
    ));
    let mut bodies: Vec<Box<serde_json::value::RawValue>> = Vec::new();
    while let Some(line) = reader.next_message().expect("valid stream") {
        if let Message::Record(r) = &line.message {
            bodies.push(
                serde_json::value::RawValue::from_string(r.record.to_owned())
                    .expect("a record is JSON"),
            );
            if bodies.len() == 100_000 {
                break;
            }
        }
    }
    let mut writer = MessageWriter::new(std::io::sink());
    let start = Instant::now();
    let mut written = 0u64;
    while written < records {
        for body in &bodies {
            writer
                .write_record_raw("ORDERS", body, None, Some("2026-01-01T00:00:00.000000Z"))
                .expect("write");
            written += 1;
            if written == records {
                break;
            }
        }
    }
    writer.flush().expect("flush");
    let write_secs = start.elapsed().as_secs_f64();

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "records={records}").ok();
    writeln!(
        out,
        "read_records_per_second={:.0}",
        records as f64 / read_secs
    )
    .ok();
    writeln!(out, "read_mb_per_second={:.1}", bytes / 1e6 / read_secs).ok();
    writeln!(
        out,
        "write_records_per_second={:.0}",
        records as f64 / write_secs
    )
    .ok();
    writeln!(out, "read_peak_rss_mib={:.1}", read_rss as f64 / 1024.0).ok();
    writeln!(
        out,
        "peak_rss_mib_with_100k_bodies_held={:.1}",
        peak_rss_kib() as f64 / 1024.0
    )
    .ok();
}
