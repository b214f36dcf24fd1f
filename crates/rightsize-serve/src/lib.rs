//! `rightsize serve`: a real recommendation service for load tests and the testbed.
//! `POST /v1/recommend` `{"user_id": …, "k": 20}` returns the top-k items of an embedding model
//! ([`model`]); `GET /healthz`, `/readyz` and `/metrics` (Prometheus text). Scoring runs on a
//! fixed set of worker threads behind a bounded queue: beyond it a request gets 503 at once, so
//! overload sheds instead of growing memory.

pub mod access_log;
pub mod metrics;
pub mod model;
pub mod server;
pub mod testbed;
