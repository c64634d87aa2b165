//! Criterion benches of the in-memory store through the service: join, heartbeat, list.
#![allow(missing_docs)] // criterion_group! generates undocumented functions
//!
//! `cargo bench --bench memory_store`

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use livesessions::{Actor, JoinInput, ListQuery, LiveSessions, MemoryStore, NewSession, UserId};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn new_session(i: usize, live: bool) -> NewSession {
    let mut session = NewSession::new(
        format!("Session {i}"),
        "Bench Instructor",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "2025-01-15T10:00:00Z",
    );
    session.fields.description = Some("A benchmark session".into());
    session.is_live = live;
    session
}

fn student(i: usize) -> Actor {
    Actor::user(UserId::parse(&format!("student-{i}")).expect("a user id"))
        .with_name(format!("Student {i}"))
        .with_email(format!("student{i}@example.com"))
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let admin = Actor::admin(UserId::parse("admin").expect("a user id"));

    c.bench_function("memory/join_new_participant", |b| {
        let service = LiveSessions::builder(Arc::new(MemoryStore::new())).build();
        let session = rt
            .block_on(service.create(Some(&admin), new_session(0, true), None))
            .expect("created");
        let mut n = 0usize;
        b.iter_batched(
            || {
                n += 1;
                student(n)
            },
            |actor| {
                rt.block_on(service.join(
                    Some(&actor),
                    JoinInput {
                        session_id: session.id.to_string(),
                        ..Default::default()
                    },
                ))
                .expect("joined")
            },
            BatchSize::SmallInput,
        );
    });

    c.bench_function("memory/heartbeat", |b| {
        let service = LiveSessions::builder(Arc::new(MemoryStore::new())).build();
        let session = rt
            .block_on(service.create(Some(&admin), new_session(0, true), None))
            .expect("created");
        let actors: Vec<Actor> = (0..1000).map(student).collect();
        for actor in &actors {
            rt.block_on(service.join(
                Some(actor),
                JoinInput {
                    session_id: session.id.to_string(),
                    ..Default::default()
                },
            ))
            .expect("joined");
        }
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % actors.len();
            rt.block_on(service.heartbeat(Some(&actors[i]), session.id))
                .expect("heartbeat")
        });
    });

    c.bench_function("memory/list_page_of_50_among_1000", |b| {
        let service = LiveSessions::builder(Arc::new(MemoryStore::new())).build();
        for i in 0..1000 {
            rt.block_on(service.create(Some(&admin), new_session(i, i % 10 == 0), None))
                .expect("created");
        }
        let query = ListQuery::default();
        b.iter(|| rt.block_on(service.list(None, &query)).expect("listed"));
    });
}

criterion_group!(memory, benches);
criterion_main!(memory);
