//! CloudFront's XML: reading an `InvalidationBatch` request body and writing
//! the `Invalidation` and `ErrorResponse` documents; and S3's `Error` and
//! `ListBucketResult` documents.
//!
//! Documents are written by hand because their shapes are fixed and small;
//! element order follows the botocore model, which is what CloudFront sends,
//! and for S3 what S3 sends.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;
use quick_xml::Reader;

/// The XML namespace of every CloudFront 2020-05-31 document.
pub const NAMESPACE: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";

/// The XML namespace of S3's documents (API 2006-03-01).
pub const S3_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

const PROLOG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// An `InvalidationBatch` as sent, before any semantic check.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParsedBatch {
    /// Text of `Paths/Quantity`, if the element was present.
    pub quantity: Option<String>,
    /// Text of each `Paths/Items/Path`, in order.
    pub paths: Vec<String>,
    /// Text of `CallerReference`, if present.
    pub caller_reference: Option<String>,
    /// Whether a `Paths` element was present at all.
    pub has_paths: bool,
}

/// Where the text being read belongs.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Quantity,
    Path,
    CallerReference,
    Ignored,
}

/// Reads an `InvalidationBatch` document. Unknown elements are ignored, as
/// AWS services do; a document that is not well-formed XML, or whose root is
/// not `InvalidationBatch`, is an error (the message says why).
pub fn parse_invalidation_batch(body: &[u8]) -> Result<ParsedBatch, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("body is not UTF-8: {e}"))?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    let mut batch = ParsedBatch::default();
    let mut saw_root = false;

    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(start) => {
                let name = local_name(start.local_name().as_ref())?;
                if stack.is_empty() {
                    check_root(&name, &mut saw_root)?;
                }
                stack.push(name);
                open(&stack, &mut batch);
            }
            Event::Empty(start) => {
                let name = local_name(start.local_name().as_ref())?;
                if stack.is_empty() {
                    check_root(&name, &mut saw_root)?;
                }
                stack.push(name);
                open(&stack, &mut batch);
                stack.pop();
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                append(&stack, &mut batch, &s);
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                append(&stack, &mut batch, &s);
            }
            Event::GeneralRef(r) => {
                let s: Cow<'_, str> = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => Cow::Owned(c.to_string()),
                    None => {
                        let name = r.decode().map_err(|e| e.to_string())?;
                        match resolve_predefined_entity(&name) {
                            Some(v) => Cow::Borrowed(v),
                            None => return Err(format!("unknown entity &{name};")),
                        }
                    }
                };
                append(&stack, &mut batch, &s);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !saw_root {
        return Err("the document has no root element".into());
    }
    if let Some(open) = stack.last() {
        return Err(format!("the document ends inside <{open}>"));
    }
    Ok(batch)
}

fn local_name(raw: &[u8]) -> Result<String, String> {
    std::str::from_utf8(raw)
        .map(str::to_string)
        .map_err(|e| e.to_string())
}

fn check_root(name: &str, saw_root: &mut bool) -> Result<(), String> {
    if *saw_root {
        return Err("the document has more than one root element".into());
    }
    if name != "InvalidationBatch" {
        return Err(format!(
            "the root element is {name}, expected InvalidationBatch"
        ));
    }
    *saw_root = true;
    Ok(())
}

fn target(stack: &[String]) -> Target {
    let path: Vec<&str> = stack.iter().map(String::as_str).collect();
    match path.as_slice() {
        ["InvalidationBatch", "Paths", "Quantity"] => Target::Quantity,
        ["InvalidationBatch", "Paths", "Items", "Path"] => Target::Path,
        ["InvalidationBatch", "CallerReference"] => Target::CallerReference,
        _ => Target::Ignored,
    }
}

/// Notes an element's opening, so that `<Path/>` and `<CallerReference/>`
/// count as present-but-empty rather than absent.
fn open(stack: &[String], batch: &mut ParsedBatch) {
    if stack.len() == 2 && stack[1] == "Paths" {
        batch.has_paths = true;
    }
    match target(stack) {
        Target::Quantity => {
            batch.quantity.get_or_insert_with(String::new);
        }
        Target::Path => batch.paths.push(String::new()),
        Target::CallerReference => {
            batch.caller_reference.get_or_insert_with(String::new);
        }
        Target::Ignored => {}
    }
}

fn append(stack: &[String], batch: &mut ParsedBatch, s: &str) {
    match target(stack) {
        Target::Quantity => batch.quantity.get_or_insert_with(String::new).push_str(s),
        Target::Path => {
            if let Some(last) = batch.paths.last_mut() {
                last.push_str(s);
            }
        }
        Target::CallerReference => batch
            .caller_reference
            .get_or_insert_with(String::new)
            .push_str(s),
        Target::Ignored => {}
    }
}

/// Data for one `Invalidation` document.
pub struct InvalidationDoc<'a> {
    pub id: &'a str,
    pub status: &'a str,
    pub create_time: &'a str,
    pub paths: &'a [String],
    pub caller_reference: &'a str,
}

