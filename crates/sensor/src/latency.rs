//! A fixed-size latency histogram: 1 µs buckets up to 1 ms, then 10 µs buckets up to 100 ms,
//! and one overflow bucket. Recording is O(1) and allocation-free.

const FINE: usize = 1000; // 0..1000 µs, 1 µs each
const COARSE: usize = 9900; // 1 ms..100 ms, 10 µs each
const BUCKETS: usize = FINE + COARSE + 1;

#[derive(Clone)]
pub struct LatencyHistogram {
    counts: Box<[u64]>,
    total: u64,
    max_ns: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            max_ns: 0,
        }
    }
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.total)
            .field("p50_us", &self.percentile_us(50.0))
            .field("p99_us", &self.percentile_us(99.0))
            .field("max_us", &(self.max_ns / 1000))
            .finish()
    }
}

impl LatencyHistogram {
    pub fn record_ns(&mut self, ns: u64) {
        let us = (ns / 1000) as usize;
        let idx = if us < FINE {
            us
        } else if us < 100_000 {
            FINE + (us - FINE) / 10
        } else {
            BUCKETS - 1
        };
        self.counts[idx] += 1;
        self.total += 1;
        self.max_ns = self.max_ns.max(ns);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max_us(&self) -> f64 {
        self.max_ns as f64 / 1000.0
    }

    /// Upper bound of the bucket holding the given percentile, in µs (None when empty).
    pub fn percentile_us(&self, pct: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((pct / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let upper = if i < FINE {
                    (i + 1) as f64
                } else if i < BUCKETS - 1 {
                    (FINE + (i - FINE + 1) * 10) as f64
                } else {
                    self.max_us()
                };
                return Some(upper.min(self.max_us().max(0.001)));
            }
        }
        Some(self.max_us())
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
        self.max_ns = self.max_ns.max(other.max_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut h = LatencyHistogram::default();
        assert_eq!(h.percentile_us(50.0), None);
        for i in 1..=100u64 {
            h.record_ns(i * 10_000); // 10 µs .. 1 ms
        }
        assert_eq!(h.count(), 100);
        let p50 = h.percentile_us(50.0).unwrap();
        assert!((500.0..=502.0).contains(&p50), "{p50}");
        let p99 = h.percentile_us(99.0).unwrap();
        assert!((990.0..=1000.0).contains(&p99), "{p99}");
        h.record_ns(5_000_000_000);
        assert_eq!(h.percentile_us(100.0).unwrap(), 5_000_000.0);
    }
}
