//! Ingest throughput (MB/s of CSV on one core) against a floor measured in the same run.
//!
//! Floor: the raw `csv` crate iterating `ByteRecord`s over exactly the same bytes, with no
//! checks. The ingest adds the sniff, the tap's quote tracker and limits, UTF-8 validation,
//! typed parsing of every cell and formula neutralisation. Target: 100 MB/s for `ingest/check`.
//! Run with `cargo bench -p pipeline --bench ingest`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pipeline::ingest::{self, Dms, Export, Options, Profile};

/// About 16 MiB of valid CDK sales rows: codes, dates, amounts, integers and some text.
fn generate() -> Vec<u8> {
    let mut out = b"DealNo,ContractDate,StockNo,VIN,Sale Type,CashPrice,Front Gross,Back Gross,Finance Reserve,APR,Term,Salesman1No,FIMgrNo,Lender\r\n".to_vec();
    let mut i = 0u64;
    while out.len() < 16 << 20 {
        let front = i64::try_from(i % 5000).unwrap_or(0) - 2500;
        out.extend_from_slice(
            format!(
                "{},2025-{:02}-{:02},S{},1HGCM82633A{:06},{},\"$3{},{:03}.00\",{front}.50,-12.50,{}.00,5.99,72,SP{},FI{},TD\r\n",
                100_000 + i,
                1 + i % 12,
                1 + i % 28,
                i,
                i % 1_000_000,
                if i.is_multiple_of(3) { "USED" } else { "NEW" },
                i % 10,
                i % 1000,
                i % 700,
                i % 300,
                i % 20
            )
            .as_bytes(),
        );
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let data = generate();
    let profile = Profile::get(Dms::Cdk, Export::Sales).expect("profile");
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("floor_csv_byte_records", |b| {
        b.iter(|| {
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .buffer_capacity(ingest::CSV_BUFFER_BYTES)
                .from_reader(&data[..]);
            let mut rec = csv::ByteRecord::new();
            let mut fields = 0usize;
            while rdr.read_byte_record(&mut rec).unwrap_or(false) {
                fields += rec.len();
            }
            black_box(fields)
        });
    });
    g.bench_function("check", |b| {
        b.iter(|| {
            let report = ingest::check(&profile, &data[..], &Options::default(), |r| {
                black_box(r.cells.len());
            })
            .expect("readable");
            assert!(report.accepted);
            black_box(report.rows)
        });
    });
    g.bench_function("check_and_sha256", |b| {
        b.iter(|| {
            let report = ingest::check(&profile, &data[..], &Options { hash: true, ..Options::default() }, |_| {}).expect("readable");
            black_box(report.sha256)
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
