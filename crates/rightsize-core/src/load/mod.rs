//! The load test's pure parts: the open model's schedule (rate curves, arrival processes,
//! intended send times). The network side lives in the binary.

pub mod schedule;
