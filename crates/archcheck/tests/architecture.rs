//! Architecture tests: the rules DESIGN.md states in words, checked against the
//! repository on disk.
//!
//! Each check is a function from file contents to a list of violations, so the
//! tests at the bottom (`the_checks_catch_violations`) can show on small
//! in-memory inputs that every check fails when its rule is broken. The tests
//! on the real repository then only assert that the lists are empty.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

/// DESIGN.md's layering, left to right. A crate may depend only on crates in an
/// earlier layer; crates in the same layer (gui, cli, benches) may not depend on
/// each other.
const LAYERS: &[&[&str]] = &[
    &["sim-core"],
    &["sim-gc"],
    &["sim-sched"],
    &["scenarios"],
    &["validation"],
    &["gui", "cli", "benches"],
];

const LAYERING_RULE: &str = "DESIGN.md layering: sim-core <- sim-gc <- sim-sched <- scenarios \
     <- validation <- { gui, cli, benches }; each crate depends only on crates strictly to its left";

/// This crate reads the others' files and depends on none of them; it sits
/// outside the layering.
const EXEMPT_CRATE: &str = "archcheck";

/// Crates no sim-* crate may depend on, each with the reason. A name also covers
/// its family (`egui` covers `egui_extras`, `crossbeam` covers
/// `crossbeam-channel`). Threads exist only outside a simulation (DESIGN.md,
/// Determinism), and the GUI reads recorded runs, never the other way round.
const BANNED_IN_SIM: &[(&str, &str)] = &[
    ("egui", "a GUI crate"),
    ("eframe", "a GUI crate"),
    ("egui_kittest", "a GUI crate"),
    ("winit", "a GUI crate"),
    ("parking_lot", "a threading crate"),
    ("crossbeam", "a threading crate"),
    ("rayon", "a threading crate"),
    ("tokio", "a threading crate"),
    ("getrandom", "OS randomness"),
];

/// Features of the rand family that seed from the OS (rand 0.8-0.10 and
/// rand_core spell them differently).
const OS_RANDOMNESS_FEATURES: &[&str] = &["sys_rng", "thread_rng", "os_rng", "getrandom"];

/// Text that must not appear in code under crates/sim-*/src, with the reason.
///
/// Hash maps and sets are banned in sim crates outright, not only iterating
/// over them: with no `HashMap`/`HashSet` at all, "no iteration over an
/// unordered map" holds trivially and no review has to prove it per call site.
/// Entities live in `Vec` arenas; ordered maps are `BTreeMap`.
const BANNED_IN_SIM_CODE: &[(&str, &str)] = &[
    ("Instant::now", "reads the wall clock"),
    ("SystemTime", "reads the wall clock"),
    ("thread_rng", "uses OS-seeded randomness"),
    ("OsRng", "uses OS randomness"),
    ("from_entropy", "uses OS-seeded randomness"),
    (
        "std::thread::spawn",
        "starts a thread inside the simulation",
    ),
    ("thread::spawn", "starts a thread inside the simulation"),
    ("thread::Builder", "starts a thread inside the simulation"),
    ("HashMap", "is a hash map (iteration order is unordered)"),
    ("HashSet", "is a hash set (iteration order is unordered)"),
];

// ---------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DepKind {
    Normal,
    Dev,
    Build,
}

#[derive(Debug, Clone)]
struct Dep {
    /// The package depended on (after `package = "..."` renames).
    package: String,
    kind: DepKind,
    /// Where it was declared, e.g. `[dev-dependencies]`.
    section: String,
    default_features: bool,
    features: Vec<String>,
}

#[derive(Debug, Clone)]
struct Manifest {
    /// The package name.
    name: String,
    deps: Vec<Dep>,
}

fn parse_toml(text: &str, what: &str) -> Result<toml::Table, String> {
    toml::from_str::<toml::Table>(text).map_err(|e| format!("{what}: {e}"))
}

/// The root manifest's `[workspace.dependencies]`, which `foo.workspace = true`
/// inherits from.
fn workspace_dependencies(root_manifest: &str) -> Result<toml::Table, String> {
    let root = parse_toml(root_manifest, "Cargo.toml")?;
    Ok(root
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.as_table())
        .cloned()
        .unwrap_or_default())
}

