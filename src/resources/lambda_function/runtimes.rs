//! Lambda's runtimes and their lifecycle, and where a handler's code must be. Pure.
//!
//! Each runtime has three dates in AWS's runtime lifecycle table
//! (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html>, "Supported
//! runtimes" and "Deprecated runtimes"): from its deprecation date AWS stops patching it;
//! from "block function create" `CreateFunction` refuses it; from "block function update"
//! `UpdateFunctionCode`/`UpdateFunctionConfiguration` refuse it too. AWS moved the block
//! dates of the Amazon Linux 2 runtimes several times in 2026; this table is the one of
//! `TAKEN`. A runtime not listed is refused at validation.

use crate::plan::Date;

/// When the table below was taken from AWS's page.
pub const TAKEN: Date = Date::new(2026, 7, 22);

/// One runtime's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runtime {
    /// Its identifier, like `python3.12`.
    pub id: &'static str,
    /// AWS stops patching it.
    pub deprecation: Date,
    /// `CreateFunction` refuses it.
    pub block_create: Date,
    /// Updates of a function on it are refused.
    pub block_update: Date,
}

const fn rt(id: &'static str, deprecation: Date, block_create: Date, block_update: Date) -> Runtime {
    Runtime {
        id,
        deprecation,
        block_create,
        block_update,
    }
}

const fn d(year: i32, month: u8, day: u8) -> Date {
    Date::new(year, month, day)
}

/// The dates at which AWS blocks most Amazon Linux 2 runtimes, as of `TAKEN`.
const AL2_CREATE: Date = d(2027, 2, 1);
const AL2_UPDATE: Date = d(2027, 3, 3);

/// Every runtime the tool accepts, with its dates (AWS's table as of `TAKEN`).
pub const RUNTIMES: &[Runtime] = &[
    rt("python3.14", d(2029, 6, 30), d(2029, 7, 31), d(2029, 8, 31)),
    rt("python3.13", d(2029, 6, 30), d(2029, 7, 31), d(2029, 8, 31)),
    rt("python3.12", d(2028, 10, 31), d(2028, 11, 30), d(2029, 1, 10)),
    rt("python3.11", d(2027, 6, 30), d(2027, 7, 31), d(2027, 8, 31)),
    rt("python3.10", d(2026, 10, 31), AL2_CREATE, AL2_UPDATE),
    rt("python3.9", d(2025, 12, 15), AL2_CREATE, AL2_UPDATE),
    rt("python3.8", d(2024, 10, 14), AL2_CREATE, AL2_UPDATE),
    rt("python3.7", d(2023, 12, 4), d(2024, 1, 9), AL2_UPDATE),
    rt("nodejs24.x", d(2028, 4, 30), d(2028, 6, 1), d(2028, 7, 1)),
    rt("nodejs22.x", d(2027, 4, 30), d(2027, 6, 1), d(2027, 7, 1)),
    rt("nodejs20.x", d(2026, 4, 30), AL2_CREATE, AL2_UPDATE),
    rt("nodejs18.x", d(2025, 9, 1), AL2_CREATE, AL2_UPDATE),
    rt("nodejs16.x", d(2024, 6, 12), AL2_CREATE, AL2_UPDATE),
    rt("nodejs14.x", d(2023, 12, 4), d(2024, 1, 9), AL2_UPDATE),
    rt("nodejs12.x", d(2023, 3, 31), d(2023, 3, 31), d(2023, 4, 30)),
    rt("java25", d(2029, 6, 30), d(2029, 7, 31), d(2029, 8, 31)),
    rt("java21", d(2029, 6, 30), d(2029, 7, 31), d(2029, 8, 31)),
    rt("java17", d(2027, 6, 30), d(2027, 7, 31), d(2027, 8, 31)),
    rt("java11", d(2027, 6, 30), d(2027, 7, 31), d(2027, 8, 31)),
    rt("java8.al2", d(2027, 6, 30), d(2027, 7, 31), d(2027, 8, 31)),
    rt("dotnet10", d(2028, 11, 14), d(2028, 12, 14), d(2029, 1, 15)),
    rt("dotnet8", d(2026, 11, 10), AL2_CREATE, AL2_UPDATE),
    rt("dotnet6", d(2024, 12, 20), AL2_CREATE, AL2_UPDATE),
    rt("ruby3.4", d(2028, 3, 31), d(2028, 4, 30), d(2028, 5, 31)),
    rt("ruby3.3", d(2027, 3, 31), d(2027, 4, 30), d(2027, 5, 31)),
    rt("ruby3.2", d(2026, 3, 31), AL2_CREATE, AL2_UPDATE),
    rt("provided.al2023", d(2029, 6, 30), d(2029, 7, 31), d(2029, 8, 31)),
    rt("provided.al2", d(2026, 7, 31), AL2_CREATE, AL2_UPDATE),
    rt("provided", d(2024, 1, 8), d(2024, 2, 8), AL2_UPDATE),
];

