//! The load test's pure parts: the open model's schedule (rate curves, arrival processes,
//! intended send times) and the k6 and Locust exports. The network side lives in the binary.

pub mod k6;
pub mod locust;
pub mod schedule;
