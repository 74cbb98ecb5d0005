//! Where the models run: CPU by default, the first CUDA device with the `cuda` feature.

use candle_core::Device;

use crate::Result;

/// CPU, or CUDA device 0 when built with the `cuda` feature. A CUDA build on a machine whose
/// driver loads but finds no usable GPU falls back to the CPU with a warning, so the same
/// binary serves both. (A CUDA build does not start at all where `libcuda.so.1` is missing:
/// candle links the driver library dynamically.)
pub fn default_device() -> Result<Device> {
    #[cfg(feature = "cuda")]
    {
        match Device::new_cuda(0) {
            Ok(device) => Ok(device),
            Err(e) => {
                tracing::warn!("CUDA device 0 is unavailable ({e}); the models run on the CPU");
                Ok(Device::Cpu)
            }
        }
    }
    #[cfg(not(feature = "cuda"))]
    {
        Ok(Device::Cpu)
    }
}
