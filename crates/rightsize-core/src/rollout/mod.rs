//! The rollout: the plan (phases, triggers, rollback commands), the rollback triggers as
//! Prometheus rules with their unit tests, and the dashboard of the signals they watch.

pub mod alerts;
pub mod dashboard;
pub mod plan;
