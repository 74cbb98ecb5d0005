//! Energy and carbon estimates from process CPU time.
//!
//! Method: energy = process CPU seconds (user + system, every thread) × a power per busy
//! core, and CO2 = energy × grid carbon intensity. On CPU the energy of two pipelines is
//! therefore in the ratio of their CPU times by construction; the constants only scale both.

use std::time::{Duration, Instant};

use cpu_time::ProcessTime;
use serde::Serialize;

/// Default power drawn by one busy core, in watts: about a server core's share of its
/// package TDP (the Green Algorithms calculator uses 10-15 W for common Xeons).
pub const DEFAULT_WATTS_PER_CORE: f64 = 12.0;
/// Default grid carbon intensity in kg CO2e per kWh: the world average the Green Algorithms
/// calculator uses (475 g/kWh).
pub const DEFAULT_GRID_KG_PER_KWH: f64 = 0.475;

/// Wall and CPU time of a piece of work.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Usage {
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Process CPU seconds over every thread.
    pub cpu_s: f64,
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(self, o: Usage) -> Usage {
        Usage {
            wall_s: self.wall_s + o.wall_s,
            cpu_s: self.cpu_s + o.cpu_s,
        }
    }
}

/// Runs `work` and measures its wall and CPU time.
pub fn measure<T>(work: impl FnOnce() -> T) -> (T, Usage) {
    let (wall, cpu) = (Instant::now(), ProcessTime::try_now().ok());
    let out = work();
    let cpu_s = cpu
        .and_then(|c| c.try_elapsed().ok())
        .unwrap_or(Duration::ZERO)
        .as_secs_f64();
    let wall_s = wall.elapsed().as_secs_f64();
    (out, Usage { wall_s, cpu_s })
}

/// The constants of the estimate.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EnergyModel {
    /// Watts per busy core.
    pub watts_per_core: f64,
    /// kg CO2e per kWh.
    pub grid_kg_per_kwh: f64,
}

impl Default for EnergyModel {
    fn default() -> Self {
        EnergyModel {
            watts_per_core: DEFAULT_WATTS_PER_CORE,
            grid_kg_per_kwh: DEFAULT_GRID_KG_PER_KWH,
        }
    }
}

impl EnergyModel {
    /// kWh of `usage`.
    pub fn kwh(&self, usage: Usage) -> f64 {
        usage.cpu_s * self.watts_per_core / 3.6e6
    }

    /// kg CO2e of `usage`.
    pub fn co2_kg(&self, usage: Usage) -> f64 {
        self.kwh(usage) * self.grid_kg_per_kwh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_is_cpu_seconds_times_power() {
        let model = EnergyModel {
            watts_per_core: 10.0,
            grid_kg_per_kwh: 0.5,
        };
        let hour_of_one_core = Usage {
            wall_s: 1.0,
            cpu_s: 3600.0,
        };
        assert!((model.kwh(hour_of_one_core) - 0.01).abs() < 1e-12);
        assert!((model.co2_kg(hour_of_one_core) - 0.005).abs() < 1e-12);
    }

    #[test]
    fn measure_counts_cpu_time_of_busy_work() {
        let (sum, usage) = measure(|| (0..20_000_000u64).fold(0u64, |a, x| a ^ x.wrapping_mul(31)));
        std::hint::black_box(sum);
        assert!(usage.cpu_s > 0.0 && usage.wall_s > 0.0, "{usage:?}");
    }
}
