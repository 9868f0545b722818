//! Memory: what a run will need (estimated before it starts), what the machine has, and what
//! this process uses (for the benchmark, the run record and soak checks). Linux /proc only;
//! elsewhere the measurements are None and the estimate is not enforced.

use crate::error::{Error, Result};
use crate::settings::Size;

/// Peak memory of one evaluation, measured (bytes per output pixel at the full 13-layer depth,
/// plus the weights and the runtime): see README "Numbers".
pub fn estimated_bytes(pixels: u64) -> u64 {
    FIXED_BYTES + EVALUATION_BYTES_PER_PIXEL * pixels
}

const FIXED_BYTES: u64 = 300 << 20;
// 4,000 estimated 5.0 GiB for a 1024² run that peaked at 5.1 GiB (coffee_beans; pebbles 4.7):
// raised by 10%, to 5.3 GiB there.
const EVALUATION_BYTES_PER_PIXEL: u64 = 4_400;
/// The statistics model runs the forward pass only, on the exemplar (at --exemplar-scale).
const STATISTICS_BYTES_PER_PIXEL: u64 = 2_000;
/// The host's copies of the image per output pixel (x, its logit, gradient, best, line-search
/// trial points: about ten float32 RGB buffers).
const HOST_BYTES_PER_PIXEL: u64 = 10 * 3 * 4;

/// What a run will need, by part, so that a refusal can say which part is too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub evaluation: u64,
    pub exemplar_statistics: u64,
    /// L-BFGS's correction pairs: two float32 RGB vectors per pair.
    pub solver_history: u64,
    pub host_images: u64,
}

impl Needs {
    pub fn estimate(output_pixels: u64, exemplar_pixels: u64, history_pairs: u64) -> Needs {
        Needs {
            evaluation: estimated_bytes(output_pixels),
            exemplar_statistics: STATISTICS_BYTES_PER_PIXEL.saturating_mul(exemplar_pixels),
            solver_history: history_pairs
                .saturating_mul(2 * 3 * 4)
                .saturating_mul(output_pixels),
            host_images: HOST_BYTES_PER_PIXEL.saturating_mul(output_pixels),
        }
    }

    pub fn total(&self) -> u64 {
        self.evaluation
            .saturating_add(self.exemplar_statistics)
            .saturating_add(self.solver_history)
            .saturating_add(self.host_images)
    }

    /// "3.1 GiB (evaluation 2.0, exemplar statistics 0.9, ...)".
    pub fn describe(&self) -> String {
        format!(
            "{} (one evaluation {}, the exemplar's statistics {}, the solver's history {}, \
             images {})",
            gib(self.total()),
            gib(self.evaluation),
            gib(self.exemplar_statistics),
            gib(self.solver_history),
            gib(self.host_images)
        )
    }
}

/// Bytes as GiB with one decimal.
pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Memory this process may still take: the kernel's MemAvailable, or less where an address-space
/// limit (`ulimit -v`) is lower.
pub fn usable_bytes() -> Option<u64> {
    let available = available_bytes();
    let limit = address_space_limit();
    match (available, limit) {
        (Some(a), Some(l)) => Some(a.min(l)),
        (a, l) => a.or(l),
    }
}

/// `ulimit -v` (RLIMIT_AS) in bytes, None when unlimited.
fn address_space_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Refuse, with the numbers, a run that would not fit in the memory this process may take: one
/// evaluation at the output `size`, the statistics of the exemplar (`exemplar`, after
/// `exemplar_scale`), the solver's `history` pairs. Returns what it will need.
pub fn check(
    size: Size,
    exemplar: (u32, u32),
    exemplar_scale: f32,
    history: usize,
) -> Result<Needs> {
    let exemplar_pixels = exemplar.0 as u64 * exemplar.1 as u64;
    let needs = Needs::estimate(size.pixels(), exemplar_pixels, history as u64);
    let Some(usable) = usable_bytes() else {
        return Ok(needs);
    };
    if needs.total() <= usable {
        return Ok(needs);
    }
    let hint = if needs.exemplar_statistics > needs.evaluation {
        format!(
            "the exemplar is {}x{} after --exemplar-scale: pass a smaller --exemplar-scale \
             (e.g. {:.2}) or resize it",
            exemplar.0,
            exemplar.1,
            (512.0 / exemplar.0.max(exemplar.1) as f64).min(1.0) * exemplar_scale as f64
        )
    } else if needs.solver_history > needs.evaluation {
        "choose a smaller --history".to_string()
    } else {
        "choose a smaller --size".to_string()
    };
    Err(Error::OutOfMemory(format!(
        "a {size} run needs about {} and {} are available: {hint}",
        needs.describe(),
        gib(usable)
    )))
}

/// An allocation that failed in ONNX Runtime, told with the size and the memory estimated.
pub fn explain(e: Error, size: Size, needs: &Needs) -> Error {
    match e {
        Error::OutOfMemory(message) => Error::OutOfMemory(format!(
            "{message} (a {size} run, estimated to need {})",
            needs.describe()
        )),
        e => e,
    }
}

/// Memory the kernel says is available to new work (MemAvailable).
pub fn available_bytes() -> Option<u64> {
    proc_kib("/proc/meminfo", "MemAvailable:")
}

/// This process's resident memory now (VmRSS).
pub fn resident_bytes() -> Option<u64> {
    proc_kib("/proc/self/status", "VmRSS:")
}

/// This process's peak resident memory so far (VmHWM).
pub fn peak_resident_bytes() -> Option<u64> {
    proc_kib("/proc/self/status", "VmHWM:")
}

/// A `Key:   1234 kB` line of a /proc file, in bytes.
fn proc_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_is_measured_on_linux() {
        let (now, peak) = (
            super::resident_bytes().unwrap(),
            super::peak_resident_bytes().unwrap(),
        );
        assert!(now > 1 << 20 && peak >= now, "{now} {peak}");
        assert!(super::available_bytes().unwrap() > 0);
    }
}
