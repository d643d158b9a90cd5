//! Reading inputs: files, directories (recursively), standard input (`-`), each possibly holding
//! several YAML documents or a `kind: List`.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::LintError;

/// Largest file read; rendered manifests of a whole cluster stay well below this.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Deepest directory nesting followed; deeper trees are far more likely a mistake (or a loop
/// through bind mounts) than manifests.
const MAX_DEPTH: usize = 16;

/// One YAML document and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The file, as given (or `<stdin>`).
    pub file: String,
    /// The document's content.
    pub value: Value,
}

/// Reads every path: `-` is standard input, a directory is searched recursively for `.yaml`,
/// `.yml` and `.json` files (hidden entries and symbolic links to directories are skipped).
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Document>, LintError> {
    let mut documents = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .take(MAX_FILE_BYTES + 1)
                .read_to_string(&mut text)
                .map_err(|source| LintError::Read {
                    path: "<stdin>".into(),
                    source,
                })?;
            if text.len() as u64 > MAX_FILE_BYTES {
                return Err(LintError::TooLarge {
                    path: "<stdin>".into(),
                    limit: MAX_FILE_BYTES,
                });
            }
            documents.extend(parse_text("<stdin>", &text)?);
        } else {
            load_path(path, 0, &mut documents)?;
        }
    }
    Ok(documents)
}

fn load_path(path: &Path, depth: usize, documents: &mut Vec<Document>) -> Result<(), LintError> {
    let read_error = |source| LintError::Read {
        path: path.display().to_string(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    if !metadata.is_dir() {
        if metadata.len() > MAX_FILE_BYTES {
            return Err(LintError::TooLarge {
                path: path.display().to_string(),
                limit: MAX_FILE_BYTES,
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        documents.extend(parse_text(&path.display().to_string(), &text)?);
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_error)? {
        entries.push(entry.map_err(read_error)?.path());
    }
    // Sorted, so reports are the same on every file system.
    entries.sort();
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        let link = std::fs::symlink_metadata(&entry).map_err(|source| LintError::Read {
            path: entry.display().to_string(),
            source,
        })?;
        let manifest = [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| name.ends_with(ext));
        // `symlink_metadata` does not follow links, so a linked directory is never entered.
        if link.is_dir() || (manifest && entry.is_file()) {
            load_path(&entry, depth + 1, documents)?;
        }
    }
    Ok(())
}

/// Parses one file's text: every YAML document in it; a `kind: List` contributes its items.
/// Empty and non-mapping documents are skipped.
pub fn parse_text(file: &str, text: &str) -> Result<Vec<Document>, LintError> {
    let values: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| LintError::Yaml {
        path: file.to_owned(),
        message: e.to_string(),
    })?;
    let mut documents = Vec::new();
    for value in values {
        push_document(file, value, &mut documents);
    }
    Ok(documents)
}

fn push_document(file: &str, value: Value, documents: &mut Vec<Document>) {
    let Value::Object(map) = value else { return };
    let is_list = map
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind.ends_with("List"));
    match map.get("items") {
        Some(Value::Array(items)) if is_list => {
            for item in items {
                push_document(file, item.clone(), documents);
            }
        }
        _ => documents.push(Document {
            file: file.to_owned(),
            value: Value::Object(map),
        }),
    }
}