/// Reads the package name and every dependency (normal, dev, build, and their
/// `[target.'cfg(..)'.*]` forms) of one crate manifest.
fn parse_manifest(
    text: &str,
    what: &str,
    workspace_deps: &toml::Table,
) -> Result<Manifest, String> {
    let table = parse_toml(text, what)?;
    let name = table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| format!("{what}: no [package] name"))?
        .to_string();

    let mut deps = Vec::new();
    let kinds = [
        ("dependencies", DepKind::Normal),
        ("dev-dependencies", DepKind::Dev),
        ("build-dependencies", DepKind::Build),
    ];
    let mut sections: Vec<(String, &toml::Value, DepKind)> = Vec::new();
    for (key, kind) in kinds {
        if let Some(v) = table.get(key) {
            sections.push((format!("[{key}]"), v, kind));
        }
    }
    if let Some(targets) = table.get("target").and_then(|t| t.as_table()) {
        for (cfg, target) in targets {
            for (key, kind) in kinds {
                if let Some(v) = target.get(key) {
                    sections.push((format!("[target.'{cfg}'.{key}]"), v, kind));
                }
            }
        }
    }

    for (section, value, kind) in sections {
        let entries = value
            .as_table()
            .ok_or_else(|| format!("{what}: {section} is not a table"))?;
        for (key, spec) in entries {
            deps.push(parse_dep(key, spec, kind, &section, workspace_deps));
        }
    }
    Ok(Manifest { name, deps })
}

fn parse_dep(
    key: &str,
    spec: &toml::Value,
    kind: DepKind,
    section: &str,
    workspace_deps: &toml::Table,
) -> Dep {
    let mut dep = Dep {
        package: key.to_string(),
        kind,
        section: section.to_string(),
        default_features: true,
        features: Vec::new(),
    };
    let Some(spec) = spec.as_table() else {
        // `foo = "1.2"`: a plain version requirement.
        return dep;
    };
    let inherits = spec.get("workspace").and_then(|w| w.as_bool()) == Some(true);
    let inherited = workspace_deps.get(key).and_then(|d| d.as_table());
    if let (true, Some(inherited)) = (inherits, inherited) {
        apply_dep_table(&mut dep, inherited);
    }
    apply_dep_table(&mut dep, spec);
    dep
}

fn apply_dep_table(dep: &mut Dep, spec: &toml::Table) {
    if let Some(package) = spec.get("package").and_then(|p| p.as_str()) {
        dep.package = package.to_string();
    }
    let default_features = spec
        .get("default-features")
        .or_else(|| spec.get("default_features"))
        .and_then(|d| d.as_bool());
    if let Some(default_features) = default_features {
        dep.default_features = default_features;
    }
    if let Some(features) = spec.get("features").and_then(|f| f.as_array()) {
        dep.features.extend(
            features
                .iter()
                .filter_map(|f| f.as_str())
                .map(str::to_string),
        );
    }
}

fn layer_of(crate_name: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&crate_name))
}

fn is_sim_crate(crate_name: &str) -> bool {
    crate_name.starts_with("sim-")
}

// ---------------------------------------------------------------------------
// Check 1: layering
// ---------------------------------------------------------------------------

/// Every dependency between workspace crates that does not point strictly left
/// in [`LAYERS`], and every crate that has no place in it.
fn layering_violations(manifests: &[Manifest]) -> Vec<String> {
    let members: BTreeSet<&str> = manifests.iter().map(|m| m.name.as_str()).collect();
    let mut violations = Vec::new();
    for manifest in manifests {
        if manifest.name == EXEMPT_CRATE {
            continue;
        }
        let Some(rank) = layer_of(&manifest.name) else {
            violations.push(format!(
                "crate `{}` has no place in the layering; add it to DESIGN.md and to LAYERS in \
                 crates/archcheck/tests/architecture.rs ({LAYERING_RULE})",
                manifest.name
            ));
            continue;
        };
        for dep in &manifest.deps {
            if !members.contains(dep.package.as_str()) {
                continue;
            }
            let points_left = layer_of(&dep.package).is_some_and(|dep_rank| dep_rank < rank);
            if !points_left {
                violations.push(format!(
                    "crate `{}` depends on `{}` in {}, which is not to its left ({LAYERING_RULE})",
                    manifest.name, dep.package, dep.section
                ));
            }
        }
    }
    violations
}

// ---------------------------------------------------------------------------
// Check 2: what sim-* crates may depend on
// ---------------------------------------------------------------------------

/// The reason a package may not be a dependency of a sim-* crate, if it may not.
fn banned_in_sim(package: &str) -> Option<&'static str> {
    BANNED_IN_SIM.iter().find_map(|&(banned, reason)| {
        let in_family = package == banned
            || package
                .strip_prefix(banned)
                .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('_'));
        in_family.then_some(reason)
    })
}

