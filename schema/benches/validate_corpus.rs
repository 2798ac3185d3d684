//! Validating the whole 464-manifest corpus, as the registry would on import: bytes in, report out.
//! Target (issue 2): ≤ 50 ms for all 464. Run with `cargo bench -p registry-schema`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use registry_schema::validate::validate_bytes;
use registry_schema::{Manifest, Policy};

fn corpus() -> Vec<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/conformance/corpus/servers-2025-12-11.json"
    );
    let text = std::fs::read(path).expect("corpus is readable");
    let servers: Vec<serde_json::Value> = serde_json::from_slice(&text).expect("corpus is JSON");
    servers
        .iter()
        .map(|server| serde_json::to_vec(server).expect("serializes"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let manifests = corpus();
    assert_eq!(manifests.len(), 464);
    let policy = Policy::lenient();
    // Compile the schemas outside the measurement: that happens once per process.
    let _ = validate_bytes(&manifests[0], &policy);

    let mut group = c.benchmark_group("corpus-464");
    group.bench_function("validate", |b| {
        b.iter(|| {
            for bytes in &manifests {
                black_box(validate_bytes(black_box(bytes), &policy));
            }
        });
    });
    group.bench_function("parse-and-digest", |b| {
        b.iter(|| {
            for bytes in &manifests {
                let manifest = Manifest::parse(black_box(bytes), &policy).expect("valid");
                black_box(manifest.digest().expect("digest"));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
