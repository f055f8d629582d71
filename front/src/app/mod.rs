//! The application: its shared state and its router. Nothing else lives here: handlers are
//! in `routes` (one file per surface), request reading in `http`.

pub mod router;
pub mod state;
