//! The rollout: the rollback triggers as Prometheus rules with their unit tests.

pub mod alerts;
