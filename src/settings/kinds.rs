//! How each kind of setting is kept by PostgreSQL and read back, and the `settings!` macro that
//! turns the table in `settings/mod.rs` into a registration ([`init`](super::init)) and one
//! accessor per setting.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting, GucValue};
use std::ffi::{CStr, CString};

/// Declares the settings of the table above. For each: a field of `SETTINGS` (where PostgreSQL
/// writes the value), a line of [`init`] that registers it, and its accessor, which reads the
/// value as its kind does, then through `read` if given, then `Into` the accessor's type.
/// Every setting is SUSET (the module's first paragraph says why) unless its entry names a
/// stricter `context` (SIGHUP: only postgresql.conf), never a looser one. Never POSTMASTER: such
/// a setting cannot be defined by a library loaded after the server started. `flags` adds to the kind's own (seconds are `GUC_UNIT_S`); `bounds` is `(min, max)`, required
/// for numbers and refused for the rest, by type.
macro_rules! settings {
    (@bounds) => { () };
    (@bounds $bounds:expr) => { $bounds };
    (@context) => { pgrx::guc::GucContext::Suset };
    (@context Sighup) => { pgrx::guc::GucContext::Sighup };
    ($(
        $(#[$doc:meta])*
        pub fn $get:ident() -> $ret:ty {
            name: $name:expr,
            kind: $kind:ident,
            default: $default:expr,
            $(bounds: $bounds:expr,)?
            $(flags: $flags:expr,)?
            $(context: $context:ident,)?
            short: $short:expr,
            long: $long:expr,
            $(read: $read:expr,)?
        }
    )*) => {
        /// Where PostgreSQL keeps each setting's value.
        struct Settings {
            $($get: GucSetting<<$kind as Kind>::Guc>,)*
        }

        static SETTINGS: Settings = Settings {
            $($get: GucSetting::<<$kind as Kind>::Guc>::new($default),)*
        };

        /// Registers every setting (`_PG_init`).
        pub fn init() {
            $(
                <<$kind as Kind>::Guc as Stored>::define(
                    $name,
                    $short,
                    $long,
                    &SETTINGS.$get,
                    settings!(@bounds $($bounds)?),
                    settings!(@context $($context)?),
                    <$kind as Kind>::FLAGS $(| $flags)?,
                );
            )*
        }

        $(
            $(#[$doc])*
            pub fn $get() -> $ret {
                let value = <$kind as Kind>::read(&SETTINGS.$get, $default);
                $(let value = apply(value, $read);)?
                value.into()
            }
        )*
    };
}
pub(super) use settings;

/// Calls a table entry's `read` with its parameter's type known.
pub(super) fn apply<T, R>(value: T, read: impl FnOnce(T) -> R) -> R {
    read(value)
}

/// How a kind of setting is kept by PostgreSQL and read back.
pub(super) trait Kind {
    /// What PostgreSQL keeps.
    type Guc: Stored;
    /// The default, as `GucSetting::new` takes it (PostgreSQL's `boot_val`).
    type Boot;
    /// What the accessor starts from.
    type Value;
    /// The flags of every setting of this kind.
    const FLAGS: GucFlags = GucFlags::empty();
    fn read(setting: &GucSetting<Self::Guc>, default: Self::Boot) -> Self::Value;
}

/// Text; unset or blank reads as `None`, and the value is trimmed.
pub(super) struct Text;
/// Text that is never empty: unset or blank reads as the default.
pub(super) struct TextOrDefault;
/// A comma-separated list; the items are trimmed and blank ones dropped.
pub(super) struct List;
/// An integer number of seconds (so `SET … = '5min'` works).
pub(super) struct Seconds;
/// An integer number of milliseconds (so `… = '2s'` works).
pub(super) struct Milliseconds;
/// An integer without a unit.
pub(super) struct Number;
/// On or off.
pub(super) struct Bool;

fn text(setting: &GucSetting<Option<CString>>) -> Option<String> {
    setting
        .get()
        .and_then(|c| c.into_string().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl Kind for Text {
    type Guc = Option<CString>;
    type Boot = Option<&'static CStr>;
    type Value = Option<String>;
    fn read(setting: &GucSetting<Self::Guc>, _: Self::Boot) -> Option<String> {
        text(setting)
    }
}

impl Kind for TextOrDefault {
    type Guc = Option<CString>;
    type Boot = Option<&'static CStr>;
    type Value = String;
    fn read(setting: &GucSetting<Self::Guc>, default: Self::Boot) -> String {
        text(setting).unwrap_or_else(|| {
            default
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    }
}

impl Kind for List {
    type Guc = Option<CString>;
    type Boot = Option<&'static CStr>;
    type Value = Vec<String>;
    fn read(setting: &GucSetting<Self::Guc>, _: Self::Boot) -> Vec<String> {
        text(setting)
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

impl Kind for Seconds {
    type Guc = i32;
    type Boot = i32;
    type Value = i32;
    const FLAGS: GucFlags = GucFlags::UNIT_S;
    fn read(setting: &GucSetting<i32>, _: i32) -> i32 {
        setting.get()
    }
}

impl Kind for Milliseconds {
    type Guc = i32;
    type Boot = i32;
    type Value = i32;
    const FLAGS: GucFlags = GucFlags::UNIT_MS;
    fn read(setting: &GucSetting<i32>, _: i32) -> i32 {
        setting.get()
    }
}

impl Kind for Number {
    type Guc = i32;
    type Boot = i32;
    type Value = i32;
    fn read(setting: &GucSetting<i32>, _: i32) -> i32 {
        setting.get()
    }
}

impl Kind for Bool {
    type Guc = bool;
    type Boot = bool;
    type Value = bool;
    fn read(setting: &GucSetting<bool>, _: bool) -> bool {
        setting.get()
    }
}

/// A type PostgreSQL keeps a setting in, and how such a setting is registered. Every one is
/// SUSET (the module's first paragraph says why).
pub(super) trait Stored: GucValue + Sized + 'static {
    /// `(min, max)` for integers; `()` for the rest.
    type Bounds;
    fn define(
        name: &'static CStr,
        short: &'static CStr,
        long: &'static CStr,
        setting: &'static GucSetting<Self>,
        bounds: Self::Bounds,
        context: GucContext,
        flags: GucFlags,
    );
}

impl Stored for Option<CString> {
    type Bounds = ();
    fn define(
        name: &'static CStr,
        short: &'static CStr,
        long: &'static CStr,
        setting: &'static GucSetting<Self>,
        _: (),
        context: GucContext,
        flags: GucFlags,
    ) {
        GucRegistry::define_string_guc(name, short, long, setting, context, flags)
    }
}

impl Stored for i32 {
    type Bounds = (i32, i32);
    fn define(
        name: &'static CStr,
        short: &'static CStr,
        long: &'static CStr,
        setting: &'static GucSetting<Self>,
        (min, max): (i32, i32),
        context: GucContext,
        flags: GucFlags,
    ) {
        GucRegistry::define_int_guc(name, short, long, setting, min, max, context, flags)
    }
}

impl Stored for bool {
    type Bounds = ();
    fn define(
        name: &'static CStr,
        short: &'static CStr,
        long: &'static CStr,
        setting: &'static GucSetting<Self>,
        _: (),
        context: GucContext,
        flags: GucFlags,
    ) {
        GucRegistry::define_bool_guc(name, short, long, setting, context, flags)
    }
}
