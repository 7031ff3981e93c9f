//! PNG grids of MNIST-sized images: samples, reconstructions, codes.

use std::path::Path;

use burn::prelude::*;

use super::checkpoint::partial_path;
use super::failure::Failure;

/// Saves a grid of 28×28 grayscale images (intensities in [0, 1], row-major, 784 values
/// each), `cols` per row, scaled up 2×, with a 2-pixel border. Written atomically (to a
/// `.partial` file, then renamed).
pub fn save_grid(path: &Path, images: &[f32], cols: usize) -> Result<(), Failure> {
    const SIDE: usize = 28;
    const SCALE: usize = 2;
    const GAP: usize = 2;
    let n = images.len() / (SIDE * SIDE);
    let rows = n.div_ceil(cols).max(1);
    let cell = SIDE * SCALE + GAP;
    let (w, h) = (cols * cell + GAP, rows * cell + GAP);
    let mut img = image::GrayImage::from_pixel(w as u32, h as u32, image::Luma([64]));
    for k in 0..n {
        let (r, c) = (k / cols, k % cols);
        for y in 0..SIDE * SCALE {
            for x in 0..SIDE * SCALE {
                let v = images[k * SIDE * SIDE + (y / SCALE) * SIDE + x / SCALE].clamp(0.0, 1.0);
                let px = (GAP + c * cell + x) as u32;
                let py = (GAP + r * cell + y) as u32;
                img.put_pixel(px, py, image::Luma([(v * 255.0).round() as u8]));
            }
        }
    }
    let partial = partial_path(path);
    img.save_with_format(&partial, image::ImageFormat::Png)
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::rename(&partial, path).map_err(|e| e.to_string()))
        .map_err(|e| {
            Failure::file(
                path,
                "cannot write the picture",
                e,
                "check the out dir's disk",
            )
        })
}

/// The values of a tensor of images, on the host.
pub fn pixels<const D: usize>(images: Tensor<D>) -> Vec<f32> {
    images
        .try_into_vec_as::<f32>()
        .expect("a float tensor converts to f32")
}
