//! Config text ↔ BSON documents, without I/O. A node's document has the
//! same fields as its file, plus `_id`: the node's name.

use std::path::Path;

use mongodb::bson::{Bson, Document};

use crate::config::{ConfigError, NodeConfig, Problem};

/// The document for one config file's text: its fields, `_id` = `name`.
pub(crate) fn text_to_document(text: &str, origin: &Path) -> Result<(String, Document), ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: serde_json::Value = serde_json5::from_str(text).map_err(|err| ConfigError::Invalid {
        problems: vec![Problem::new(origin, "", format!("not valid JSON5: {err}"))],
    })?;
    let name = value.get("name").and_then(serde_json::Value::as_str).map(str::to_owned).ok_or_else(|| {
        ConfigError::Invalid {
            problems: vec![Problem::new(origin, "name", "missing: documents are keyed by it")],
        }
    })?;
    let mut doc = match Bson::try_from(value) {
        Ok(Bson::Document(doc)) => doc,
        Ok(_) => {
            return Err(ConfigError::Invalid {
                problems: vec![Problem::new(origin, "", "a config must be an object")],
            });
        }
        Err(err) => {
            return Err(ConfigError::Invalid {
                problems: vec![Problem::new(origin, "", format!("cannot be stored in MongoDB: {err}"))],
            });
        }
    };
    doc.insert("_id", name.clone());
    Ok((name, doc))
}

/// The config text (plain JSON, pretty) of a stored document, `_id` left out.
pub(crate) fn document_to_text(mut doc: Document) -> String {
    doc.remove("_id");
    let value = Bson::Document(doc).into_relaxed_extjson();
    // A JSON value always serializes.
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// Parses and validates a stored document as a node config; `origin`
/// names it in errors (for example `mongodb://host/espoir.nodes/proxy_1`).
pub(crate) fn document_to_config(doc: Document, origin: &Path) -> Result<(String, NodeConfig), ConfigError> {
    let text = document_to_text(doc);
    let config = NodeConfig::from_json5_str(&text, origin)?;
    Ok((text, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"// a comment, as in obespoir's files
    {
        "name": "service_1", "type": "service", "host": "127.0.0.1",
        "rpc": { "port": 22002, "token": "helloworldiloveyou~1234567890123", "reconnect_time": 1.5,
                 "route": { "range": { "service": [[5001, 100000]] } } },
        "remote_ports": [],
    }"#;

    #[test]
    fn a_file_round_trips_through_a_document() {
        let origin = Path::new("service.json5");
        let (name, doc) = text_to_document(FILE, origin).unwrap();
        assert_eq!(name, "service_1");
        assert_eq!(doc.get_str("_id").unwrap(), "service_1");
        let (_, config) = document_to_config(doc, origin).unwrap();
        assert_eq!(config, NodeConfig::from_json5_str(FILE, origin).unwrap());
    }

    #[test]
    fn a_document_without_a_name_or_not_an_object_is_refused() {
        let origin = Path::new("x.json5");
        let err = text_to_document(r#"{"type": "proxy"}"#, origin).unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
        assert!(text_to_document("[1, 2]", origin).is_err());
        assert!(text_to_document("{ nope", origin).is_err());
    }

    #[test]
    fn an_invalid_document_names_its_origin_and_field() {
        let mut doc = text_to_document(FILE, Path::new("f")).unwrap().1;
        doc.insert("type", "emperor");
        let err = document_to_config(doc, Path::new("mongodb://h/espoir.nodes/service_1")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("espoir.nodes/service_1") && text.contains("type"), "{text}");
    }
}
