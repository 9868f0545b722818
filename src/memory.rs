//! Memory: what a run will need (estimated before it starts), what the machine has, and what
//! this process uses (for the benchmark, the run record and soak checks). Linux /proc only;
//! elsewhere the measurements are None and the estimate is not enforced.

/// Peak memory of one evaluation, measured (bytes per output pixel at the full 13-layer depth,
/// plus the weights and the runtime): see README "Numbers".
pub fn estimated_bytes(pixels: u64) -> u64 {
    const BYTES_PER_PIXEL: u64 = 4_000;
    const FIXED: u64 = 300 << 20;
    FIXED + BYTES_PER_PIXEL * pixels
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