/// Direct dependencies of sim-* crates (of any kind: a test that reads the OS's
/// randomness is not reproducible either) on GUI, threading or OS-randomness
/// crates, including the rand family with features that seed from the OS.
fn banned_sim_dependency_violations(manifests: &[Manifest]) -> Vec<String> {
    let mut violations = Vec::new();
    for manifest in manifests.iter().filter(|m| is_sim_crate(&m.name)) {
        for dep in &manifest.deps {
            if let Some(reason) = banned_in_sim(&dep.package) {
                violations.push(format!(
                    "crate `{}` depends on `{}` ({reason}) in {}; sim-* crates must not depend on \
                     GUI, threading or OS-randomness crates (DESIGN.md, Determinism)",
                    manifest.name, dep.package, dep.section
                ));
            }
            if dep.package.starts_with("rand") {
                let mut os_features: Vec<&str> = dep
                    .features
                    .iter()
                    .map(String::as_str)
                    .filter(|f| OS_RANDOMNESS_FEATURES.contains(f))
                    .collect();
                // rand's default features include sys_rng and thread_rng.
                if dep.package == "rand" && dep.default_features {
                    os_features.insert(0, "default");
                }
                if !os_features.is_empty() {
                    violations.push(format!(
                        "crate `{}` depends on `{}` with features {:?} in {}, which seed from the \
                         OS (getrandom); sim-* crates use only the seeded ChaCha streams \
                         (DESIGN.md, Determinism)",
                        manifest.name, dep.package, os_features, dep.section
                    ));
                }
            }
        }
    }
    violations
}

#[derive(Debug, Clone)]
struct LockPackage {
    name: String,
    version: String,
    /// As Cargo.lock writes them: `name`, `name version` or `name version (source)`.
    dependencies: Vec<String>,
}

