//! Time and identity, injected everywhere: nothing in Parley reads the system clock or a
//! random generator directly, so tests run with a manual clock and predictable SIDs.

pub mod clock;
pub mod shutdown;
pub mod sid;

pub use clock::{Clock, ManualClock, SystemClock};
pub use shutdown::Shutdown;
pub use sid::{RandomSids, SeededSids, SidGen};