/// The runtime `id`, if the tool knows it.
#[must_use]
pub fn find(id: &str) -> Option<&'static Runtime> {
    RUNTIMES.iter().find(|r| r.id == id)
}

/// The newest runtime of `id`'s language (`python3.9` → `python3.14`), what AWS's table
/// tells users to move to.
#[must_use]
pub fn replacement(id: &str) -> &'static str {
    // The language is the identifier's leading letters (`python`, `nodejs`, `provided`).
    let family = |r: &str| r.chars().take_while(char::is_ascii_alphabetic).collect::<String>();
    let f = family(id);
    RUNTIMES
        .iter()
        .find(|r| family(r.id) == f)
        .map_or("a supported runtime", |r| r.id)
}

/// How serious a runtime's date is for a function, on `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle {
    /// Supported.
    Supported,
    /// Deprecated: still accepted, no longer patched (a warning).
    Deprecated(String),
    /// Refused by AWS for this function (an error).
    Blocked(String),
}

/// Whether `today` the runtime `r` can be used: for a new function (`exists` false) from
/// its block-create date, for an existing one from its block-update date, it cannot; from
/// its deprecation date it can, with a warning. `exists` is `None` when it is not known
/// (`validate`, offline): blocked once its block-update date is past; between the two
/// block dates, a warning that says new functions are refused.
#[must_use]
pub fn lifecycle(r: &Runtime, today: Date, exists: Option<bool>) -> Lifecycle {
    let with = replacement(r.id);
    let (from, what) = if exists == Some(false) {
        (r.block_create, "create a function on it")
    } else {
        (r.block_update, "update a function on it")
    };
    if today >= from {
        return Lifecycle::Blocked(format!(
            "runtime `{}` is past AWS's block date: since {from} Lambda refuses to {what}",
            r.id
        ));
    }
    if exists.is_none() && today >= r.block_create {
        return Lifecycle::Deprecated(format!(
            "runtime `{}` is past AWS's block date for new functions ({}): a new function on it is refused, an existing one can be updated until {}; move to `{with}`",
            r.id, r.block_create, r.block_update
        ));
    }
    if today >= r.deprecation {
        return Lifecycle::Deprecated(format!(
            "runtime `{}` is deprecated since {}: AWS no longer patches it, refuses new functions on it from {} and updates from {}; move to `{with}`",
            r.id, r.deprecation, r.block_create, r.block_update
        ));
    }
    Lifecycle::Supported
}

