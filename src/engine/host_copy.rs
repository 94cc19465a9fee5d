//! Host copies of raw dfdx buffers (optimizer moments, gradients), which checkpoints and the
//! paper's diagnostics read and write as `f32` slices. CPU buffers are host memory already;
//! CUDA buffers go through a device↔host copy.

use dfdx::tensor::Storage;

use super::Dev;

/// One raw buffer of the engine's device.
pub type Buf = <Dev as Storage<f32>>::Vec;

/// The buffer's values on the host.
#[cfg(not(feature = "cuda"))]
pub fn to_host(buf: &Buf) -> Vec<f32> {
    buf.to_vec()
}

/// Overwrites the buffer with `values`, or says how many it holds when the lengths differ.
#[cfg(not(feature = "cuda"))]
pub fn try_from_host(buf: &mut Buf, values: &[f32]) -> Result<(), usize> {
    if buf.len() != values.len() {
        return Err(buf.len());
    }
    buf.copy_from_slice(values);
    Ok(())
}

/// The buffer's values on the host.
#[cfg(feature = "cuda")]
pub fn to_host(buf: &Buf) -> Vec<f32> {
    buf.device()
        .dtoh_sync_copy(buf)
        .expect("copying a buffer from the GPU")
}

/// Overwrites the buffer with `values`, or says how many it holds when the lengths differ.
#[cfg(feature = "cuda")]
pub fn try_from_host(buf: &mut Buf, values: &[f32]) -> Result<(), usize> {
    use cudarc::driver::DeviceSlice;
    if buf.len() != values.len() {
        return Err(buf.len());
    }
    buf.device()
        .htod_sync_copy_into(values, buf)
        .expect("copying a buffer to the GPU");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::prelude::*;

    #[test]
    fn a_buffer_round_trips_through_the_host_and_refuses_another_length() {
        let dev = super::super::device();
        let t: Tensor<(usize,), f32, Dev> = dev.zeros_like(&(3,));
        let mut grads = Gradients::<f32, Dev>::leaky();
        let buf = grads.get_or_alloc_mut(&t).unwrap();
        assert_eq!(to_host(buf), vec![0.0; 3]);
        try_from_host(buf, &[1.0, -2.5, 3.0]).unwrap();
        assert_eq!(to_host(buf), vec![1.0, -2.5, 3.0]);
        assert_eq!(try_from_host(buf, &[1.0]), Err(3));
        assert_eq!(to_host(buf), vec![1.0, -2.5, 3.0]);
    }
}
