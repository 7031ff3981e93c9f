//! Helpers the examples' training loops call: the command line, MNIST, the progress bar,
//! metrics and pictures, checkpoints, errors. The loop itself is in each example's `main`.
//! Each example includes this folder with `#[path = "../common/mod.rs"] mod common;`.
#![allow(dead_code)]

pub mod checkpoint;
pub mod cli;
pub mod data;
pub mod failure;
pub mod metrics;
pub mod mnist;
pub mod pictures;
pub mod progress;

/// Sets up the CPU thread pool the flex and ndarray backends use: `threads` workers (all
/// cores by default), each with denormal floats flushed to zero.
///
/// Long CPU trainings meet denormals (values below 1.2e-38, such as Adam's second moments of
/// rarely used weights); x86 processes them in microcode, 100x slower. PyTorch's categorical
/// VAE step slowed 60% by its third epoch on this project's machines until denormals were
/// flushed. Flushing changes results only below 1.2e-38.
pub fn init_cpu(threads: Option<usize>, flush_denormals: bool) {
    keep_large_buffers();
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        builder = builder.num_threads(n);
    }
    if flush_denormals {
        set_flush_to_zero();
        builder = builder.start_handler(|_| set_flush_to_zero());
    }
    // fails only if a pool exists already (a second call): keep that one
    let _ = builder.build_global();
}

/// Asks glibc's allocator to serve buffers up to 32 MiB from its heap and not to return freed
/// memory to the system. By default each freed tensor above a few MiB goes back to the kernel
/// and the next one of its size comes back page by page, zero-filled: on the NADE example's
/// `[B, 784, 500]` activations that page-faulting cost a third of the step time.
fn keep_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// Sets the FTZ and DAZ bits of this thread's MXCSR (x86-64; a no-op elsewhere).
fn set_flush_to_zero() {
    #[cfg(target_arch = "x86_64")]
    #[allow(deprecated)]
    unsafe {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        // FTZ (bit 15) and DAZ (bit 6)
        _mm_setcsr(_mm_getcsr() | (1 << 15) | (1 << 6));
    }
}
