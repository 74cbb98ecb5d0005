//! The store boundary: every error leaving the store names its file, and a panic inside the
//! storage engine (redb asserts on some damaged pages) becomes a typed `Corrupt` error.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use crate::{Error, Result};

thread_local! {
    /// Nesting depth of [`guarded`] calls on this thread.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The last panic caught inside [`guarded`] on this thread, as the hook described it.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs, once, a panic hook that stays quiet for panics [`guarded`] turns into errors and
/// hands every other panic to the previous hook.
fn install_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if DEPTH.with(Cell::get) > 0 {
            CAUGHT.with(|c| *c.borrow_mut() = Some(describe(info)));
        } else {
            previous(info);
        }
    }));
}

/// A panic in one line: its message and where it happened (`btree_cursor.rs:167`).
fn describe(info: &panic::PanicHookInfo) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    match info.location() {
        Some(at) => {
            let file = Path::new(at.file()).file_name().unwrap_or_default();
            format!(
                "{} at {}:{}",
                message.replace('\n', " "),
                file.to_string_lossy(),
                at.line()
            )
        }
        None => message,
    }
}

/// Runs store work on the file `path`: errors without a file get this one, and a panic is
/// reported as the file being corrupt (the in-memory state is changed only after a commit, so
/// the collection is as it was before the call).
pub fn guarded<T>(path: &Path, work: impl FnOnce() -> Result<T>) -> Result<T> {
    HOOK.call_once(install_hook);
    DEPTH.with(|d| d.set(d.get() + 1));
    let outcome = panic::catch_unwind(AssertUnwindSafe(work));
    DEPTH.with(|d| d.set(d.get() - 1));
    match outcome {
        Ok(result) => result.map_err(|e| e.in_file(path)),
        Err(_) => {
            let what = CAUGHT
                .with(|c| c.borrow_mut().take())
                .unwrap_or_else(|| "a panic".into());
            Err(Error::Corrupt {
                path: path.to_path_buf(),
                message: format!("the storage engine failed reading it ({what})"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_corrupt_naming_the_file_and_errors_get_the_file() {
        let path = Path::new("/data/x.gv");
        let err = guarded::<()>(path, || panic!("index out of bounds")).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Corrupt { .. }), "{text}");
        assert!(
            text.contains("/data/x.gv") && text.contains("index out of bounds"),
            "{text}"
        );
        let err = guarded::<()>(path, || {
            Err(Error::Storage {
                path: Default::default(),
                message: "No space left on device".into(),
            })
        })
        .unwrap_err();
        assert!(err.to_string().contains("/data/x.gv"), "{err}");
        assert_eq!(guarded(path, || Ok(3)).unwrap(), 3);
    }
}
