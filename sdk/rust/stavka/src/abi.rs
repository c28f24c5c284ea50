//! Raw Proxy-Wasm host calls used by this crate.
//!
//! `proxy_wasm::hostcalls::{get_property, set_property, call_foreign_function}`
//! `panic!` on any status they do not expect (for example a host answering
//! `BadArgument` to a write in the wrong phase), and a panic aborts the whole
//! module. These thin wrappers call the same ABI imports (module `env`) and hand
//! every status back to the caller instead.

use proxy_wasm::types::Status;

#[cfg(target_arch = "wasm32")]
mod imports {
    extern "C" {
        pub fn proxy_get_property(
            path_data: *const u8,
            path_size: usize,
            return_value_data: *mut *mut u8,
            return_value_size: *mut usize,
        ) -> u32;
        pub fn proxy_set_property(
            path_data: *const u8,
            path_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_call_foreign_function(
            function_name_data: *const u8,
            function_name_size: usize,
            arguments_data: *const u8,
            arguments_size: usize,
            results_data: *mut *mut u8,
            results_size: *mut usize,
        ) -> u32;
    }
}

/// Native builds (unit tests of the pure helpers) have no host: every call
/// fails with `InternalFailure`, so the crate still links.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::missing_safety_doc)]
mod imports {
    const FAIL: u32 = 10;
    pub unsafe fn proxy_get_property(
        _: *const u8,
        _: usize,
        _: *mut *mut u8,
        _: *mut usize,
    ) -> u32 {
        FAIL
    }
    pub unsafe fn proxy_set_property(_: *const u8, _: usize, _: *const u8, _: usize) -> u32 {
        FAIL
    }
    pub unsafe fn proxy_call_foreign_function(
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
        _: *mut *mut u8,
        _: *mut usize,
    ) -> u32 {
        FAIL
    }
}

/// Maps an ABI status code onto the `proxy-wasm` enum (codes it has no
/// variant for become `InternalFailure`).
pub(crate) fn status(code: u32) -> Result<(), Status> {
    match code {
        0 => Ok(()),
        1 => Err(Status::NotFound),
        2 => Err(Status::BadArgument),
        4 => Err(Status::ParseFailure),
        7 => Err(Status::Empty),
        8 => Err(Status::CasMismatch),
        _ => Err(Status::InternalFailure),
    }
}

/// Takes ownership of a buffer the host allocated with `proxy_on_memory_allocate`
/// (which `proxy-wasm` implements as a boxed `[u8]` of exactly `size` bytes).
unsafe fn take(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if data.is_null() {
        None
    } else {
        Some(Vec::from_raw_parts(data, size, size))
    }
}

/// `proxy_get_property`; `Ok(None)` when the property is absent.
pub(crate) fn get_property(path: &[u8]) -> Result<Option<Vec<u8>>, Status> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    let code =
        unsafe { imports::proxy_get_property(path.as_ptr(), path.len(), &mut data, &mut size) };
    match status(code) {
        Ok(()) => Ok(unsafe { take(data, size) }),
        Err(Status::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `proxy_set_property`.
pub(crate) fn set_property(path: &[u8], value: &[u8]) -> Result<(), Status> {
    status(unsafe {
        imports::proxy_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len())
    })
}

/// `proxy_call_foreign_function`; an empty result when the host returns none.
pub(crate) fn call_foreign_function(name: &str, args: &[u8]) -> Result<Vec<u8>, Status> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    let code = unsafe {
        imports::proxy_call_foreign_function(
            name.as_ptr(),
            name.len(),
            args.as_ptr(),
            args.len(),
            &mut data,
            &mut size,
        )
    };
    status(code)?;
    Ok(unsafe { take(data, size) }.unwrap_or_default())
}