/// The body of CreateInvalidation and GetInvalidation.
pub fn invalidation_document(doc: &InvalidationDoc<'_>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{PROLOG}<Invalidation xmlns=\"{NAMESPACE}\"><Id>{}</Id><Status>{}</Status><CreateTime>{}</CreateTime><InvalidationBatch><Paths><Quantity>{}</Quantity>",
        escape(doc.id),
        escape(doc.status),
        escape(doc.create_time),
        doc.paths.len()
    );
    if !doc.paths.is_empty() {
        out.push_str("<Items>");
        for path in doc.paths {
            let _ = write!(out, "<Path>{}</Path>", escape(path.as_str()));
        }
        out.push_str("</Items>");
    }
    let _ = write!(
        out,
        "</Paths><CallerReference>{}</CallerReference></InvalidationBatch></Invalidation>",
        escape(doc.caller_reference)
    );
    out
}

/// CloudFront's error document. `sender` picks `<Type>Sender</Type>` (the
/// caller's fault, 4xx) or `Receiver` (the service's, 5xx).
pub fn error_document(code: &str, message: &str, request_id: &str, sender: bool) -> String {
    format!(
        "{PROLOG}<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        if sender { "Sender" } else { "Receiver" },
        escape(code),
        escape(message),
        escape(request_id)
    )
}

/// S3's error document: a bare `Error` root (no `ErrorResponse` wrapper, no
/// namespace, no `Type`), with the code's own elements such as `Key` or
/// `BucketName` between `Message` and `RequestId`.
pub fn s3_error_document(
    code: &str,
    message: &str,
    details: &[(&str, String)],
    request_id: &str,
    host_id: &str,
) -> String {
    let mut out = format!(
        "{PROLOG}\n<Error><Code>{}</Code><Message>{}</Message>",
        escape(code),
        escape(message)
    );
    for (name, value) in details {
        let _ = write!(out, "<{name}>{}</{name}>", escape(value.as_str()));
    }
    let _ = write!(
        out,
        "<RequestId>{}</RequestId><HostId>{}</HostId></Error>",
        escape(request_id),
        escape(host_id)
    );
    out
}

/// One `Contents` entry of a `ListBucketResult`.
pub struct ListedObject<'a> {
    /// As it goes on the wire (URL-encoded when the request asked).
    pub key: &'a str,
    /// RFC 3339 with milliseconds.
    pub last_modified: &'a str,
    /// Quoted, as the `ETag` header.
    pub etag: &'a str,
    /// `CRC32`, `CRC64NVME`…
    pub checksum_algorithm: &'a str,
    pub size: u64,
}

/// The data of a ListObjectsV2 answer. Values go on the wire as given (the
/// caller URL-encodes them when the request asked).
pub struct ListBucketResult<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub start_after: Option<&'a str>,
    pub continuation_token: Option<&'a str>,
    pub next_continuation_token: Option<&'a str>,
    pub key_count: usize,
    pub max_keys: usize,
    pub delimiter: Option<&'a str>,
    pub encoding_type: Option<&'a str>,
    pub is_truncated: bool,
    pub contents: Vec<ListedObject<'a>>,
    pub common_prefixes: Vec<&'a str>,
}

/// ListObjectsV2's body: `Name`, `Prefix` (empty when none was given), the
/// echoed `StartAfter` and `ContinuationToken`, `NextContinuationToken`,
/// `KeyCount`, `MaxKeys`, `Delimiter`, `EncodingType`, `IsTruncated`, then
/// every `Contents` and every `CommonPrefixes`
/// ([ListObjectsV2](https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html);
/// the order and the `Contents` children as S3 writes them, `ETag` escaped as
/// `&quot;`, per the responses quoted in github.com/versity/versitygw issue
/// 1985 and github.com/brekkylab/backlot issue 178). Written piece by piece:
/// a page of 1,000 objects is the emulator's largest document.
pub fn list_bucket_result(doc: &ListBucketResult<'_>) -> String {
    let mut out =
        String::with_capacity(512 + 320 * (doc.contents.len() + doc.common_prefixes.len()));
    out.push_str(PROLOG);
    out.push_str("\n<ListBucketResult xmlns=\"");
    out.push_str(S3_NAMESPACE);
    out.push_str("\">");
    element(&mut out, "Name", doc.name);
    element(&mut out, "Prefix", doc.prefix);
    let optional = [
        ("StartAfter", doc.start_after),
        ("ContinuationToken", doc.continuation_token),
        ("NextContinuationToken", doc.next_continuation_token),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            element(&mut out, name, value);
        }
    }
    element(&mut out, "KeyCount", &doc.key_count.to_string());
    element(&mut out, "MaxKeys", &doc.max_keys.to_string());
    for (name, value) in [
        ("Delimiter", doc.delimiter),
        ("EncodingType", doc.encoding_type),
    ] {
        if let Some(value) = value {
            element(&mut out, name, value);
        }
    }
    element(
        &mut out,
        "IsTruncated",
        if doc.is_truncated { "true" } else { "false" },
    );
    for object in &doc.contents {
        out.push_str("<Contents>");
        element(&mut out, "Key", object.key);
        element(&mut out, "LastModified", object.last_modified);
        element(&mut out, "ETag", object.etag);
        element(&mut out, "ChecksumAlgorithm", object.checksum_algorithm);
        out.push_str("<ChecksumType>FULL_OBJECT</ChecksumType>");
        element(&mut out, "Size", &object.size.to_string());
        out.push_str("<StorageClass>STANDARD</StorageClass></Contents>");
    }
    for prefix in &doc.common_prefixes {
        out.push_str("<CommonPrefixes>");
        element(&mut out, "Prefix", prefix);
        out.push_str("</CommonPrefixes>");
    }
    out.push_str("</ListBucketResult>");
    out
}

