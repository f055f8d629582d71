//! The store's statements, each prepared once per backend with a **generic plan**, and run.
//!
//! Parsing and analysing a statement's text was most of a short statement's cost, so each
//! `sql/queries` text is prepared once per backend and kept. Planning was the next cost:
//! Postgres's plan cache makes a custom plan for every execution of a statement whose generic
//! plan it estimates dearer than the custom ones, and it does estimate so for every statement
//! that takes an array (`unnest($2)`, `= ANY($1)`: a generic plan assumes ten elements, a
//! custom one counts them), so those were planned again on every call — 113 µs of each
//! 128 µs of the grounds check that every redemption, refresh and consent runs (profiled in
//! docs/benchmarks.md). Our statements are point lookups and single-row writes by key, whose
//! best plan does not depend on the values, so they are prepared with
//! `CURSOR_OPT_GENERIC_PLAN`: planned once, replanned only when Postgres invalidates the plan
//! (a table, an index or the search_path changed, new statistics, the role under RLS), so a
//! cached plan never runs against a schema it was not made for. `plan_rules.rs` checks that
//! the plans chosen are the index lookups meant.
//!
//! pgrx's prepared statements cannot ask for that option, so this module calls SPI itself
//! and hands each result row to pgrx's typed row reader.

use crate::error::{internal, MisuseError};
use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;
use pgrx::spi::{SpiClient, SpiHeapTupleData};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CString;
use std::ptr::NonNull;
use std::rc::Rc;

/// A statement kept for the life of the backend.
struct Plan {
    ptr: NonNull<pg_sys::_SPI_plan>,
}

/// A query's text (address and length) and its argument types.
type PlanKey = (usize, usize, Vec<pg_sys::Oid>);

thread_local! {
    /// Plans by (query text address and length, argument types): the texts are `'static`, so
    /// address and length name the query (identical texts the linker merged are the same
    /// query), and the cache is bounded by the queries compiled in. Never freed: a backend
    /// keeps them until it exits, as it keeps its catalog caches.
    static PLANS: RefCell<HashMap<PlanKey, Rc<Plan>>> = RefCell::new(HashMap::new());
}

/// What a statement returned: its rows (at most `limit`) and how many rows it processed.
pub(super) struct Ran<'conn> {
    pub rows: Vec<SpiHeapTupleData<'conn>>,
    pub processed: usize,
}

fn prepare(sql: &'static str, oids: &[pg_sys::Oid]) -> Result<Plan, MisuseError> {
    let text = CString::new(sql).map_err(|_| internal("a query text contains NUL"))?;
    let mut types = oids.to_vec();
    // SAFETY: the text and the type array outlive the call; SPI copies both. An error in the
    // text raises a Postgres ERROR, which pgrx's FFI guard turns into one of ours.
    let ptr = unsafe {
        pg_sys::SPI_prepare_cursor(
            text.as_ptr(),
            types.len() as i32,
            types.as_mut_ptr(),
            pg_sys::CURSOR_OPT_GENERIC_PLAN as i32,
        )
    };
    let ptr = NonNull::new(ptr).ok_or_else(|| {
        internal(format!("SPI_prepare_cursor failed ({})", unsafe {
            pg_sys::SPI_result
        }))
    })?;
    // SAFETY: a plan SPI just made; kept, it moves to a context that lives with the backend.
    if unsafe { pg_sys::SPI_keepplan(ptr.as_ptr()) } != 0 {
        return Err(internal("SPI_keepplan failed"));
    }
    Ok(Plan { ptr })
}

fn plan_of(sql: &'static str, oids: Vec<pg_sys::Oid>) -> Result<Rc<Plan>, MisuseError> {
    let key = (sql.as_ptr() as usize, sql.len(), oids);
    if let Some(plan) = PLANS.with(|plans| plans.borrow().get(&key).cloned()) {
        return Ok(plan);
    }
    let plan = Rc::new(prepare(sql, &key.2)?);
    PLANS.with(|plans| plans.borrow_mut().insert(key, plan.clone()));
    Ok(plan)
}

/// Runs `sql` with `args` inside the caller's SPI connection (`client` proves there is one).
/// At most `limit` rows are returned (`None`: all).
pub(super) fn run<'conn>(
    _client: &mut SpiClient<'conn>,
    sql: &'static str,
    limit: Option<std::os::raw::c_long>,
    args: &[DatumWithOid],
) -> Result<Ran<'conn>, MisuseError> {
    let plan = plan_of(sql, args.iter().map(|a| a.oid()).collect())?;
    let mut datums: Vec<pg_sys::Datum> = Vec::with_capacity(args.len());
    let mut nulls: Vec<std::os::raw::c_char> = Vec::with_capacity(args.len());
    for a in args {
        match a.datum() {
            Some(d) => {
                datums.push(d.sans_lifetime());
                nulls.push(b' ' as std::os::raw::c_char);
            }
            None => {
                datums.push(pg_sys::Datum::from(0usize));
                nulls.push(b'n' as std::os::raw::c_char);
            }
        }
    }
    // SAFETY: inside an SPI connection; the plan is kept; datums and nulls have the plan's
    // argument count (the key includes the argument types, so the count matches). Not
    // read-only: each statement takes a fresh snapshot and sees the call's earlier writes.
    // A statement that cannot write asks for no transaction id, so a call that only reads
    // writes no commit record and runs on a hot standby; one that writes gets its id from the
    // executor at its first write.
    let status = unsafe {
        pg_sys::SPI_tuptable = std::ptr::null_mut();
        pg_sys::SPI_execute_plan(
            plan.ptr.as_ptr(),
            datums.as_mut_ptr(),
            nulls.as_ptr(),
            false,
            limit.unwrap_or(0),
        )
    };
    if status < 0 {
        return Err(internal(format!("SPI_execute_plan failed ({status})")));
    }
    // SAFETY: SPI_tuptable and SPI_processed describe the statement just run, in the
    // connection's memory, which outlives `'conn`'s use by the caller.
    unsafe {
        let processed = pg_sys::SPI_processed as usize;
        let table = pg_sys::SPI_tuptable;
        let mut rows = Vec::new();
        if !table.is_null() {
            let n = (*table).numvals as usize;
            rows.reserve(n);
            for i in 0..n {
                let htup = *(*table).vals.add(i);
                if let Some(row) = SpiHeapTupleData::new((*table).tupdesc, htup)
                    .map_err(|e| internal(format!("SPI row: {e}")))?
                {
                    rows.push(row);
                }
            }
        }
        Ok(Ran { rows, processed })
    }
}
