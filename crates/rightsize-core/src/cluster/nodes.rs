//! Node economics: the instance catalogue (CSV compiled in, overridable), what a node leaves
//! allocatable after the cloud's kubelet reservations, and how many pods of a given size fit.

use serde::Serialize;

/// The cloud whose node conventions apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// Amazon EKS.
    Aws,
    /// Google GKE.
    Gcp,
    /// Azure AKS.
    Azure,
}

impl Cloud {
    fn parse(text: &str) -> Option<Cloud> {
        match text.trim().to_ascii_lowercase().as_str() {
            "aws" | "eks" => Some(Cloud::Aws),
            "gcp" | "gke" => Some(Cloud::Gcp),
            "azure" | "aks" => Some(Cloud::Azure),
            _ => None,
        }
    }
}

/// One instance type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceType {
    /// The cloud.
    pub cloud: Cloud,
    /// `m5.2xlarge`, `n2-standard-8`, `Standard_D8s_v5`.
    pub name: String,
    /// vCPUs.
    pub vcpu: f64,
    /// Memory in GiB.
    pub memory_gib: f64,
    /// GPUs.
    pub gpus: u32,
    /// On-demand (or overridden) price per hour in US dollars.
    pub usd_per_hour: f64,
    /// Pods the node admits.
    pub max_pods: u32,
}

/// The catalogue shipped with rightsize (see the header of `data/instances.csv`).
pub const BUILT_IN_CATALOGUE: &str = include_str!("../../data/instances.csv");

/// Why a catalogue row could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CatalogueError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The instance types rightsize knows, with their prices.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Catalogue {
    /// Types in the order read; later rows replace earlier ones of the same cloud and name.
    pub types: Vec<InstanceType>,
}

impl Catalogue {
    /// The built-in catalogue.
    pub fn built_in() -> Catalogue {
        let mut c = Catalogue::default();
        // The shipped file is checked by a test; a failure here would be a build defect.
        if let Err(e) = c.read(BUILT_IN_CATALOGUE, "instances.csv") {
            debug_assert!(false, "built-in catalogue: {e}");
        }
        c
    }

    /// Reads rows `cloud,name,vcpu,memory_gib,gpus,usd_per_hour,max_pods` (a header line and
    /// `#` comments allowed), replacing types already known: this is how `--prices` applies
    /// spot prices, discounts or types the catalogue lacks.
    pub fn read(&mut self, text: &str, file: &str) -> Result<(), CatalogueError> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("cloud,") {
                continue;
            }
            let err = |message: String| CatalogueError {
                file: file.to_string(),
                line: i + 1,
                message,
            };
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() != 7 {
                return Err(err(format!(
                    "expected 7 fields (cloud,name,vcpu,memory_gib,gpus,usd_per_hour,max_pods), found {}",
                    f.len()
                )));
            }
            let cloud = Cloud::parse(f[0])
                .ok_or_else(|| err(format!("cloud {:?}: use aws, gcp or azure", f[0])))?;
            let num = |k: usize, what: &str| -> Result<f64, CatalogueError> {
                f[k].parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| {
                        err(format!(
                            "{what}: expected a non-negative number, found {:?}",
                            f[k]
                        ))
                    })
            };
            let t = InstanceType {
                cloud,
                name: f[1].to_string(),
                vcpu: num(2, "vcpu")?,
                memory_gib: num(3, "memory_gib")?,
                gpus: num(4, "gpus")? as u32,
                usd_per_hour: num(5, "usd_per_hour")?,
                max_pods: num(6, "max_pods")? as u32,
            };
            if t.vcpu <= 0.0 || t.memory_gib <= 0.0 || t.max_pods == 0 {
                return Err(err(format!(
                    "{}: vcpu, memory and max_pods must be positive",
                    t.name
                )));
            }
            match self
                .types
                .iter_mut()
                .find(|x| x.cloud == t.cloud && x.name == t.name)
            {
                Some(existing) => *existing = t,
                None => self.types.push(t),
            }
        }
        Ok(())
    }

    /// A type by name (any cloud).
    pub fn get(&self, name: &str) -> Option<&InstanceType> {
        self.types.iter().find(|t| t.name == name)
    }
}

/// What a node offers pods after the kubelet's reservations and eviction threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Allocatable {
    /// CPU cores.
    pub cpu_cores: f64,
    /// Memory bytes.
    pub memory_bytes: f64,
    /// Pods.
    pub pods: u32,
}

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// The reservation of a tiered ladder: each `(size, share)` tier reserves `share` of the part
/// of `amount` that falls in it.
fn tiered(amount: f64, tiers: &[(f64, f64)]) -> f64 {
    let mut left = amount;
    let mut reserved = 0.0;
    for &(size, share) in tiers {
        let take = left.min(size);
        reserved += take * share;
        left -= take;
        if left <= 0.0 {
            break;
        }
    }
    reserved
}

