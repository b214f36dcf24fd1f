//! The load test's pure parts: the open model's schedule (rate curves, arrival processes,
//! intended send times), the recorded peak as a profile, and the k6 and Locust exports. The
//! network side lives in `rightsize-load`.

pub mod k6;
pub mod locust;
pub mod schedule;
pub mod window;
