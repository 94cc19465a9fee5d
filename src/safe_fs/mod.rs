//! Every file `gan` writes or reads back from a directory someone else may have prepared (a run
//! directory, a checkpoint, a data directory) goes through this module.
//!
//! - [`write_atomic`]: the one crash-safe write. A reader sees the old file or the whole new
//!   one; the temporary file is created exclusively under an unpredictable name (so a symlink
//!   planted under the temp name cannot redirect it), and a target that is a symlink or not a
//!   regular file is refused before a byte is written.
//! - [`open_no_follow`]: opens only a regular file, never through a symlink or blocking on a
//!   FIFO; the readers and the appender below build on it.
//! - [`append_line`]: appends to a log (metrics.jsonl) without following a symlink.
//! - [`read_regular`]: reads a file only if it is a regular file of a bounded size, without
//!   following a symlink and without blocking on a FIFO.
//! - [`remove_stray_temps`]: deletes the temporary files and directories a crash left behind.

mod open;
pub(crate) mod read;
mod stray;
mod write;

pub use open::{open_data_file, open_no_follow};
pub use read::{open_regular, read_regular};
pub use stray::remove_stray_temps;
pub use write::{
    append_line, create_dir_durable, create_temp_dir, parent_dir, sync_dir, temp_name,
    write_atomic, TEMP_SUFFIX,
};
