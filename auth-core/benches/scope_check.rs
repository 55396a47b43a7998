//! `scope_check`: asking a key's scope set whether it allows `resource:action`.
//!
//! Run: `cargo bench -p auth-core --bench scope_check`

use std::hint::black_box;

use auth_core::permissions::PermissionSet;
use criterion::{Criterion, criterion_group, criterion_main};

fn scope_check(c: &mut Criterion) {
    let typical =
        PermissionSet::parse(["data:read", "reports:*", "billing:read", "*:list"]).unwrap();
    let many: Vec<String> = (0..32).map(|i| format!("resource{i}:read")).collect();
    let many = PermissionSet::parse(many.iter().map(String::as_str)).unwrap();
    let mut group = c.benchmark_group("scope_check");
    group.bench_function("4_scopes_allowed", |b| {
        b.iter(|| black_box(&typical).can(black_box("reports"), black_box("export")))
    });
    group.bench_function("4_scopes_refused", |b| {
        b.iter(|| black_box(&typical).can(black_box("admin"), black_box("delete")))
    });
    group.bench_function("32_scopes_last", |b| {
        b.iter(|| black_box(&many).can(black_box("resource31"), black_box("read")))
    });
    group.finish();
}

criterion_group!(benches, scope_check);
criterion_main!(benches);
