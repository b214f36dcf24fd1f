//! Kubernetes and cloud configuration: reading HPAs and workloads from YAML with located errors,
//! applying the API server's and controllers' defaults, and quantities.

pub mod config;
pub mod hpa;
pub mod keda;
pub mod nodegroup;
pub mod nodes;
pub mod quantity;
pub mod workload;
pub mod write;
pub mod yaml;

pub use config::ClusterConfig;
pub use quantity::{Quantity, QuantityError};
pub use yaml::{ConfigError, Document, parse_document, split_documents};
