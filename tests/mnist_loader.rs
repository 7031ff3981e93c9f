//! The examples' MNIST loader: the real files load with the published fingerprint, and a
//! missing, truncated, mislabeled or corrupt file is a clear typed error, not a panic.

#[path = "../examples/common/mnist.rs"]
#[allow(dead_code)]
mod mnist;

use std::io::Write;
use std::path::{Path, PathBuf};

use mnist::{DataError, load};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcgrad-mnist-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn idx_images(n: u32, rows: u32, cols: u32, payload: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [0x0000_0803u32, n, rows, cols] {
        v.extend(w.to_be_bytes());
    }
    v.extend(std::iter::repeat_n(7u8, payload));
    v
}

fn idx_labels(n: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [0x0000_0801u32, n] {
        v.extend(w.to_be_bytes());
    }
    v.extend(payload);
    v
}

/// A data folder of tiny but valid files (2 training and 1 test image), for corruption.
fn tiny(dir: &Path) {
    std::fs::write(
        dir.join("train-images-idx3-ubyte"),
        idx_images(2, 28, 28, 2 * 784),
    )
    .unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), idx_labels(2, &[3, 4])).unwrap();
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte"),
        idx_images(1, 28, 28, 784),
    )
    .unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), idx_labels(1, &[9])).unwrap();
}

#[test]
fn the_real_data_loads_with_its_fingerprint() {
    let data = load(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/mnist")
            .as_path(),
    )
    .unwrap();
    assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
    let mean = data
        .train
        .images
        .iter()
        .map(|&p| p as f64 / 255.0)
        .sum::<f64>()
        / data.train.images.len() as f64;
    assert!((mean - 0.13066).abs() < 1e-5, "pixel mean {mean}");
    let mut counts = [0usize; 10];
    data.test
        .labels
        .iter()
        .for_each(|&l| counts[l as usize] += 1);
    assert_eq!(
        counts,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

#[test]
fn tiny_valid_files_load_raw_and_gzipped() {
    let dir = scratch("valid");
    tiny(&dir);
    let data = load(&dir).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (2, 1));
    // gzip one of them
    let raw = std::fs::read(dir.join("t10k-labels-idx1-ubyte")).unwrap();
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), gz.finish().unwrap()).unwrap();
    assert_eq!(load(&dir).unwrap().test.labels, vec![9]);
}

#[test]
fn a_missing_file_names_what_was_looked_for() {
    let dir = scratch("missing");
    tiny(&dir);
    std::fs::remove_file(dir.join("train-labels-idx1-ubyte")).unwrap();
    let err = load(&dir).unwrap_err();
    assert!(
        matches!(&err, DataError::Missing { name, .. } if name == "train-labels-idx1-ubyte"),
        "{err}"
    );
    assert!(err.to_string().contains("--data-dir"));
}

#[test]
fn a_truncated_file_is_reported_with_sizes() {
    let dir = scratch("truncated");
    tiny(&dir);
    std::fs::write(
        dir.join("train-images-idx3-ubyte"),
        idx_images(2, 28, 28, 784 + 100),
    )
    .unwrap();
    assert!(
        matches!(load(&dir), Err(DataError::Truncated { expected, found, .. }) if expected == 16 + 2 * 784 && found == 16 + 884)
    );
    // a header cut short
    std::fs::write(
        dir.join("train-images-idx3-ubyte"),
        &idx_images(2, 28, 28, 0)[..10],
    )
    .unwrap();
    assert!(matches!(load(&dir), Err(DataError::Truncated { .. })));
    // an empty file
    std::fs::write(dir.join("train-images-idx3-ubyte"), b"").unwrap();
    assert!(matches!(load(&dir), Err(DataError::Truncated { .. })));
}

#[test]
fn wrong_magic_wrong_size_and_bad_labels_are_reported() {
    let dir = scratch("inconsistent");
    tiny(&dir);
    // labels where images belong
    std::fs::write(dir.join("train-images-idx3-ubyte"), idx_labels(2, &[1, 2])).unwrap();
    assert!(matches!(
        load(&dir),
        Err(DataError::BadMagic { found: 0x0801, .. })
    ));
    tiny(&dir);
    std::fs::write(
        dir.join("train-images-idx3-ubyte"),
        idx_images(2, 32, 32, 2 * 1024),
    )
    .unwrap();
    assert!(matches!(load(&dir), Err(DataError::Inconsistent { .. })));
    tiny(&dir);
    std::fs::write(
        dir.join("train-labels-idx1-ubyte"),
        idx_labels(3, &[1, 2, 3]),
    )
    .unwrap();
    assert!(matches!(load(&dir), Err(DataError::Inconsistent { .. })));
    tiny(&dir);
    std::fs::write(dir.join("train-labels-idx1-ubyte"), idx_labels(2, &[1, 12])).unwrap();
    assert!(matches!(load(&dir), Err(DataError::Inconsistent { .. })));
}

#[test]
fn a_corrupt_gzip_stream_is_an_io_error_naming_the_file() {
    let dir = scratch("corrupt");
    tiny(&dir);
    std::fs::remove_file(dir.join("t10k-images-idx3-ubyte")).unwrap();
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte.gz"),
        b"\x1f\x8b\x08\x00garbage that is not deflate",
    )
    .unwrap();
    let err = load(&dir).unwrap_err();
    assert!(
        matches!(&err, DataError::Io { path, .. } if path.ends_with("t10k-images-idx3-ubyte.gz")),
        "{err}"
    );
}