/// CPU reserved by EKS's and GKE's ladder: 6% of the first core, 1% of the second, 0.5% of the
/// third and fourth, 0.25% of every core above four.
fn cpu_ladder(cores: f64) -> f64 {
    tiered(
        cores,
        &[
            (1.0, 0.06),
            (1.0, 0.01),
            (2.0, 0.005),
            (f64::INFINITY, 0.0025),
        ],
    )
}

/// Memory reserved by GKE's ladder (and AKS's before 1.29): 25% of the first 4 GiB, 20% of the
/// next 4, 10% of the next 8, 6% of the next 112, 2% above 128 GiB.
fn memory_ladder(bytes: f64) -> f64 {
    tiered(
        bytes,
        &[
            (4.0 * GIB, 0.25),
            (4.0 * GIB, 0.20),
            (8.0 * GIB, 0.10),
            (112.0 * GIB, 0.06),
            (f64::INFINITY, 0.02),
        ],
    )
}

/// AKS's CPU reservation by core count (learn.microsoft.com, AKS node resource reservations).
fn aks_cpu(cores: f64) -> f64 {
    let table = [
        (1.0, 0.06),
        (2.0, 0.1),
        (4.0, 0.14),
        (8.0, 0.18),
        (16.0, 0.26),
        (32.0, 0.42),
        (64.0, 0.74),
    ];
    table
        .iter()
        .find(|(c, _)| cores <= *c)
        .map_or(0.74, |(_, r)| *r)
}

impl InstanceType {
    /// Allocatable resources under the cloud's default kubelet reservations:
    /// - EKS (AMI bootstrap): CPU ladder; memory 255 MiB + 11 MiB per max pod; eviction 100 MiB.
    /// - GKE: CPU ladder; memory ladder (255 MiB below 1 GiB); eviction 100 MiB.
    /// - AKS (1.29+): CPU by core table; memory min(20 MB per max pod + 50 MB, 25%); eviction
    ///   100 MiB.
    pub fn allocatable(&self) -> Allocatable {
        let memory = self.memory_gib * GIB;
        let (cpu_reserved, memory_reserved) = match self.cloud {
            Cloud::Aws => (
                cpu_ladder(self.vcpu),
                255.0 * MIB + 11.0 * MIB * f64::from(self.max_pods),
            ),
            Cloud::Gcp => (
                cpu_ladder(self.vcpu),
                if memory < GIB {
                    255.0 * MIB
                } else {
                    memory_ladder(memory)
                },
            ),
            Cloud::Azure => (
                aks_cpu(self.vcpu),
                (20e6 * f64::from(self.max_pods) + 50e6).min(0.25 * memory),
            ),
        };
        let eviction = 100.0 * MIB;
        Allocatable {
            cpu_cores: (self.vcpu - cpu_reserved).max(0.0),
            memory_bytes: (memory - memory_reserved - eviction).max(0.0),
            pods: self.max_pods,
        }
    }

    /// How many pods requesting `cpu_cores` and `memory_bytes` fit on one node beside
    /// DaemonSet pods that together request `daemon_cpu_cores` and `daemon_memory_bytes` and
    /// take `daemon_pods` pod slots.
    pub fn pods_per_node(
        &self,
        cpu_cores: f64,
        memory_bytes: f64,
        daemon: &DaemonSetOverhead,
    ) -> u32 {
        let a = self.allocatable();
        let cpu_left = a.cpu_cores - daemon.cpu_cores;
        let mem_left = a.memory_bytes - daemon.memory_bytes;
        if cpu_left <= 0.0 || mem_left <= 0.0 {
            return 0;
        }
        let by_cpu = if cpu_cores > 0.0 {
            (cpu_left / cpu_cores + 1e-9).floor()
        } else {
            f64::INFINITY
        };
        let by_mem = if memory_bytes > 0.0 {
            (mem_left / memory_bytes + 1e-9).floor()
        } else {
            f64::INFINITY
        };
        let by_pods = f64::from(a.pods.saturating_sub(daemon.pods));
        by_cpu.min(by_mem).min(by_pods).max(0.0) as u32
    }
}

/// What DaemonSets take on every node.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DaemonSetOverhead {
    /// CPU cores requested.
    pub cpu_cores: f64,
    /// Memory bytes requested.
    pub memory_bytes: f64,
    /// Pod slots.
    pub pods: u32,
}

