//! Redaction throughput on one core, against floors measured in the same run.
//!
//! Corpus: the evaluation sets' texts (`eval/*.jsonl` and `eval/v2/*.jsonl`) concatenated and
//! repeated to about 1 MiB, scanned one text at a time as the CLI does. Floors: one
//! `str::char_indices` pass, and a byte-level search for a NUL that is never there (a
//! memchr-style scan), over the same texts. Besides the full redaction: each stage alone, the
//! normalised view alone, and the guard on the request bodies built from the redacted texts.
//!
//! Run: `cargo bench -p pipeline --bench redact`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pipeline::redact::normal::NormalView;
use pipeline::redact::offline::OfflineDetector;
use pipeline::redact::{Lang, PiiDetector, Redactor, guard, llm, rules};
use std::hint::black_box;

fn corpus() -> Vec<(Lang, String)> {
    let mut base = Vec::new();
    for f in ["redact_eval.jsonl", "hard_cases.jsonl", "v2/tune.jsonl", "v2/test.jsonl"] {
        let path = format!("{}/eval/{f}", env!("CARGO_MANIFEST_DIR"));
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let lang = if v["lang"] == "fr" { Lang::Fr } else { Lang::En };
            base.push((lang, v["text"].as_str().unwrap().to_owned()));
        }
    }
    let mut out = Vec::new();
    let mut total = 0;
    while total < 1 << 20 {
        for (l, t) in &base {
            total += t.len();
            out.push((*l, t.clone()));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let texts = corpus();
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    let redactor = Redactor::offline();
    let mut g = c.benchmark_group("redact");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(20);
    g.bench_function("floor_char_indices", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (_, t) in &texts {
                for (i, ch) in black_box(t.as_str()).char_indices() {
                    n = n.wrapping_add(i ^ ch as usize);
                }
            }
            n
        });
    });
    g.bench_function("floor_byte_search", |b| {
        b.iter(|| texts.iter().map(|(_, t)| black_box(t.as_bytes()).iter().position(|&c| c == 0).unwrap_or(0)).sum::<usize>());
    });
    g.bench_function("redact_offline", |b| {
        b.iter(|| {
            let mut n = 0;
            for (l, t) in &texts {
                n += redactor.redact(black_box(t), *l).map_or(0, |r| r.spans.len());
            }
            n
        });
    });
    // The two stages alone, to show where the time goes.
    g.bench_function("stage1_offline_only", |b| {
        let d = OfflineDetector::new();
        b.iter(|| texts.iter().map(|(l, t)| d.detect(black_box(t), *l).map_or(0, |v| v.len())).sum::<usize>());
    });
    g.bench_function("stage2_rules_only", |b| {
        b.iter(|| {
            let mut v = Vec::new();
            for (l, t) in &texts {
                rules::detect(black_box(t), *l, &mut v);
            }
            v.len()
        });
    });
    g.bench_function("normal_view_only", |b| {
        b.iter(|| texts.iter().map(|(_, t)| NormalView::new(black_box(t)).edits().len()).sum::<usize>());
    });
    g.finish();
    // The guard, on the request bodies of the redacted texts (throughput in body bytes).
    let bodies: Vec<Vec<u8>> = texts
        .iter()
        .map(|(l, t)| llm::request_body(&redactor.redact(t, *l).map_or_else(|_| String::new(), |r| r.redacted), 256).unwrap_or_default())
        .collect();
    let body_bytes: usize = bodies.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("guard");
    g.throughput(Throughput::Bytes(body_bytes as u64));
    g.sample_size(20);
    g.bench_function("floor_byte_search", |b| {
        b.iter(|| bodies.iter().map(|x| black_box(x.as_slice()).iter().position(|&c| c == 0).unwrap_or(0)).sum::<usize>());
    });
    g.bench_function("check_body", |b| {
        b.iter(|| bodies.iter().filter(|x| guard::check_body(black_box(x)).is_err()).count());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
