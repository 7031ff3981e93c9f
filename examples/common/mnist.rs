//! MNIST in IDX format (gzip or raw): loading with clear errors, binarization, batches.
//!
//! The IDX format (LeCun et al.): a big-endian header, magic `0x00000803` for images
//! (followed by count, rows, cols) or `0x00000801` for labels (followed by count), then one
//! unsigned byte per pixel or label.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::TensorData;
use mcgrad::{NoiseSource, StandardNoise};

/// What can go wrong reading MNIST.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Neither the raw nor the gzip file is there.
    #[error(
        "MNIST file not found: looked for {name} and {name}.gz in {dir} (copy the IDX files there, or pass --data-dir)"
    )]
    Missing { dir: PathBuf, name: String },
    /// The file could not be read, or its gzip stream is corrupt.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The header does not start with the expected magic number.
    #[error(
        "{path}: not an IDX {kind} file (magic number {found:#010x}, expected {expected:#010x})"
    )]
    BadMagic {
        path: PathBuf,
        kind: &'static str,
        found: u32,
        expected: u32,
    },
    /// Fewer bytes than the header announces.
    #[error("{path}: truncated: the header announces {expected} bytes, the file holds {found}")]
    Truncated {
        path: PathBuf,
        expected: usize,
        found: usize,
    },
    /// Images of a size other than 28 × 28, or counts of images and labels that differ.
    #[error("{path}: {what}")]
    Inconsistent { path: PathBuf, what: String },
}

/// One split of MNIST: `n` images of 784 bytes and their labels.
#[derive(Debug, Clone)]
pub struct Split {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// The first `n` examples (all if `n` is larger).
    pub fn truncate(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.images.truncate(n * PIXELS);
        self.labels.truncate(n);
        self
    }

    /// Image `i` as intensities in [0, 1].
    pub fn intensities(&self, i: usize) -> impl Iterator<Item = f32> + '_ {
        self.images[i * PIXELS..(i + 1) * PIXELS]
            .iter()
            .map(|&p| p as f32 / 255.0)
    }
}

/// Pixels per image.
pub const PIXELS: usize = 28 * 28;

/// The training and test splits.
#[derive(Debug, Clone)]
pub struct Mnist {
    pub train: Split,
    pub test: Split,
}

/// Loads the four IDX files from `dir` (raw or `.gz`).
pub fn load(dir: &Path) -> Result<Mnist, DataError> {
    let split = |images: &str, labels: &str| -> Result<Split, DataError> {
        let (ipath, idata) = read_named(dir, images)?;
        let (lpath, ldata) = read_named(dir, labels)?;
        let (idims, pixels) = parse_idx(&ipath, &idata, 0x0000_0803, "images")?;
        let (ldims, labels) = parse_idx(&lpath, &ldata, 0x0000_0801, "labels")?;
        if idims[1..] != [28, 28] {
            return Err(DataError::Inconsistent {
                path: ipath,
                what: format!("images are {}x{}, expected 28x28", idims[1], idims[2]),
            });
        }
        if idims[0] != ldims[0] {
            return Err(DataError::Inconsistent {
                path: lpath,
                what: format!("{} labels for {} images", ldims[0], idims[0]),
            });
        }
        if let Some(&bad) = labels.iter().find(|&&l| l > 9) {
            return Err(DataError::Inconsistent {
                path: lpath,
                what: format!("label {bad} outside 0..=9"),
            });
        }
        Ok(Split {
            images: pixels.to_vec(),
            labels: labels.to_vec(),
        })
    };
    Ok(Mnist {
        train: split("train-images-idx3-ubyte", "train-labels-idx1-ubyte")?,
        test: split("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?,
    })
}

/// Reads `dir/name`, or `dir/name.gz` decompressed.
fn read_named(dir: &Path, name: &str) -> Result<(PathBuf, Vec<u8>), DataError> {
    let raw = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    if raw.is_file() {
        Ok((raw.clone(), read_file(&raw)?))
    } else if gz.is_file() {
        Ok((gz.clone(), read_file(&gz)?))
    } else {
        Err(DataError::Missing {
            dir: dir.to_path_buf(),
            name: name.to_string(),
        })
    }
}

/// Reads a file, decompressing it when it ends in `.gz`.
pub fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut out = Vec::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut out)
            .map_err(io)?;
    } else {
        file.read_to_end(&mut out).map_err(io)?;
    }
    Ok(out)
}

/// Parses an IDX file of unsigned bytes: its dimensions and its payload.
pub fn parse_idx<'a>(
    path: &Path,
    data: &'a [u8],
    magic: u32,
    kind: &'static str,
) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let truncated = |expected| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        found: data.len(),
    };
    let word = |i: usize| -> Option<u32> {
        data.get(4 * i..4 * i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let found = word(0).ok_or_else(|| truncated(4))?;
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            kind,
            found,
            expected: magic,
        });
    }
    let rank = (magic & 0xff) as usize;
    let header = 4 * (1 + rank);
    let dims: Vec<usize> = (1..=rank)
        .map(|i| word(i).map(|d| d as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| truncated(header))?;
    let expected = header + dims.iter().product::<usize>();
    if data.len() < expected {
        return Err(truncated(expected));
    }
    Ok((dims, &data[header..expected]))
}

/// How pixel intensities become the model's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Binarization {
    /// Intensities in [0, 1] as they are.
    None,
    /// A fresh Bernoulli draw per pixel each time an image is used (Salakhutdinov & Murray's
    /// dynamic binarization).
    Dynamic,
    /// One Bernoulli draw per pixel, made once with a fixed seed (the classic binarized MNIST).
    Fixed,
}

/// A split prepared for a binarization: for `Fixed`, drawn once here with `seed`.
#[derive(Debug, Clone)]
pub struct Prepared {
    split: Split,
    mode: Binarization,
}

impl Prepared {
    pub fn new(split: Split, mode: Binarization, seed: u64) -> Self {
        let split = if mode == Binarization::Fixed {
            let mut noise = NoiseSource::seed_from_u64(seed);
            let u = noise.vec(StandardNoise::Uniform, split.images.len());
            let images = split
                .images
                .iter()
                .zip(u)
                .map(|(&p, u)| u8::from(u < p as f32 / 255.0))
                .map(|b| b * 255)
                .collect();
            Split {
                images,
                labels: split.labels,
            }
        } else {
            split
        };
        Self { split, mode }
    }

    pub fn len(&self) -> usize {
        self.split.len()
    }

    pub fn labels(&self) -> &[u8] {
        &self.split.labels
    }

    /// The images `indices` as a `[B, 784]` tensor; `Dynamic` draws its Bernoulli pixels from
    /// `noise`.
    pub fn batch(&self, indices: &[usize], noise: &mut NoiseSource, device: &Device) -> Tensor<2> {
        let mut data = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            data.extend(self.split.intensities(i));
        }
        if self.mode == Binarization::Dynamic {
            let u = noise.vec(StandardNoise::Uniform, data.len());
            for (p, u) in data.iter_mut().zip(u) {
                *p = f32::from(u8::from(u < *p));
            }
        }
        Tensor::from_data(TensorData::new(data, [indices.len(), PIXELS]), device)
    }
}

/// A shuffled order of `0..n` for one epoch (Fisher-Yates with the run's noise source).
pub fn shuffled(n: usize, noise: &mut NoiseSource) -> Vec<usize> {
    use rand::RngExt;
    let mut order: Vec<usize> = (0..n).collect();
    let rng = noise.rng();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    order
}