impl Default for DaemonSetOverhead {
    /// A documented default for clusters whose DaemonSets are not given: kube-proxy, the CNI
    /// agent and a log shipper, 3 pods requesting 0.2 cores and 300 MiB together.
    fn default() -> Self {
        DaemonSetOverhead {
            cpu_cores: 0.2,
            memory_bytes: 300.0 * MIB,
            pods: 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalogue_reads_and_covers_the_families() {
        let mut c = Catalogue::default();
        c.read(BUILT_IN_CATALOGUE, "instances.csv")
            .expect("valid catalogue");
        for name in [
            "m5.large",
            "m7i.8xlarge",
            "c6i.2xlarge",
            "r6i.4xlarge",
            "g5.xlarge",
            "e2-standard-4",
            "c3-standard-8",
            "Standard_D8s_v5",
            "Standard_F4s_v2",
        ] {
            assert!(c.get(name).is_some(), "{name}");
        }
        assert_eq!(c.get("m5.2xlarge").map(|t| t.usd_per_hour), Some(0.384));
    }

    #[test]
    fn overrides_replace_and_add() {
        let mut c = Catalogue::built_in();
        c.read(
            "aws,m5.2xlarge,8,32,0,0.15,58\naws,m9.huge,64,256,0,3.0,234\n",
            "spot.csv",
        )
        .expect("valid");
        assert_eq!(c.get("m5.2xlarge").map(|t| t.usd_per_hour), Some(0.15));
        assert!(c.get("m9.huge").is_some());
        let err = c
            .read("aws,x,8,32,0,cheap,58\n", "p.csv")
            .expect_err("price");
        assert_eq!(
            err.to_string(),
            "p.csv:1: usd_per_hour: expected a non-negative number, found \"cheap\""
        );
    }

    fn check(cloud: Cloud, vcpu: f64, mem_gib: f64, max_pods: u32, cpu: f64, mem_mib: f64) {
        let t = InstanceType {
            cloud,
            name: "t".into(),
            vcpu,
            memory_gib: mem_gib,
            gpus: 0,
            usd_per_hour: 1.0,
            max_pods,
        };
        let a = t.allocatable();
        assert!(
            (a.cpu_cores - cpu).abs() < 1e-9,
            "{cloud:?} {vcpu} cpu {} != {cpu}",
            a.cpu_cores
        );
        assert!(
            (a.memory_bytes / MIB - mem_mib).abs() < 0.01,
            "{cloud:?} {mem_gib} mem {} != {mem_mib}",
            a.memory_bytes / MIB
        );
    }

    #[test]
    fn allocatable_follows_the_documented_formulas() {
        // EKS m5.2xlarge: 8 cores - (0.06 + 0.01 + 2*0.005 + 4*0.0025) = 7.91;
        // 32 GiB - (255 + 11*58) MiB - 100 MiB = 32768 - 993 = 31775 MiB.
        check(
            Cloud::Aws,
            8.0,
            32.0,
            58,
            7.91,
            32768.0 - 255.0 - 638.0 - 100.0,
        );
        // EKS m5.large: 2 cores - 0.07; 8 GiB - (255 + 319) - 100.
        check(Cloud::Aws, 2.0, 8.0, 29, 1.93, 8192.0 - 574.0 - 100.0);
        // GKE n2-standard-8: 7.91 cores; 32 GiB - (1024 + 819.2 + 819.2 + 983.04) - 100 MiB.
        check(
            Cloud::Gcp,
            8.0,
            32.0,
            110,
            7.91,
            32768.0 - 1024.0 - 819.2 - 819.2 - 0.06 * 16.0 * 1024.0 - 100.0,
        );
        // AKS D8s_v5: 8 cores - 0.18; memory min(20 MB * 110 + 50 MB, 25%) = 2.25e9 bytes.
        check(
            Cloud::Azure,
            8.0,
            32.0,
            110,
            7.82,
            32768.0 - 2.25e9 / MIB - 100.0,
        );
        // AKS with 30 pods on 8 GiB: 650 MB reserved (the documentation's example).
        check(
            Cloud::Azure,
            2.0,
            8.0,
            30,
            1.9,
            8192.0 - 650e6 / MIB - 100.0,
        );
    }

    #[test]
    fn pods_per_node_packs_requests() {
        let c = Catalogue::built_in();
        let m5 = c.get("m5.2xlarge").expect("m5.2xlarge");
        let ds = DaemonSetOverhead::default();
        // 7.91 - 0.2 = 7.71 cores: 3 pods of 2 cores.
        assert_eq!(m5.pods_per_node(2.0, 4.0 * GIB, &ds), 3);
        // Memory-bound: 31775 - 300 MiB over 12 GiB = 2.
        assert_eq!(m5.pods_per_node(0.5, 12.0 * GIB, &ds), 2);
        // Pod-slot-bound: 58 - 3 = 55 tiny pods.
        assert_eq!(m5.pods_per_node(0.01, 10.0 * MIB, &ds), 55);
        assert_eq!(m5.pods_per_node(16.0, GIB, &ds), 0);
    }
}
