//! genovec errors and panics as Python exceptions, and the GIL-free call wrapper.
//!
//! The exception classes are defined in Python (`genovec/_errors.py`) because `InputError`
//! is both a `GenovecError` and a `ValueError`, a multiple inheritance PyO3's
//! `create_exception!` cannot express. Every error keeps genovec's own message and its
//! snake_case code (the HTTP error code) as `.code`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;

pyo3::import_exception!(genovec._errors, InputError);
pyo3::import_exception!(genovec._errors, InternalError);

/// The exception for a genovec error: `InputError` when the caller can fix it
/// ([`genovec::Error::is_user_error`]), else `InternalError`.
pub fn to_py(e: genovec::Error) -> PyErr {
    let args = (e.to_string(), e.code());
    if e.is_user_error() {
        InputError::new_err(args)
    } else {
        InternalError::new_err(args)
    }
}

/// A caller's mistake found by the binding itself (an argument genovec never sees in this
/// form), with genovec's `invalid_argument` code.
pub fn invalid(what: &str, message: impl Into<String>) -> PyErr {
    to_py(genovec::Error::InvalidArgument {
        what: what.into(),
        message: message.into(),
    })
}

/// A failure of the binding itself (never expected: a result that does not serialise).
pub fn internal(message: impl Into<String>) -> PyErr {
    InternalError::new_err((message.into(), "internal"))
}

/// Runs `work` with the GIL released, so other Python threads run meanwhile and several
/// searches proceed in parallel. A panic is caught here and raised as `InternalError`: it
/// never unwinds into the interpreter.
pub fn detached<T: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> genovec::Result<T> + Send,
) -> PyResult<T> {
    match py.detach(move || catch_unwind(AssertUnwindSafe(work))) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(to_py(e)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(InternalError::new_err((
                format!("internal error (a bug in genovec, please report it): {what}"),
                "panic",
            )))
        }
    }
}
