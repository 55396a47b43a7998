//! SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2).
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER
//! compValue = false / null / true / number / string
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! ```
//!
//! Operators and keywords are case-insensitive; `not` binds tighter than `and`, `and`
//! tighter than `or`, both associate to the left, and parentheses group. Input is bounded
//! ([`MAX_FILTER_LEN`], [`MAX_DEPTH`]) so that no filter can exhaust the stack; every
//! malformed input is a [`FilterError`] (SCIM's `invalidFilter` / `invalidPath`), never a
//! panic. A parsed filter prints (`Display`) to a filter that parses back to the same tree.

use std::fmt;

/// Longest filter or path accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of groups, `not`s and value paths accepted.
pub const MAX_DEPTH: usize = 32;

/// An attribute path: an optional schema URI, an attribute name and an optional
/// sub-attribute (`urn:...:enterprise:2.0:User:manager.value`, `name.givenName`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URI the attribute belongs to, when written (without the final `:`).
    pub uri: Option<String>,
    /// The attribute's name, as written (names compare case-insensitively).
    pub name: String,
    /// The sub-attribute, as written.
    pub sub: Option<String>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal.
    Le,
}

impl CompareOp {
    const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The operator's keyword (`eq`, `co`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

/// A comparison's literal.
#[derive(Debug, Clone, PartialEq)]
pub enum CompareValue {
    /// A JSON string.
    Str(String),
    /// A JSON number.
    Num(serde_json::Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal.
        value: CompareValue,
    },
    /// `path pr`: the attribute has a value.
    Present(AttrPath),
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`.
    Not(Box<Filter>),
    /// `path[filter]`: some value of the multi-valued attribute `path` matches `filter`
    /// (whose paths are its sub-attributes).
    ValuePath {
        /// The multi-valued attribute.
        path: AttrPath,
        /// The filter on each of its values.
        filter: Box<Filter>,
    },
}

/// A PATCH operation's `path`: an attribute, or the values of a multi-valued attribute
/// that match a filter, optionally narrowed to one sub-attribute
/// (`emails[type eq "work"].value`).
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// `attrPath`.
    Attr(AttrPath),
    /// `attrPath[valFilter]` with an optional `.subAttr`.
    Values {
        /// The multi-valued attribute.
        path: AttrPath,
        /// Which of its values.
        filter: Box<Filter>,
        /// The sub-attribute of those values, when written.
        sub: Option<String>,
    },
}

/// Why a filter or path is refused: where (a byte offset) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at byte {at}: {reason}")]
pub struct FilterError {
    /// The byte offset in the input.
    pub at: usize,
    /// What is wrong there.
    pub reason: &'static str,
}

impl Filter {
    /// Parses a `filter` query parameter.
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        let mut parser = Parser::new(input)?;
        let filter = parser.or_expression()?;
        parser.skip_spaces();
        if !parser.at_end() {
            return Err(parser.error("unexpected input after the filter"));
        }
        Ok(filter)
    }

    /// Binding strength when printed: `or` 1, `and` 2, everything else 3.
    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 1,
            Filter::And(..) => 2,
            _ => 3,
        }
    }
}

impl PatchPath {
    /// Parses a PATCH operation's `path`.
    pub fn parse(input: &str) -> Result<PatchPath, FilterError> {
        let mut parser = Parser::new(input)?;
        parser.skip_spaces();
        let path = parser.attr_path()?;
        let parsed = if parser.eat('[') {
            let filter = parser.value_filter(&path)?;
            let sub = if parser.eat('.') {
                Some(parser.name()?)
            } else {
                None
            };
            PatchPath::Values { path, filter, sub }
        } else {
            PatchPath::Attr(path)
        };
        parser.skip_spaces();
        if !parser.at_end() {
            return Err(parser.error("unexpected input after the path"));
        }
        Ok(parsed)
    }
}

