//! rightsize-core: the pure, synchronous heart of rightsize. It reads only from readers it is
//! handed, never the clock or the environment; time and randomness are parameters.

pub mod analysis;
pub mod cluster;
pub mod load;
pub mod par;
pub mod queueing;
pub mod recommend;
pub mod report;
pub mod rollout;
pub mod sim;
pub mod telemetry;
#[cfg(test)]
mod testworld;
