import COpenBLAS

/// Process-wide settings for the toolkit's executables (not called by the library itself).
public enum ProcessTuning {
    /// Keeps large allocations (up to 1 GiB) in glibc's heap instead of fresh `mmap` regions.
    ///
    /// glibc serves blocks above 32 MiB with `mmap` and returns them with `munmap` on free, so a
    /// loop that allocates a 50 MB sample every generation page-faults and zero-fills every page
    /// of it every time (about 20 ms per 50 MB here). Raising the thresholds lets freed blocks be
    /// reused. Safe to call more than once; a no-op where glibc is absent.
    public static func keepLargeAllocationsInHeap() {
        #if os(Linux)
        _ = mallopt(M_MMAP_THRESHOLD, 1 << 30)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
        #endif
    }
}