fn parse_lock(text: &str) -> Result<Vec<LockPackage>, String> {
    let table = parse_toml(text, "Cargo.lock")?;
    let packages = table
        .get("package")
        .and_then(|p| p.as_array())
        .ok_or("Cargo.lock: no [[package]] entries")?;
    packages
        .iter()
        .map(|p| {
            let field = |key: &str| {
                p.get(key)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| format!("Cargo.lock: a [[package]] has no {key}"))
            };
            let dependencies = p
                .get("dependencies")
                .and_then(|d| d.as_array())
                .map(|d| {
                    d.iter()
                        .filter_map(|s| s.as_str())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Ok(LockPackage {
                name: field("name")?,
                version: field("version")?,
                dependencies,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    /// A workspace crate: its edges come from its manifest, because its
    /// Cargo.lock entry also lists dev-dependencies.
    Member(usize),
    /// A registry package: its Cargo.lock entry lists what it links.
    Locked(usize),
}

/// Banned crates a sim-* crate links through its normal and build
/// dependencies, found by walking Cargo.lock; each violation shows the path.
/// Cargo.lock holds the features resolved for the whole workspace, so this
/// also catches, say, a rand pulled in with `sys_rng` two levels down.
fn transitive_sim_dependency_violations(
    manifests: &[Manifest],
    lock: &[LockPackage],
) -> Vec<String> {
    let resolve = |name: &str, version: Option<&str>| -> Vec<Node> {
        if let Some(i) = manifests.iter().position(|m| m.name == name) {
            return vec![Node::Member(i)];
        }
        lock.iter()
            .enumerate()
            .filter(|(_, p)| p.name == name && version.is_none_or(|v| p.version == v))
            .map(|(i, _)| Node::Locked(i))
            .collect()
    };
    let node_name = |node: Node| match node {
        Node::Member(i) => manifests[i].name.clone(),
        Node::Locked(i) => lock[i].name.clone(),
    };
    // Cargo.lock writes `name version` when two versions of `name` are locked.
    let resolve_spec = |spec: &str| {
        let mut words = spec.split_whitespace();
        let name = words.next().unwrap_or_default();
        resolve(name, words.next())
    };
    let edges = |node: Node| -> Vec<Node> {
        match node {
            Node::Member(i) => {
                // The member's own lock entry says which version each name is.
                let locked = lock.iter().find(|p| p.name == manifests[i].name);
                manifests[i]
                    .deps
                    .iter()
                    .filter(|d| d.kind != DepKind::Dev)
                    .flat_map(|d| {
                        let spec = locked.and_then(|p| {
                            p.dependencies
                                .iter()
                                .find(|s| s.split_whitespace().next() == Some(d.package.as_str()))
                        });
                        match spec {
                            Some(spec) => resolve_spec(spec),
                            None => resolve(&d.package, None),
                        }
                    })
                    .collect()
            }
            Node::Locked(i) => lock[i]
                .dependencies
                .iter()
                .flat_map(|s| resolve_spec(s))
                .collect(),
        }
    };

    let mut violations = Vec::new();
    for (start, manifest) in manifests.iter().enumerate() {
        if !is_sim_crate(&manifest.name) {
            continue;
        }
        // Breadth-first, so the path reported is a shortest one.
        let mut parent: BTreeMap<Node, Node> = BTreeMap::new();
        let mut queue = VecDeque::from([Node::Member(start)]);
        let mut seen = BTreeSet::from([Node::Member(start)]);
        while let Some(node) = queue.pop_front() {
            for next in edges(node) {
                if !seen.insert(next) {
                    continue;
                }
                parent.insert(next, node);
                let name = node_name(next);
                if let Some(reason) = banned_in_sim(&name) {
                    let mut path = vec![name.clone()];
                    let mut at = next;
                    while let Some(&p) = parent.get(&at) {
                        path.push(node_name(p));
                        at = p;
                    }
                    path.reverse();
                    violations.push(format!(
                        "crate `{}` links `{name}` ({reason}) through {}; sim-* crates must not \
                         link GUI, threading or OS-randomness crates (DESIGN.md, Determinism)",
                        manifest.name,
                        path.join(" -> ")
                    ));
                } else {
                    queue.push_back(next);
                }
            }
        }
    }
    violations
}

// ---------------------------------------------------------------------------
// Check 3: determinism bans in sim-* source
// ---------------------------------------------------------------------------

/// The source with comments blanked out, line by line (same line numbers).
/// Handles `//` (including `///` and `//!`), nested `/* */`, and string, raw
/// string and char literals, so a `//` inside a string does not start a comment.
fn code_without_comments(source: &str) -> Vec<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        Str,
        RawStr { hashes: usize },
        Block { depth: usize },
    }
    let mut state = State::Code;
    let mut lines = Vec::new();
    for line in source.lines() {
        let chars: Vec<char> = line.chars().collect();
        let mut code = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match state {
                State::Block { depth } => {
                    if c == '*' && next == Some('/') {
                        state = if depth == 1 {
                            State::Code
                        } else {
                            State::Block { depth: depth - 1 }
                        };
                        i += 2;
                    } else if c == '/' && next == Some('*') {
                        state = State::Block { depth: depth + 1 };
                        i += 2;
                    } else {
                        i += 1;
                    }
                    code.push(' ');
                    continue;
                }
                State::Str => {
                    code.push(c);
                    if c == '\\' {
                        if let Some(n) = next {
                            code.push(n);
                        }
                        i += 2;
                        continue;
                    }
                    if c == '"' {
                        state = State::Code;
                    }
                    i += 1;
                    continue;
                }
                State::RawStr { hashes } => {
                    code.push(c);
                    let closes = c == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#'));
                    if closes {
                        code.extend(std::iter::repeat_n('#', hashes));
                        i += 1 + hashes;
                        state = State::Code;
                    } else {
                        i += 1;
                    }
                    continue;
                }
                State::Code => {}
            }
            if c == '/' && next == Some('/') {
                break;
            }
            if c == '/' && next == Some('*') {
                state = State::Block { depth: 1 };
                code.push(' ');
                i += 2;
                continue;
            }
            if c == '"' {
                state = State::Str;
                code.push(c);
                i += 1;
                continue;
            }
            let starts_token = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
            if c == 'r' && starts_token {
                let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
                if chars.get(i + 1 + hashes) == Some(&'"') {
                    state = State::RawStr { hashes };
                    code.extend(chars[i..i + 2 + hashes].iter());
                    i += 2 + hashes;
                    continue;
                }
            }
            if c == '\'' {
                // A char literal ('x', '\n', '"'); otherwise a lifetime.
                let len = if next == Some('\\') {
                    chars[i + 2..]
                        .iter()
                        .position(|&q| q == '\'')
                        .map(|p| p + 3)
                } else if chars.get(i + 2) == Some(&'\'') {
                    Some(3)
                } else {
                    None
                };
                if let Some(len) = len {
                    let end = (i + len).min(chars.len());
                    code.extend(chars[i..end].iter());
                    i = end;
                    continue;
                }
            }
            code.push(c);
            i += 1;
        }
        // An unterminated normal string continues on the next line; a `//`
        // comment does not.
        lines.push(code);
    }
    lines
}

/// `file:line: ...` for every banned name in the code (not the comments) of one
/// sim-* source file.
fn nondeterminism_violations(file: &str, source: &str) -> Vec<String> {
    let mut violations = Vec::new();
    for (index, code) in code_without_comments(source).iter().enumerate() {
        let mut hits: Vec<(&str, &str)> = BANNED_IN_SIM_CODE
            .iter()
            .copied()
            .filter(|(name, _)| code.contains(name))
            .collect();
        // `std::thread::spawn` also contains `thread::spawn`: report it once.
        let all = hits.clone();
        hits.retain(|(name, _)| {
            !all.iter()
                .any(|(other, _)| other != name && other.contains(name))
        });
        for (name, reason) in hits {
            violations.push(format!(
                "{file}:{}: `{name}` {reason}; sim-* crates must be deterministic \
                 (DESIGN.md, Determinism): `{}`",
                index + 1,
                code.trim()
            ));
        }
    }
    violations
}

// ---------------------------------------------------------------------------
// Check 4: crate doc comments
// ---------------------------------------------------------------------------

/// Whether a crate root's first non-blank line is a `//!` doc comment.
fn starts_with_crate_doc(source: &str) -> bool {
    source
        .lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.starts_with("//!"))
}

// ---------------------------------------------------------------------------
// Check 5: ARCHITECTURE.md
// ---------------------------------------------------------------------------

/// Whether `word` occurs in `text` as a whole name: `cli` in "the cli crate",
/// not in "click"; `sim-gc` not in "sim-gc-extra".
fn mentions(text: &str, word: &str) -> bool {
    let is_name_char = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char)
    })
}

