//! Small helpers over quick-xml shared by the `package.xml` and `metadata.txt` readers:
//! attributes by local name (namespace prefixes vary), and text with entities resolved.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart};

/// The value of the attribute with this local name, unescaped.
pub fn attribute(element: &BytesStart, name: &str) -> Result<Option<String>, String> {
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|error| format!("bad attribute: {error}"))?;
        if attribute.key.local_name().as_ref() == name {
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|error| format!("bad value of attribute {name}: {error}"))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// Like [`attribute`], but a missing attribute is an error naming the element.
pub fn required_attribute(element: &BytesStart, name: &str) -> Result<String, String> {
    attribute(element, name)?
        .ok_or_else(|| format!("<{}> has no {name} attribute", local_name(element)))
}

/// The text an entity or character reference such as `&amp;` or `&#38;` stands for.
pub fn resolve_reference(reference: &BytesRef) -> Result<String, String> {
    if let Some(character) = reference
        .resolve_char_ref()
        .map_err(|error| format!("bad character reference: {error}"))?
    {
        return Ok(character.to_string());
    }
    let name: &str = reference;
    quick_xml::escape::resolve_predefined_entity(name)
        .map(str::to_owned)
        .ok_or_else(|| format!("unknown entity &{name};"))
}

/// The local name of an element, as text.
pub fn local_name<'a>(element: &'a BytesStart) -> &'a str {
    element.local_name().into_inner()
}
