//! Kubernetes resource quantities (`500m`, `2`, `1.5`, `4Gi`, `512Mi`, `1e9`, `1G`), as
//! `k8s.io/apimachinery/pkg/api/resource` reads them, to plain numbers in base units.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A quantity as written in a manifest, kept as text (so it writes back unchanged) with its
/// value in base units (cores for CPU, bytes for memory).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    text: String,
    value: f64,
}

/// Why a quantity could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a Kubernetes quantity: {why} (examples: 500m, 2, 1.5, 512Mi, 4Gi, 1e9)")]
pub struct QuantityError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl Quantity {
    /// Parses a quantity. Suffixes: binary `Ki Mi Gi Ti Pi Ei`, decimal `n u m k M G T P E`, or
    /// an exponent `e3`/`E3`.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let err = |why| QuantityError {
            text: text.to_string(),
            why,
        };
        let t = text.trim();
        if t.is_empty() {
            return Err(err("it is empty"));
        }
        let number_end = t
            .char_indices()
            .find(|(i, c)| {
                !(c.is_ascii_digit() || *c == '.' || ((*c == '+' || *c == '-') && *i == 0))
            })
            .map_or(t.len(), |(i, _)| i);
        let (number, suffix) = t.split_at(number_end);
        if number.is_empty() || number == "+" || number == "-" || number == "." {
            return Err(err("it does not start with a number"));
        }
        let base: f64 = number.parse().map_err(|_| err("its number is malformed"))?;
        let multiplier = match suffix {
            "" => 1.0,
            "n" => 1e-9,
            "u" => 1e-6,
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            "Ki" => 1024.0,
            "Mi" => 1024.0f64.powi(2),
            "Gi" => 1024.0f64.powi(3),
            "Ti" => 1024.0f64.powi(4),
            "Pi" => 1024.0f64.powi(5),
            "Ei" => 1024.0f64.powi(6),
            s if s.starts_with(['e', 'E']) => {
                let exp: i32 = s[1..]
                    .parse()
                    .map_err(|_| err("its exponent is not an integer"))?;
                if exp.abs() > 30 {
                    return Err(err("its exponent is out of range"));
                }
                10f64.powi(exp)
            }
            _ => return Err(err("its suffix is unknown")),
        };
        let value = base * multiplier;
        if !value.is_finite() {
            return Err(err("it is out of range"));
        }
        Ok(Quantity {
            text: t.to_string(),
            value,
        })
    }

    /// A quantity from a plain number (YAML `cpu: 2`).
    pub fn from_number(value: f64) -> Self {
        Quantity {
            text: format_number(value),
            value,
        }
    }

    /// The value in base units: cores for CPU, bytes for memory.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// CPU cores written the way Kubernetes prints them: whole cores, else millicores.
    pub fn cpu(cores: f64) -> Self {
        let milli = (cores * 1000.0).round();
        let text = if milli % 1000.0 == 0.0 {
            format!("{}", milli / 1000.0)
        } else {
            format!("{milli}m")
        };
        Quantity { text, value: cores }
    }

    /// Bytes written in the largest binary unit that divides them (`512Mi`, `4Gi`).
    pub fn bytes(bytes: f64) -> Self {
        let whole = bytes.round();
        let mut text = format!("{whole}");
        for (suffix, unit) in [
            ("Gi", 1024f64.powi(3)),
            ("Mi", 1024f64.powi(2)),
            ("Ki", 1024.0),
        ] {
            if whole >= unit && whole % unit == 0.0 {
                text = format!("{}{suffix}", whole / unit);
                break;
            }
        }
        Quantity { text, value: bytes }
    }
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kubernetes quantity such as 500m, 2 or 4Gi")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity::from_number(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity::from_number(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                Ok(Quantity::from_number(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(text: &str, expected: Option<f64>) {
        let got = Quantity::parse(text).ok().map(|q| q.value());
        match (got, expected) {
            (Some(g), Some(e)) => assert!((g - e).abs() <= e.abs() * 1e-12, "{text}: {g} != {e}"),
            (g, e) => assert_eq!(g, e, "{text}"),
        }
    }

    #[test]
    fn quantities_in_every_form() {
        for (text, value) in [
            ("500m", Some(0.5)),
            ("2", Some(2.0)),
            ("1.5", Some(1.5)),
            ("250m", Some(0.25)),
            ("4Gi", Some(4.0 * 1024.0 * 1024.0 * 1024.0)),
            ("512Mi", Some(512.0 * 1024.0 * 1024.0)),
            ("1e9", Some(1e9)),
            ("1E3", Some(1e3)),
            ("1G", Some(1e9)),
            ("100k", Some(1e5)),
            ("128974848", Some(128_974_848.0)),
            ("129e6", Some(129e6)),
            ("123Mi", Some(123.0 * 1048576.0)),
            ("-1", Some(-1.0)),
            ("", None),
            ("Gi", None),
            ("60%", None),
            ("1.2.3", None),
            ("4GB", None),
            ("1e", None),
        ] {
            check(text, value);
        }
    }

    #[test]
    fn writes_the_way_kubernetes_prints() {
        assert_eq!(Quantity::cpu(0.5).as_str(), "500m");
        assert_eq!(Quantity::cpu(2.0).as_str(), "2");
        assert_eq!(Quantity::cpu(1.25).as_str(), "1250m");
        assert_eq!(Quantity::bytes(4.0 * 1024f64.powi(3)).as_str(), "4Gi");
        assert_eq!(Quantity::bytes(512.0 * 1024f64.powi(2)).as_str(), "512Mi");
        assert_eq!(Quantity::bytes(1000.0).as_str(), "1000");
        for q in [Quantity::cpu(0.75), Quantity::bytes(3.0 * 1024f64.powi(2))] {
            let back = Quantity::parse(q.as_str()).expect("round trip");
            assert_eq!(back.value(), q.value());
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in ".{0,24}") {
            let _ = Quantity::parse(&text);
        }
    }
}
