//! `rightsize config show`: read HPAs and workloads from YAML or JSON files and print the
//! normalised model, defaults spelled out, for a reviewer to check.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use rightsize_core::cluster::ClusterConfig;
use rightsize_core::cluster::nodes::Catalogue;

/// `rightsize config …`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the normalised configuration: each HPA's bounds, metrics and behavior with the
    /// API server's and controller's defaults applied (marked "default"), each workload's
    /// replicas, requests and readiness timing; kinds not read are listed, unknown fields warned.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// YAML or JSON files, or directories (their .yaml, .yml and .json files); kinds are told
    /// apart by content, not by file name. The same as --config.
    #[arg(value_name = "FILES", required_unless_present = "config")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Print the model as JSON (schema in docs/formats.md).
    #[arg(long)]
    json: bool,
}

/// Flags shared by every command that reads cluster configuration.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// A manifest file or a directory of them (HPA, ScaledObject, VPA, Deployment,
    /// StatefulSet, DaemonSet, eksctl ClusterConfig, Karpenter NodePool, GKE
    /// ContainerNodePool); repeatable. Kinds are told apart by content.
    #[arg(long = "config", value_name = "PATH")]
    pub config: Vec<PathBuf>,
    /// Instance prices that replace or add to the built-in catalogue: CSV rows
    /// `cloud,name,vcpu,memory_gib,gpus,usd_per_hour,max_pods` (spot, discounts, reserved,
    /// types the catalogue lacks); repeatable, later files win.
    #[arg(long = "prices", value_name = "FILE")]
    pub prices: Vec<PathBuf>,
}

impl ClusterArgs {
    /// The built-in catalogue with every `--prices` file applied in order.
    pub fn catalogue(&self) -> anyhow::Result<Catalogue> {
        let mut catalogue = Catalogue::built_in();
        for file in &self.prices {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("{}: cannot read the price file", file.display()))?;
            catalogue
                .read(&text, &display(file))
                .context("fix the row, or see docs/formats.md for the price file's columns")?;
        }
        Ok(catalogue)
    }
}

/// Expands files and directories into configuration files, in name order within a directory.
pub fn config_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("{}: cannot list the directory", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && f.extension()
                            .and_then(|e| e.to_str())
                            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
                })
                .collect();
            files.sort();
            if files.is_empty() {
                bail!(
                    "{}: the directory holds no .yaml, .yml or .json file",
                    p.display()
                );
            }
            out.extend(files);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            bail!("{}: no such file or directory", p.display());
        }
    }
    Ok(out)
}

/// Reads configuration files into one model.
pub fn read_config(paths: &[PathBuf]) -> anyhow::Result<ClusterConfig> {
    let mut config = ClusterConfig::new();
    for file in config_files(paths)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("{}: cannot read it as UTF-8 text", file.display()))?;
        config.read(&text, &display(&file))?;
    }
    Ok(config)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Runs the command.
pub fn run(args: ConfigArgs) -> anyhow::Result<()> {
    match args.command {
        ConfigCommand::Show(show) => {
            let mut paths = show.files.clone();
            paths.extend(show.cluster.config.iter().cloned());
            let catalogue = show.cluster.catalogue()?;
            let config = read_config(&paths)?;
            if show.json {
                println!("{}", serde_json::to_string_pretty(&config)?);
            } else {
                for line in config.describe(&catalogue) {
                    println!("{line}");
                }
            }
            Ok(())
        }
    }
}