/// A recursive-descent parser over the input's bytes.
struct Parser<'a> {
    input: &'a str,
    at: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Result<Self, FilterError> {
        if input.len() > MAX_FILTER_LEN {
            return Err(FilterError {
                at: MAX_FILTER_LEN,
                reason: "longer than 4096 bytes",
            });
        }
        Ok(Parser {
            input,
            at: 0,
            depth: 0,
        })
    }

    fn error(&self, reason: &'static str) -> FilterError {
        FilterError {
            at: self.at,
            reason,
        }
    }

    fn rest(&self) -> &'a str {
        &self.input[self.at..]
    }

    fn at_end(&self) -> bool {
        self.at >= self.input.len()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_spaces(&mut self) {
        let trimmed = self.rest().trim_start_matches(' ');
        self.at = self.input.len() - trimmed.len();
    }

    /// Consumes `c` if it is next.
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char, reason: &'static str) -> Result<(), FilterError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// The next word (letters, digits, `-`, `_`, `.`, `:`, `$`) without consuming it.
    fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.:$".contains(c)))
            .unwrap_or(rest.len());
        &rest[..end]
    }

    /// Consumes the keyword `word` (case-insensitive) if it is the next word.
    fn eat_keyword(&mut self, word: &str) -> bool {
        if self.peek_word().eq_ignore_ascii_case(word) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    /// One level deeper (a group, a `not`, a value path), refused past [`MAX_DEPTH`].
    fn descend(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested deeper than 32"));
        }
        Ok(())
    }

    /// `and-expression *( SP "or" SP and-expression )`.
    fn or_expression(&mut self) -> Result<Filter, FilterError> {
        self.left_associative("or", Self::and_expression, Filter::Or)
    }

    /// `unary *( SP "and" SP unary )`.
    fn and_expression(&mut self) -> Result<Filter, FilterError> {
        self.left_associative("and", Self::unary, Filter::And)
    }

    /// `operand *( SP word SP operand )`, joined from the left.
    fn left_associative(
        &mut self,
        word: &str,
        operand: fn(&mut Self) -> Result<Filter, FilterError>,
        join: fn(Box<Filter>, Box<Filter>) -> Filter,
    ) -> Result<Filter, FilterError> {
        let mut left = operand(self)?;
        loop {
            let before = self.at;
            self.skip_spaces();
            if self.at > before && self.eat_keyword_then_space(word) {
                let right = operand(self)?;
                left = join(Box::new(left), Box::new(right));
            } else {
                self.at = before;
                return Ok(left);
            }
        }
    }

    /// Consumes `word` followed by at least one space, or nothing.
    fn eat_keyword_then_space(&mut self, word: &str) -> bool {
        let before = self.at;
        if self.eat_keyword(word) && self.peek() == Some(' ') {
            self.skip_spaces();
            true
        } else {
            self.at = before;
            false
        }
    }

    /// `"not" *SP "(" FILTER ")"`, `"(" FILTER ")"`, a value path or an attribute
    /// expression.
    fn unary(&mut self) -> Result<Filter, FilterError> {
        self.skip_spaces();
        let before = self.at;
        if self.eat_keyword("not") {
            self.skip_spaces();
            if self.peek() == Some('(') {
                self.descend()?;
                self.eat('(');
                let inner = self.group_body()?;
                self.depth -= 1;
                return Ok(Filter::Not(Box::new(inner)));
            }
            // An attribute named `not...`: read it as a path.
            self.at = before;
        }
        if self.eat('(') {
            self.descend()?;
            let inner = self.group_body()?;
            self.depth -= 1;
            return Ok(inner);
        }
        let path = self.attr_path()?;
        if self.eat('[') {
            let filter = self.value_filter(&path)?;
            return Ok(Filter::ValuePath { path, filter });
        }
        self.attribute_expression(path)
    }

    /// The inside of a group after `(`, through its `)`.
    fn group_body(&mut self) -> Result<Filter, FilterError> {
        let inner = self.or_expression()?;
        self.skip_spaces();
        self.expect(')', "expected `)`")?;
        Ok(inner)
    }

    /// The filter of a value path after `[`, through its `]`; value paths do not nest.
    fn value_filter(&mut self, path: &AttrPath) -> Result<Box<Filter>, FilterError> {
        if path.sub.is_some() {
            return Err(self.error("a value path names an attribute, not a sub-attribute"));
        }
        self.descend()?;
        let filter = self.or_expression()?;
        if contains_value_path(&filter) {
            return Err(self.error("value paths do not nest"));
        }
        self.skip_spaces();
        self.expect(']', "expected `]`")?;
        self.depth -= 1;
        Ok(Box::new(filter))
    }

    /// `SP "pr"` or `SP compareOp SP compValue` after `path`.
    fn attribute_expression(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        if !self.eat(' ') {
            return Err(self.error("expected an operator after the attribute"));
        }
        self.skip_spaces();
        let word = self.peek_word();
        if word.eq_ignore_ascii_case("pr") {
            self.at += 2;
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::from_keyword(word).ok_or_else(|| self.error("unknown operator"))?;
        self.at += 2;
        if !self.eat(' ') {
            return Err(self.error("expected a value after the operator"));
        }
        self.skip_spaces();
        let value = self.value()?;
        Ok(Filter::Compare { path, op, value })
    }

    /// `[URI ":"] ATTRNAME ["." ATTRNAME]`.
    fn attr_path(&mut self) -> Result<AttrPath, FilterError> {
        let start = self.at;
        let word = self.peek_word();
        if word.is_empty() {
            return Err(self.error("expected an attribute"));
        }
        let (uri, local) = match word.rsplit_once(':') {
            Some((uri, local)) => {
                if !is_uri(uri) {
                    return Err(self.error("malformed schema URI"));
                }
                (Some(uri.to_owned()), local)
            }
            None => (None, word),
        };
        let (name, sub) = match local.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (local, None),
        };
        if !is_name(name) || sub.is_some_and(|s| !is_name(s)) {
            return Err(FilterError {
                at: start,
                reason: "malformed attribute name",
            });
        }
        self.at += word.len();
        Ok(AttrPath {
            uri,
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// An `ATTRNAME` (after a value path's `].`).
    fn name(&mut self) -> Result<String, FilterError> {
        let word = self.peek_word();
        if !is_name(word) {
            return Err(self.error("malformed attribute name"));
        }
        self.at += word.len();
        Ok(word.to_owned())
    }

    /// `false / null / true / number / string`.
    fn value(&mut self) -> Result<CompareValue, FilterError> {
        match self.peek() {
            Some('"') => self.string().map(CompareValue::Str),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number().map(CompareValue::Num),
            _ => {
                let word = self.peek_word();
                let value = if word.eq_ignore_ascii_case("true") {
                    CompareValue::Bool(true)
                } else if word.eq_ignore_ascii_case("false") {
                    CompareValue::Bool(false)
                } else if word.eq_ignore_ascii_case("null") {
                    CompareValue::Null
                } else {
                    return Err(self.error("expected a string, number, true, false or null"));
                };
                self.at += word.len();
                Ok(value)
            }
        }
    }

    /// A JSON string literal.
    fn string(&mut self) -> Result<String, FilterError> {
        let rest = self.rest().as_bytes();
        let mut end = 1;
        loop {
            match rest.get(end) {
                None => return Err(self.error("unterminated string")),
                Some(b'\\') => end += 2,
                Some(b'"') => break,
                Some(_) => end += 1,
            }
        }
        let literal = &self.rest()[..=end];
        let value =
            serde_json::from_str::<String>(literal).map_err(|_| self.error("malformed string"))?;
        self.at += literal.len();
        Ok(value)
    }

    /// A JSON number literal.
    fn number(&mut self) -> Result<serde_json::Number, FilterError> {
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
            .unwrap_or(rest.len());
        let text = &rest[..end];
        // serde_json checks the JSON grammar, but its default float parsing is not
        // correctly rounded: a non-integer is read again by the standard library, which
        // is, so that a filter printed back parses to the same value.
        let number = text
            .parse::<serde_json::Number>()
            .map_err(|_| self.error("malformed number"))?;
        let number = if number.is_f64() {
            text.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .ok_or_else(|| self.error("malformed number"))?
        } else {
            number
        };
        self.at += end;
        Ok(number)
    }
}

/// `ALPHA *(ALPHA / DIGIT / "-" / "_")`; `$ref` too (SCIM's reference attribute).
fn is_name(name: &str) -> bool {
    if name == "$ref" {
        return true;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A schema URI: `urn:` and colon-separated non-empty parts of name characters and dots.
fn is_uri(uri: &str) -> bool {
    uri.len() > 4
        && uri[..4].eq_ignore_ascii_case("urn:")
        && uri.split(':').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
}

fn contains_value_path(filter: &Filter) -> bool {
    match filter {
        Filter::ValuePath { .. } => true,
        Filter::And(a, b) | Filter::Or(a, b) => contains_value_path(a) || contains_value_path(b),
        Filter::Not(inner) => contains_value_path(inner),
        Filter::Compare { .. } | Filter::Present(_) => false,
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompareValue::Str(s) => {
                let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
            CompareValue::Num(n) => write!(f, "{n}"),
            CompareValue::Bool(b) => write!(f, "{b}"),
            CompareValue::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(a, b) => binary(f, self, a, "and", b),
            Filter::Or(a, b) => binary(f, self, a, "or", b),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

/// `left word right`, each side in parentheses where it binds less tightly than `parent`
/// (the right side also where it binds as tightly, since both associate to the left).
fn binary(
    f: &mut fmt::Formatter<'_>,
    parent: &Filter,
    left: &Filter,
    word: &str,
    right: &Filter,
) -> fmt::Result {
    let strength = parent.precedence();
    if left.precedence() < strength {
        write!(f, "({left})")?;
    } else {
        write!(f, "{left}")?;
    }
    write!(f, " {word} ")?;
    if right.precedence() <= strength {
        write!(f, "({right})")
    } else {
        write!(f, "{right}")
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attr(path) => write!(f, "{path}"),
            PatchPath::Values { path, filter, sub } => {
                write!(f, "{path}[{filter}]")?;
                if let Some(sub) = sub {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_long_number_prints_back_to_the_same_value() {
        // Found by the scim_inputs fuzz target: serde_json alone read this 1 ulp off.
        let text = "odid gt 5011451907952434566482400000011451907952434566488";
        let filter = Filter::parse(text).unwrap();
        assert_eq!(Filter::parse(&filter.to_string()).unwrap(), filter);
    }
    use super::*;

    fn path(name: &str) -> AttrPath {
        AttrPath {
            uri: None,
            name: name.into(),
            sub: None,
        }
    }

    fn eq(name: &str, value: &str) -> Filter {
        Filter::Compare {
            path: path(name),
            op: CompareOp::Eq,
            value: CompareValue::Str(value.into()),
        }
    }

    #[test]
    fn the_rfc_examples_parse() {
        // RFC 7644 §3.4.2.2's examples.
        for example in [
            r#"userName Eq "john""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            "title pr",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        ] {
            let parsed = Filter::parse(example).unwrap_or_else(|e| panic!("{example}: {e}"));
            assert_eq!(
                Filter::parse(&parsed.to_string()).unwrap(),
                parsed,
                "{example}"
            );
        }
    }

    #[test]
    fn precedence_and_associativity() {
        let parsed = Filter::parse(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap();
        assert_eq!(
            parsed,
            Filter::Or(
                Box::new(eq("a", "1")),
                Box::new(Filter::And(Box::new(eq("b", "2")), Box::new(eq("c", "3"))))
            )
        );
        let grouped = Filter::parse(r#"a eq "1" and (b eq "2" and c eq "3")"#).unwrap();
        assert_eq!(
            grouped.to_string(),
            r#"a eq "1" and (b eq "2" and c eq "3")"#
        );
        let left = Filter::parse(r#"(a eq "1" or b eq "2") and c eq "3""#).unwrap();
        assert_eq!(left.to_string(), r#"(a eq "1" or b eq "2") and c eq "3""#);
    }

    #[test]
    fn uris_sub_attributes_and_values() {
        let parsed = Filter::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq 12.5e3",
        )
        .unwrap();
        let Filter::Compare { path, value, .. } = parsed else {
            panic!("a comparison");
        };
        assert_eq!(
            path.uri.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(
            (path.name.as_str(), path.sub.as_deref()),
            ("manager", Some("value"))
        );
        assert!(matches!(value, CompareValue::Num(_)));
        for (filter, value) in [
            ("active eq TRUE", CompareValue::Bool(true)),
            ("active eq false", CompareValue::Bool(false)),
            ("x eq null", CompareValue::Null),
            (r#"x eq "a\"b\u00e9""#, CompareValue::Str("a\"bé".into())),
        ] {
            let Filter::Compare { value: got, .. } = Filter::parse(filter).unwrap() else {
                panic!("{filter}");
            };
            assert_eq!(got, value, "{filter}");
        }
    }

    #[test]
    fn patch_paths() {
        assert_eq!(
            PatchPath::parse(r#"emails[type eq "work"].value"#)
                .unwrap()
                .to_string(),
            r#"emails[type eq "work"].value"#
        );
        assert_eq!(
            PatchPath::parse("name.givenName").unwrap(),
            PatchPath::Attr(AttrPath {
                uri: None,
                name: "name".into(),
                sub: Some("givenName".into()),
            })
        );
        let members = PatchPath::parse(r#"members[value eq "2819c223-7f76-453a-919d"]"#).unwrap();
        assert!(matches!(members, PatchPath::Values { sub: None, .. }));
        for bad in [
            "",
            "emails[",
            r#"emails[type eq "work"]."#,
            "a b",
            "emails[x pr]]",
        ] {
            assert!(PatchPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn malformed_filters_are_refused_with_where() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"userName eq "unterminated"#,
            r#"userName xx "a""#,
            r#"userName eq "a" and"#,
            r#"(userName eq "a""#,
            r#"userName eq "a")"#,
            r#"not userName eq "a""#,
            r#"emails[type eq "work""#,
            r#"emails[ims[type eq "x"]]"#,
            r#"name.givenName[x pr]"#,
            "1abc pr",
            "a.b.c pr",
            "urn:: pr",
            "x eq 1..2",
            "x eq True1",
            r#"userName eq "a"and b pr"#,
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad:?}");
        }
        let error = Filter::parse(r#"userName qq "a""#).unwrap_err();
        assert_eq!(error.at, 9);
        let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(
            Filter::parse(&deep).unwrap_err().reason,
            "nested deeper than 32"
        );
        let long = format!(r#"a eq "{}""#, "x".repeat(MAX_FILTER_LEN));
        assert!(Filter::parse(&long).is_err());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn name() -> impl Strategy<Value = String> {
            "[a-zA-Z][a-zA-Z0-9_-]{0,8}"
        }

        fn attr_path() -> impl Strategy<Value = AttrPath> {
            (
                proptest::option::of("urn:[a-z]{1,5}(:[a-z0-9.]{1,5}){0,3}"),
                name(),
                proptest::option::of(name()),
            )
                .prop_map(|(uri, name, sub)| AttrPath { uri, name, sub })
        }

        fn value() -> impl Strategy<Value = CompareValue> {
            prop_oneof![
                any::<String>().prop_map(CompareValue::Str),
                any::<i64>().prop_map(|n| CompareValue::Num(n.into())),
                any::<bool>().prop_map(CompareValue::Bool),
                Just(CompareValue::Null),
            ]
        }

        fn leaf() -> impl Strategy<Value = Filter> {
            prop_oneof![
                (attr_path(), 0..9usize, value()).prop_map(|(path, op, value)| {
                    Filter::Compare {
                        path,
                        op: CompareOp::ALL[op],
                        value,
                    }
                }),
                attr_path().prop_map(Filter::Present),
            ]
        }

        fn value_free() -> impl Strategy<Value = Filter> {
            leaf().prop_recursive(4, 16, 2, |inner| {
                prop_oneof![
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                    inner.prop_map(|a| Filter::Not(Box::new(a))),
                ]
            })
        }

        fn filter() -> impl Strategy<Value = Filter> {
            let value_path = (attr_path(), value_free()).prop_map(|(mut path, filter)| {
                path.sub = None;
                Filter::ValuePath {
                    path,
                    filter: Box::new(filter),
                }
            });
            prop_oneof![value_free(), value_path].prop_recursive(3, 12, 2, |inner| {
                prop_oneof![
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                    (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                ]
            })
        }

        proptest! {
            #[test]
            fn any_input_is_parsed_or_refused_never_a_panic(input in any::<String>()) {
                let _ = Filter::parse(&input);
                let _ = PatchPath::parse(&input);
            }

            #[test]
            fn filter_like_input_is_parsed_or_refused_never_a_panic(
                input in r#"[a-z:.\[\]() "\\0-9-]{0,60}"#
            ) {
                if let Ok(parsed) = Filter::parse(&input) {
                    prop_assert_eq!(Filter::parse(&parsed.to_string()).unwrap(), parsed);
                }
            }

            #[test]
            fn every_filter_prints_back_to_itself(filter in filter()) {
                let printed = filter.to_string();
                prop_assume!(printed.len() <= MAX_FILTER_LEN);
                prop_assert_eq!(Filter::parse(&printed), Ok(filter));
            }
        }
    }
}