/// Appends `<name>text</name>`, the text escaped as [`escape`] escapes it,
/// without a copy of the text.
fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    // An index loop: the tests run a debug build, where this is several
    // times quicker than an iterator chain, and a listing page escapes
    // some 40,000 bytes.
    let bytes = text.as_bytes();
    let (mut copied, mut at) = (0, 0);
    while at < bytes.len() {
        let entity = match bytes[at] {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            b'\'' => "&apos;",
            _ => {
                at += 1;
                continue;
            }
        };
        out.push_str(&text[copied..at]);
        out.push_str(entity);
        at += 1;
        copied = at;
    }
    out.push_str(&text[copied..]);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_batch_with_namespace_and_entities() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">
  <Paths><Quantity>2</Quantity><Items><Path>/a&amp;b</Path><Path><![CDATA[/c<d]]></Path></Items></Paths>
  <CallerReference>ref&#x31;</CallerReference>
</InvalidationBatch>"#;
        let batch = parse_invalidation_batch(body).unwrap();
        assert_eq!(batch.quantity.as_deref().map(str::trim), Some("2"));
        assert_eq!(batch.paths, vec!["/a&b", "/c<d"]);
        assert_eq!(batch.caller_reference.as_deref(), Some("ref1"));
        assert!(batch.has_paths);
    }

    #[test]
    fn empty_elements_count_as_present() {
        let batch = parse_invalidation_batch(
            b"<InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path/></Items></Paths><CallerReference/></InvalidationBatch>",
        )
        .unwrap();
        assert_eq!(batch.paths, vec![""]);
        assert_eq!(batch.caller_reference.as_deref(), Some(""));
    }

    #[test]
    fn rejects_wrong_root_and_bad_xml() {
        assert!(parse_invalidation_batch(b"<Foo/>").is_err());
        assert!(parse_invalidation_batch(b"<InvalidationBatch><Paths>").is_err());
        assert!(parse_invalidation_batch(b"<InvalidationBatch></Paths>").is_err());
        assert!(parse_invalidation_batch(b"not xml").is_err());
    }

    #[test]
    fn escapes_output() {
        let doc = invalidation_document(&InvalidationDoc {
            id: "I1",
            status: "InProgress",
            create_time: "2024-01-01T00:00:00.000Z",
            paths: &["/a&b".to_string()],
            caller_reference: "<r>",
        });
        assert!(doc.contains("<Path>/a&amp;b</Path>"));
        assert!(doc.contains("<CallerReference>&lt;r&gt;</CallerReference>"));
        let doc = s3_error_document(
            "NoSuchKey",
            "The specified key does not exist.",
            &[("Key", "a&b/c d".to_string())],
            "rid",
            "hid",
        );
        assert!(
            doc.ends_with("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a&amp;b/c d</Key><RequestId>rid</RequestId><HostId>hid</HostId></Error>"),
            "{doc}"
        );
    }

    #[test]
    fn elements_escape_as_quick_xml_does() {
        let text = "a<b>&'c\"d é";
        let mut out = String::new();
        element(&mut out, "Key", text);
        assert_eq!(out, format!("<Key>{}</Key>", escape(text)));
    }

    #[test]
    fn writes_a_list_bucket_result_as_s3_does() {
        let doc = list_bucket_result(&ListBucketResult {
            name: "site",
            prefix: "",
            start_after: None,
            continuation_token: Some("tok"),
            next_continuation_token: None,
            key_count: 2,
            max_keys: 1000,
            delimiter: Some("/"),
            encoding_type: None,
            is_truncated: false,
            contents: vec![ListedObject {
                key: "a&b.html",
                last_modified: "2026-01-01T00:00:00.000Z",
                etag: "\"d41d8cd98f00b204e9800998ecf8427e\"",
                checksum_algorithm: "CRC32",
                size: 0,
            }],
            common_prefixes: vec!["css/"],
        });
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>site</Name><Prefix></Prefix><ContinuationToken>tok</ContinuationToken><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated><Contents><Key>a&amp;b.html</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents><CommonPrefixes><Prefix>css/</Prefix></CommonPrefixes></ListBucketResult>"
        );
    }
}
