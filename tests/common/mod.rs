//! Shared by the integration tests: the device under test, chosen by name.
#![allow(dead_code)]

use burn::prelude::*;

/// The device the tests run on: `MCGRAD_TEST_DEVICE=flex|ndarray|wgpu` (default flex). A
/// device whose feature is not compiled in is an error, not a silent fallback.
pub fn device() -> Device {
    let name = std::env::var("MCGRAD_TEST_DEVICE").unwrap_or_else(|_| "flex".into());
    match name.as_str() {
        "flex" => Device::flex(),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Device::ndarray(),
        #[cfg(feature = "wgpu")]
        "wgpu" => Device::wgpu(Default::default()),
        other => panic!("MCGRAD_TEST_DEVICE={other}: unknown device or feature not compiled in"),
    }
}

/// A tensor's values as `f64`.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.try_into_vec_as::<f32>()
        .expect("a float tensor")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// A `[rows, cols]` tensor from row-major values.
pub fn matrix(rows: usize, cols: usize, v: Vec<f32>, device: &Device) -> Tensor<2> {
    Tensor::from_data(burn::tensor::TensorData::new(v, [rows, cols]), device)
}