/// Where Lambda looks for the handler's code: the files one of which must be in the
/// package (paths with `/`), or why the handler cannot name any. `None` for runtimes whose
/// handler names no file (Java classes, .NET assemblies, custom runtimes): only its form
/// is checked there.
///
/// Python splits the handler at its last `.` (`pkg.mod.handler` → module `pkg.mod`, read
/// from `pkg/mod.py` or `pkg/mod/__init__.py`); Node.js at the first `.` after the last
/// `/` (`src/index.handler` → `src/index.mjs`, `.js` or `.cjs`).
pub fn handler_files(runtime: &str, handler: &str) -> Result<Option<Vec<String>>, String> {
    let malformed = |why: &str| {
        Err(format!(
            "handler `{handler}` is not `<module>.<function>` ({why}); Lambda accepts it at create and fails the first invocation with `Runtime.MalformedHandlerName`"
        ))
    };
    if runtime.starts_with("python") {
        let Some((module, function)) = handler.rsplit_once('.') else {
            return malformed("no `.` between the module and the function");
        };
        if module.is_empty() || function.is_empty() {
            return malformed("an empty module or function name");
        }
        let path = module.replace('.', "/");
        return Ok(Some(vec![format!("{path}.py"), format!("{path}/__init__.py")]));
    }
    if runtime.starts_with("nodejs") {
        let (dir, rest) = handler.rsplit_once('/').map_or(("", handler), |(d, r)| (d, r));
        let Some((module, function)) = rest.split_once('.') else {
            return malformed("no `.` between the module and the function");
        };
        if module.is_empty() || function.is_empty() {
            return malformed("an empty module or function name");
        }
        let base = if dir.is_empty() {
            module.to_string()
        } else {
            format!("{dir}/{module}")
        };
        return Ok(Some(
            ["mjs", "js", "cjs"]
                .iter()
                .map(|ext| format!("{base}.{ext}"))
                .collect(),
        ));
    }
    if handler.trim().is_empty() {
        return malformed("it is empty");
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_and_node_handlers_name_their_files() {
        assert_eq!(
            handler_files("python3.12", "lambda_function.lambda_handler").unwrap(),
            Some(vec!["lambda_function.py".into(), "lambda_function/__init__.py".into()])
        );
        assert_eq!(
            handler_files("python3.12", "pkg.mod.handler").unwrap(),
            Some(vec!["pkg/mod.py".into(), "pkg/mod/__init__.py".into()])
        );
        assert_eq!(
            handler_files("nodejs22.x", "index.handler").unwrap(),
            Some(vec!["index.mjs".into(), "index.js".into(), "index.cjs".into()])
        );
        assert_eq!(
            handler_files("nodejs22.x", "src/app.main").unwrap(),
            Some(vec!["src/app.mjs".into(), "src/app.js".into(), "src/app.cjs".into()])
        );
        assert!(handler_files("python3.12", "lambda_handler").unwrap_err().contains("MalformedHandlerName"));
        assert!(handler_files("nodejs22.x", "index").is_err());
        assert_eq!(handler_files("java21", "example.Handler::handleRequest").unwrap(), None);
    }

    #[test]
    fn runtime_dates_warn_then_block_create_then_update() {
        let py39 = find("python3.9").unwrap();
        let today = Date::new(2026, 12, 3);
        assert!(matches!(lifecycle(py39, today, Some(false)), Lifecycle::Deprecated(m) if m.contains("move to `python3.14`")));
        let feb = Date::new(2027, 2, 1);
        assert!(matches!(lifecycle(py39, feb, Some(false)), Lifecycle::Blocked(_)));
        assert!(matches!(lifecycle(py39, feb, Some(true)), Lifecycle::Deprecated(_)));
        assert!(matches!(lifecycle(py39, feb, None), Lifecycle::Deprecated(m) if m.contains("a new function on it is refused")));
        assert!(matches!(lifecycle(py39, Date::new(2027, 3, 3), None), Lifecycle::Blocked(_)));
        assert!(matches!(lifecycle(py39, Date::new(2027, 3, 3), Some(true)), Lifecycle::Blocked(_)));
        assert_eq!(lifecycle(find("python3.12").unwrap(), today, Some(false)), Lifecycle::Supported);
        assert_eq!(replacement("nodejs18.x"), "nodejs24.x");
        assert_eq!(replacement("java8.al2"), "java25");
        assert_eq!(replacement("provided.al2"), "provided.al2023");
    }
}
