//! The recommendation model: user and item embeddings generated from a seed, candidate
//! retrieval on a coarse prefix of the dimensions over every item, then re-ranking of the
//! candidates on all dimensions plus an item bias. The inner loops are dot products over
//! fixed-width chunks with independent accumulators, which the compiler vectorises.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// The model's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelConfig {
    /// Users with an embedding (ids beyond wrap around).
    pub users: usize,
    /// Items in the catalogue.
    pub items: usize,
    /// Embedding dimensions (a multiple of 8).
    pub dims: usize,
    /// Leading dimensions scored over every item in retrieval (a multiple of 8).
    pub coarse_dims: usize,
    /// Candidates kept by retrieval for re-ranking.
    pub candidates: usize,
    /// Seed of the tables.
    pub seed: u64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            users: 100_000,
            items: 100_000,
            dims: 64,
            coarse_dims: 16,
            candidates: 200,
            seed: 1,
        }
    }
}

/// Why a model cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ModelError(pub String);

/// The tables.
#[derive(Debug, Clone)]
pub struct Model {
    cfg: ModelConfig,
    users: Vec<f32>,
    /// Items' coarse prefixes, contiguous (what retrieval scans).
    coarse: Vec<f32>,
    /// Items' full embeddings.
    items: Vec<f32>,
    bias: Vec<f32>,
}

/// One recommended item.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scored {
    /// Item id.
    pub id: u32,
    /// Its score.
    pub score: f32,
}

impl Model {
    /// Generates the tables from the seed.
    pub fn generate(cfg: ModelConfig) -> Result<Model, ModelError> {
        if cfg.dims == 0 || !cfg.dims.is_multiple_of(8) {
            return Err(ModelError(format!(
                "dims {}: expected a positive multiple of 8",
                cfg.dims
            )));
        }
        if cfg.coarse_dims == 0 || !cfg.coarse_dims.is_multiple_of(8) || cfg.coarse_dims > cfg.dims
        {
            return Err(ModelError(format!(
                "coarse dims {}: expected a multiple of 8 up to dims",
                cfg.coarse_dims
            )));
        }
        if cfg.users == 0 || cfg.items == 0 || cfg.items > u32::MAX as usize {
            return Err(ModelError("users and items: expected at least one".into()));
        }
        if cfg.users.saturating_mul(cfg.dims) > 1 << 30
            || cfg.items.saturating_mul(cfg.dims) > 1 << 30
        {
            return Err(ModelError(
                "the tables would take more than 4 GiB: fewer users, items or dims".into(),
            ));
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
        let mut table = |rows: usize| -> Vec<f32> {
            let mut t = Vec::with_capacity(rows * cfg.dims);
            for _ in 0..rows {
                let start = t.len();
                for j in 0..cfg.dims {
                    // A sum of two uniforms (centred, bounded, cheap), with variance falling
                    // along the dimensions as after a rotation to principal components: the
                    // leading ones carry most of a score, so retrieval on them finds the best.
                    let v: f32 = rng.random::<f32>() + rng.random::<f32>() - 1.0;
                    t.push(v * (-(j as f32) / 12.0).exp());
                }
                let norm = t[start..]
                    .iter()
                    .map(|v| v * v)
                    .sum::<f32>()
                    .sqrt()
                    .max(1e-6);
                for v in &mut t[start..] {
                    *v /= norm;
                }
            }
            t
        };
        let users = table(cfg.users);
        let items = table(cfg.items);
        let mut coarse = Vec::with_capacity(cfg.items * cfg.coarse_dims);
        for row in items.chunks_exact(cfg.dims) {
            coarse.extend_from_slice(&row[..cfg.coarse_dims]);
        }
        let bias = (0..cfg.items)
            .map(|_| 0.05 * (rng.random::<f32>() - 0.5))
            .collect();
        Ok(Model {
            cfg,
            users,
            coarse,
            items,
            bias,
        })
    }

    /// The model's size.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// The `k` best items for a user, best first.
    pub fn recommend(&self, user_id: u64, k: usize) -> Vec<Scored> {
        let d = self.cfg.dims;
        let cd = self.cfg.coarse_dims;
        let u = (user_id % self.cfg.users as u64) as usize;
        let user = &self.users[u * d..(u + 1) * d];
        // Retrieval: every item on the coarse prefix.
        let mut scored: Vec<(f32, u32)> = self
            .coarse
            .chunks_exact(cd)
            .enumerate()
            .map(|(i, row)| (dot(&user[..cd], row), i as u32))
            .collect();
        let keep = self.cfg.candidates.max(k).min(scored.len());
        if keep < scored.len() {
            scored.select_nth_unstable_by(keep - 1, |a, b| b.0.total_cmp(&a.0));
            scored.truncate(keep);
        }
        // Re-ranking: the candidates on every dimension, plus the item's bias.
        let mut ranked: Vec<Scored> = scored
            .iter()
            .map(|&(_, i)| {
                let row = &self.items[i as usize * d..(i as usize + 1) * d];
                Scored {
                    id: i,
                    score: dot(user, row) + self.bias[i as usize],
                }
            })
            .collect();
        ranked.sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        ranked.truncate(k);
        ranked
    }
}

/// A dot product over chunks of 8 with 8 accumulators (lengths are multiples of 8).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ModelConfig {
        ModelConfig {
            users: 100,
            items: 5_000,
            candidates: 100,
            ..ModelConfig::default()
        }
    }

    #[test]
    fn recommendations_are_the_best_items_best_first_and_reproducible() {
        let m = Model::generate(small()).expect("model");
        let r = m.recommend(7, 20);
        assert_eq!(r.len(), 20);
        assert!(r.windows(2).all(|w| w[0].score >= w[1].score));
        assert_eq!(r, Model::generate(small()).expect("again").recommend(7, 20));
        assert_ne!(r, m.recommend(8, 20));
        // Ids wrap around the users table.
        assert_eq!(m.recommend(107, 5), m.recommend(7, 5));
        // Against brute force on every dimension: retrieval keeps the true best few.
        let d = 64;
        let user = &m.users[7 * d..8 * d];
        let mut all: Vec<(f32, u32)> = (0..5_000u32)
            .map(|i| {
                let row = &m.items[i as usize * d..(i as usize + 1) * d];
                (dot(user, row) + m.bias[i as usize], i)
            })
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0));
        let found: Vec<u32> = r.iter().map(|s| s.id).collect();
        let top5_found = all[..5].iter().filter(|(_, i)| found.contains(i)).count();
        assert!(top5_found >= 3, "{top5_found} of the true top 5");
    }

    #[test]
    fn bad_sizes_are_refused() {
        for cfg in [
            ModelConfig {
                dims: 60,
                ..small()
            },
            ModelConfig {
                coarse_dims: 72,
                ..small()
            },
            ModelConfig {
                items: 0,
                ..small()
            },
        ] {
            assert!(Model::generate(cfg).is_err());
        }
    }
}