fn crates_missing_from_architecture_md(text: &str, crate_dirs: &[String]) -> Vec<String> {
    crate_dirs
        .iter()
        .filter(|dir| !mentions(text, dir))
        .map(|dir| {
            format!(
                "ARCHITECTURE.md does not mention crates/{dir}; it must have a paragraph on \
                 every crate (DESIGN.md, Layers)"
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Reading the repository
// ---------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize()
        .unwrap_or_else(|e| panic!("cannot resolve the repo root {}: {e}", root.display()))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Path relative to the repo root, with `/`, for messages.
fn relative(path: &Path) -> String {
    let root = repo_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The directory names under crates/ that hold a Cargo.toml, sorted.
fn crate_dirs() -> Vec<String> {
    let crates = repo_root().join("crates");
    let entries =
        fs::read_dir(&crates).unwrap_or_else(|e| panic!("cannot list {}: {e}", crates.display()));
    let mut dirs: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs
}

fn workspace_manifests() -> Vec<Manifest> {
    let root = repo_root();
    let workspace_deps =
        workspace_dependencies(&read(&root.join("Cargo.toml"))).unwrap_or_else(|e| panic!("{e}"));
    crate_dirs()
        .iter()
        .map(|dir| {
            let path = root.join("crates").join(dir).join("Cargo.toml");
            parse_manifest(&read(&path), &relative(&path), &workspace_deps)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// Every `.rs` file under `dir`, recursively, sorted.
fn rust_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries =
            fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()));
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn assert_no_violations(what: &str, violations: &[String]) {
    assert!(
        violations.is_empty(),
        "{what}: {} violation(s):\n  {}",
        violations.len(),
        violations.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// The rules, checked on the repository
// ---------------------------------------------------------------------------

#[test]
fn each_crate_depends_only_on_crates_to_its_left() {
    let manifests = workspace_manifests();
    assert!(
        manifests.iter().any(|m| m.name == "sim-core"),
        "found no sim-core under crates/; is the repo root right?"
    );
    assert_no_violations("layering", &layering_violations(&manifests));
}

#[test]
fn no_sim_crate_depends_on_gui_threading_or_os_randomness_crates() {
    assert_no_violations(
        "sim-* dependencies",
        &banned_sim_dependency_violations(&workspace_manifests()),
    );
}

#[test]
fn no_sim_crate_links_gui_threading_or_os_randomness_crates_through_cargo_lock() {
    let lock = parse_lock(&read(&repo_root().join("Cargo.lock"))).unwrap_or_else(|e| panic!("{e}"));
    assert_no_violations(
        "sim-* transitive dependencies",
        &transitive_sim_dependency_violations(&workspace_manifests(), &lock),
    );
}

#[test]
fn no_sim_crate_reads_the_clock_uses_os_randomness_spawns_threads_or_uses_hash_maps() {
    let root = repo_root();
    let sim_dirs: Vec<String> = crate_dirs()
        .into_iter()
        .filter(|d| is_sim_crate(d))
        .collect();
    assert!(!sim_dirs.is_empty(), "found no crates/sim-* directories");
    let mut violations = Vec::new();
    for dir in sim_dirs {
        for file in rust_files_under(&root.join("crates").join(dir).join("src")) {
            violations.extend(nondeterminism_violations(&relative(&file), &read(&file)));
        }
    }
    assert_no_violations("determinism", &violations);
}

#[test]
fn every_crate_starts_with_a_doc_comment() {
    let root = repo_root();
    let mut violations = Vec::new();
    let mut crate_roots = 0;
    for dir in crate_dirs() {
        for name in ["lib.rs", "main.rs"] {
            let path = root.join("crates").join(&dir).join("src").join(name);
            if !path.is_file() {
                continue;
            }
            crate_roots += 1;
            if !starts_with_crate_doc(&read(&path)) {
                violations.push(format!(
                    "{} does not start with a `//!` doc comment saying what the crate is for",
                    relative(&path)
                ));
            }
        }
    }
    assert!(crate_roots > 0, "found no crates/*/src/lib.rs or main.rs");
    assert_no_violations("crate docs", &violations);
}

#[test]
fn architecture_md_mentions_every_crate() {
    let path = repo_root().join("ARCHITECTURE.md");
    assert!(
        path.is_file(),
        "ARCHITECTURE.md is missing at the repo root (DESIGN.md, Layers asks for it)"
    );
    assert_no_violations(
        "ARCHITECTURE.md",
        &crates_missing_from_architecture_md(&read(&path), &crate_dirs()),
    );
}

// ---------------------------------------------------------------------------
// The checks themselves: each fails when its rule is broken
// ---------------------------------------------------------------------------

mod the_checks_catch_violations {
    use super::*;

    const WORKSPACE: &str = r#"
        [workspace.dependencies]
        sim-core = { path = "crates/sim-core" }
        rand = "0.10"
        rand_core = { version = "0.10", features = ["os_rng"] }
    "#;

    fn manifest(text: &str) -> Manifest {
        let workspace_deps = workspace_dependencies(WORKSPACE).unwrap();
        parse_manifest(text, "test Cargo.toml", &workspace_deps).unwrap()
    }

    fn package(name: &str, deps: &str) -> Manifest {
        manifest(&format!("[package]\nname = \"{name}\"\n{deps}"))
    }

    fn layered_workspace() -> Vec<Manifest> {
        vec![
            package("sim-core", ""),
            package("sim-gc", "[dependencies]\nsim-core.workspace = true"),
            package(
                "sim-sched",
                "[dependencies]\nsim-core = { path = \"../sim-core\" }\nsim-gc = \"0.1\"",
            ),
            package(
                "scenarios",
                "[dependencies]\nsim-sched = { path = \"../sim-sched\" }",
            ),
            package(
                "validation",
                "[dependencies]\nscenarios = { path = \"../scenarios\" }",
            ),
            package(
                "gui",
                "[dependencies]\nvalidation = { path = \"../validation\" }",
            ),
            package(
                "cli",
                "[dependencies]\nsim-core = { path = \"../sim-core\" }\nscenarios = { path = \"../scenarios\" }",
            ),
            package(
                "benches",
                "[dev-dependencies]\nsim-sched = { path = \"../sim-sched\" }",
            ),
            package("archcheck", "[dependencies]\ncli = { path = \"../cli\" }"),
        ]
    }

    #[test]
    fn layering_accepts_dependencies_pointing_left_and_exempts_archcheck() {
        assert_eq!(
            layering_violations(&layered_workspace()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn layering_rejects_a_dependency_pointing_right_and_names_crate_dependency_and_rule() {
        let mut crates = layered_workspace();
        crates[0] = package(
            "sim-core",
            "[dependencies]\nsim-sched = { path = \"../sim-sched\" }",
        );
        let violations = layering_violations(&crates);
        assert_eq!(violations.len(), 1, "{violations:?}");
        let message = &violations[0];
        assert!(
            message.contains("`sim-core` depends on `sim-sched`"),
            "{message}"
        );
        assert!(message.contains("[dependencies]"), "{message}");
        assert!(message.contains("strictly to its left"), "{message}");
    }

    #[test]
    fn layering_rejects_dependencies_within_the_last_layer() {
        let mut crates = layered_workspace();
        crates[5] = package("gui", "[dependencies]\ncli = { path = \"../cli\" }");
        let violations = layering_violations(&crates);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(
            violations[0].contains("`gui` depends on `cli`"),
            "{violations:?}"
        );
    }

    #[test]
    fn layering_reads_dev_build_target_and_renamed_dependencies() {
        let mut crates = layered_workspace();
        crates[1] = package(
            "sim-gc",
            "[dev-dependencies]\nsched = { package = \"sim-sched\", path = \"../sim-sched\" }\n\
             [build-dependencies]\nscenarios = { path = \"../scenarios\" }\n\
             [target.'cfg(unix)'.dependencies]\nvalidation = { path = \"../validation\" }",
        );
        let violations = layering_violations(&crates);
        assert_eq!(violations.len(), 3, "{violations:?}");
        assert!(
            violations[0].contains("`sim-sched` in [dev-dependencies]"),
            "{violations:?}"
        );
        assert!(
            violations[1].contains("`scenarios` in [build-dependencies]"),
            "{violations:?}"
        );
        assert!(
            violations[2].contains("`validation` in [target.'cfg(unix)'.dependencies]"),
            "{violations:?}"
        );
    }

    #[test]
    fn layering_rejects_a_crate_that_has_no_place_in_it() {
        let mut crates = layered_workspace();
        crates.push(package("explorer", ""));
        let violations = layering_violations(&crates);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(
            violations[0].contains("`explorer` has no place"),
            "{violations:?}"
        );
    }

    #[test]
    fn banned_dependencies_are_rejected_in_sim_crates_only() {
        let gui_like = "[dependencies]\negui = \"0.33\"\ncrossbeam-channel = \"0.5\"\n\
                        [dev-dependencies]\ngetrandom = \"0.4\"\nserde = \"1\"";
        let crates = vec![package("sim-gc", gui_like), package("gui", gui_like)];
        let violations = banned_sim_dependency_violations(&crates);
        // Manifest tables come back sorted by name.
        assert_eq!(violations.len(), 3, "{violations:?}");
        assert!(
            violations[0].contains("`sim-gc` depends on `crossbeam-channel` (a threading crate)"),
            "{violations:?}"
        );
        assert!(
            violations[1].contains("`egui` (a GUI crate) in [dependencies]"),
            "{violations:?}"
        );
        assert!(
            violations[2].contains("`getrandom` (OS randomness) in [dev-dependencies]"),
            "{violations:?}"
        );
    }

    #[test]
    fn rand_is_rejected_in_sim_crates_with_default_or_os_features_even_when_inherited() {
        let crates = vec![
            package("sim-core", "[dependencies]\nrand.workspace = true"),
            package("sim-gc", "[dependencies]\nrand_core.workspace = true"),
            package(
                "sim-sched",
                "[dependencies]\nrand = { version = \"0.10\", default-features = false, features = [\"thread_rng\"] }",
            ),
        ];
        let violations = banned_sim_dependency_violations(&crates);
        assert_eq!(violations.len(), 3, "{violations:?}");
        assert!(
            violations[0].contains("`rand` with features [\"default\"]"),
            "{violations:?}"
        );
        assert!(
            violations[1].contains("`rand_core` with features [\"os_rng\"]"),
            "{violations:?}"
        );
        assert!(violations[2].contains("[\"thread_rng\"]"), "{violations:?}");

        let seeded_only = vec![package(
            "sim-core",
            "[dependencies]\nrand = { version = \"0.10\", default-features = false }\nrand_chacha = \"0.10\"",
        )];
        assert_eq!(
            banned_sim_dependency_violations(&seeded_only),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_lock_walk_names_the_path_to_getrandom_and_skips_dev_dependencies() {
        let crates = vec![
            package(
                "sim-core",
                "[dependencies]\nrand_chacha = \"0.10\"\n[dev-dependencies]\nproptest = \"1\"",
            ),
            package(
                "sim-gc",
                "[dependencies]\nsim-core = { path = \"../sim-core\" }\nrand = \"0.10\"",
            ),
        ];
        let lock = parse_lock(
            r#"
            [[package]]
            name = "sim-core"
            version = "0.1.0"
            dependencies = ["proptest", "rand_chacha"]

            [[package]]
            name = "sim-gc"
            version = "0.1.0"
            dependencies = ["rand 0.10.4", "sim-core"]

            [[package]]
            name = "proptest"
            version = "1.0.0"
            dependencies = ["rand 0.9.0"]

            [[package]]
            name = "rand"
            version = "0.9.0"
            dependencies = ["getrandom"]

            [[package]]
            name = "rand"
            version = "0.10.4"

            [[package]]
            name = "rand_chacha"
            version = "0.10.0"
            dependencies = ["getrandom 0.4.3 (registry+https://github.com/rust-lang/crates.io-index)"]

            [[package]]
            name = "getrandom"
            version = "0.4.3"
            "#,
        )
        .unwrap();
        // sim-gc's `rand` is 0.10.4 (its lock entry says so), not proptest's
        // 0.9.0, so the only path to getrandom is through sim-core.
        let violations = transitive_sim_dependency_violations(&crates, &lock);
        assert_eq!(violations.len(), 2, "{violations:?}");
        assert!(
            violations[0].contains("`sim-core` links `getrandom` (OS randomness) through sim-core -> rand_chacha -> getrandom"),
            "{violations:?}"
        );
        assert!(
            violations[1].contains("through sim-gc -> sim-core -> rand_chacha -> getrandom"),
            "{violations:?}"
        );
    }

    #[test]
    fn the_determinism_scan_reports_file_and_line_of_each_hit() {
        let source = "use std::collections::HashMap;\n\
                      fn now() -> u64 {\n\
                      \x20   let t = std::time::Instant::now();\n\
                      \x20   std::thread::spawn(|| ());\n\
                      \x20   let s: HashSet<u32> = HashSet::new();\n\
                      \x20   let r = rand::thread_rng(); let o = OsRng; let c = ChaCha8Rng::from_entropy();\n\
                      \x20   SystemTime::UNIX_EPOCH\n\
                      }\n";
        let violations = nondeterminism_violations("crates/sim-x/src/a.rs", source);
        let located: Vec<&str> = violations
            .iter()
            .map(|v| v.split(": `").next().unwrap_or_default())
            .collect();
        assert_eq!(
            located,
            [
                "crates/sim-x/src/a.rs:1",
                "crates/sim-x/src/a.rs:3",
                "crates/sim-x/src/a.rs:4",
                "crates/sim-x/src/a.rs:5",
                "crates/sim-x/src/a.rs:6",
                "crates/sim-x/src/a.rs:6",
                "crates/sim-x/src/a.rs:6",
                "crates/sim-x/src/a.rs:7",
            ],
            "{violations:#?}"
        );
        assert!(
            violations[2].contains("`std::thread::spawn` starts a thread"),
            "{violations:?}"
        );
        assert!(
            violations[3].contains("`HashSet` is a hash set"),
            "{violations:?}"
        );
    }

    #[test]
    fn the_determinism_scan_ignores_comments_but_not_code_after_a_string_with_slashes() {
        let source = "//! Unlike a HashMap, a BTreeMap iterates in order.\n\
                      /// Never call Instant::now here.\n\
                      let x = 1; // not a HashSet\n\
                      /* SystemTime\n\
                      \x20  thread_rng /* nested */ OsRng */ let y = 2;\n\
                      let url = \"https://example.com\"; let m = HashMap::new();\n\
                      let q = '\"'; let t = Instant::now(); // \"\n\
                      let raw = r#\"a \" // b\"#; let s = SystemTime::now();\n";
        let violations = nondeterminism_violations("f.rs", source);
        assert_eq!(violations.len(), 3, "{violations:#?}");
        assert!(
            violations[0].starts_with("f.rs:6: `HashMap`"),
            "{violations:?}"
        );
        assert!(
            violations[1].starts_with("f.rs:7: `Instant::now`"),
            "{violations:?}"
        );
        assert!(
            violations[2].starts_with("f.rs:8: `SystemTime`"),
            "{violations:?}"
        );
        assert!(
            violations[1].contains("`let q = '\"'; let t = Instant::now();`"),
            "{violations:?}"
        );
    }

    #[test]
    fn the_crate_doc_check_requires_a_leading_inner_doc_comment() {
        assert!(starts_with_crate_doc(
            "\n//! sim-core: virtual time.\npub mod time;\n"
        ));
        assert!(!starts_with_crate_doc("fn main() {}\n"));
        assert!(!starts_with_crate_doc(
            "/// An item doc, not a crate doc.\nfn main() {}\n"
        ));
        assert!(!starts_with_crate_doc(
            "// A plain comment.\n//! Too late.\n"
        ));
        assert!(!starts_with_crate_doc(""));
    }

    #[test]
    fn the_architecture_md_check_names_each_missing_crate_and_ignores_substrings() {
        let dirs = ["cli", "gui", "sim-gc", "sim-core"].map(String::from);
        let text = "## sim-core\nClick the guide. See `sim-gc-extra` and crates/cli/.";
        let violations = crates_missing_from_architecture_md(text, &dirs);
        assert_eq!(violations.len(), 2, "{violations:?}");
        assert!(violations[0].contains("crates/gui"), "{violations:?}");
        assert!(violations[1].contains("crates/sim-gc"), "{violations:?}");
    }
}
