//! `/Bulk` (RFC 7644 §3.7): many operations on `/Users` and `/Groups` in one request.
//!
//! Each operation runs as its own request would (the same checks, the same audit events);
//! one failing does not undo the others. A `POST` names its new resource with a `bulkId`,
//! and later operations refer to it as `bulkId:<id>`, in their path or anywhere in their
//! data (a group's `members[].value`). An operation that refers to a resource created
//! further down runs after it; one whose reference failed, or that is part of a cycle,
//! fails with 409; a reference to no `POST` of the request fails with 400. `failOnErrors` stops the request after that many failures. At most
//! [`MAX_OPERATIONS`] operations and [`MAX_PAYLOAD_SIZE`] bytes, as
//! `/ServiceProviderConfig` advertises.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::error::ScimError;
use super::resources::ResourceKind;
use super::service::{Directory, Scim};
use crate::context::RequestMeta;
use crate::store::ScimDomain;

/// Most operations in one bulk request.
pub const MAX_OPERATIONS: usize = 1000;
/// Largest bulk request body, in bytes (also the largest body of any SCIM request).
pub const MAX_PAYLOAD_SIZE: usize = 4 * 1024 * 1024;

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// How a value refers to the resource another operation creates.
const REFERENCE: &str = "bulkId:";
/// Longest `bulkId`, in bytes.
const MAX_BULK_ID: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "POST" => Some(Method::Post),
            "PUT" => Some(Method::Put),
            "PATCH" => Some(Method::Patch),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }
}

/// An operation that parsed: what to do to which resource.
#[derive(Debug)]
struct Planned {
    method: Method,
    kind: ResourceKind,
    /// The resource's id (or a reference to one), for all but `POST`.
    id: Option<String>,
    /// `version`: the operation's `If-Match`.
    version: Option<String>,
    data: Value,
    /// The `bulkId`s the path and data refer to.
    refers_to: HashSet<String>,
}

/// One operation of the request, as sent (its method and `bulkId` are echoed back).
#[derive(Debug)]
struct Entry {
    method: String,
    bulk_id: Option<String>,
    /// `path`, as sent: where a failed operation's answer says it was.
    path: Option<String>,
    plan: Result<Planned, ScimError>,
}

impl Entry {
    /// The `bulkId` this operation creates a resource for: a `POST`'s.
    fn creates(&self) -> Option<&str> {
        self.bulk_id
            .as_deref()
            .filter(|_| self.method.eq_ignore_ascii_case("POST"))
    }
}

/// The order operations run in: the request's, except that an operation waits for the
/// `POST`s whose `bulkId`s it refers to (Kahn's algorithm over those references, so a
/// request costs time in proportion to its operations and references).
struct Schedule {
    /// How many of the operations each one refers to have not run yet.
    waiting_on: Vec<usize>,
    /// The operations that refer to each one.
    dependents: Vec<Vec<usize>>,
    /// Operations waiting for nothing, lowest index first.
    ready: BinaryHeap<Reverse<usize>>,
    /// Operations not run yet.
    pending: BTreeSet<usize>,
}

impl Schedule {
    fn new(entries: &[Entry]) -> Self {
        let creators: HashMap<&str, usize> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((e.creates()?, i)))
            .collect();
        let mut waiting_on = vec![0; entries.len()];
        let mut dependents = vec![Vec::new(); entries.len()];
        for (i, entry) in entries.iter().enumerate() {
            let Ok(plan) = &entry.plan else { continue };
            for creator in plan
                .refers_to
                .iter()
                .filter_map(|r| creators.get(r.as_str()))
            {
                if let (Some(count), Some(list)) =
                    (waiting_on.get_mut(i), dependents.get_mut(*creator))
                {
                    *count += 1;
                    list.push(i);
                }
            }
        }
        let ready = (0..entries.len())
            .filter(|i| waiting_on.get(*i) == Some(&0))
            .map(Reverse)
            .collect();
        Self {
            waiting_on,
            dependents,
            ready,
            pending: (0..entries.len()).collect(),
        }
    }

    /// The next operation to run, and whether it only comes up because the ones left
    /// all wait on each other (a cycle); `None` when all ran.
    fn next(&mut self) -> Option<(usize, bool)> {
        while let Some(Reverse(i)) = self.ready.pop() {
            if self.pending.contains(&i) {
                return Some((i, false));
            }
        }
        self.pending.first().map(|i| (*i, true))
    }

    /// Marks `index` run, freeing what waited on it.
    fn done(&mut self, index: usize) {
        self.pending.remove(&index);
        let dependents = self
            .dependents
            .get_mut(index)
            .map(std::mem::take)
            .unwrap_or_default();
        for dependent in dependents {
            if let Some(count) = self.waiting_on.get_mut(dependent) {
                *count = count.saturating_sub(1);
                if *count == 0 && self.pending.contains(&dependent) {
                    self.ready.push(Reverse(dependent));
                }
            }
        }
    }
}

/// A bulk request, checked as a whole.
#[derive(Debug)]
struct Request {
    entries: Vec<Entry>,
    fail_on_errors: Option<usize>,
}

fn parse_request(body: &Value) -> Result<Request, ScimError> {
    let body = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a bulk request is a JSON object"))?;
    if let Some(schemas) = body.get("schemas")
        && !schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(BULK_REQUEST)))
    {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must name {BULK_REQUEST}"
        )));
    }
    let operations = body
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("Operations must be an array"))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::status(
            413,
            None,
            format!("a bulk request holds at most {MAX_OPERATIONS} operations"),
        ));
    }
    let fail_on_errors = match body.get("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .filter(|n| *n >= 1)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    ScimError::invalid_value("failOnErrors is an integer of at least 1")
                })?,
        ),
    };
    let entries: Vec<Entry> = operations.iter().map(parse_operation).collect();
    let mut seen = HashSet::new();
    for bulk_id in entries.iter().filter_map(|e| e.bulk_id.as_deref()) {
        if !seen.insert(bulk_id) {
            return Err(ScimError::invalid_value(format!(
                "bulkId {bulk_id} names two operations"
            )));
        }
    }
    Ok(Request {
        entries,
        fail_on_errors,
    })
}

fn parse_operation(operation: &Value) -> Entry {
    let text = |key: &str| operation.get(key).and_then(Value::as_str);
    let method = text("method").unwrap_or_default().to_owned();
    let bulk_id = text("bulkId").map(str::to_owned);
    let plan = plan(operation, &method, bulk_id.as_deref());
    Entry {
        method,
        bulk_id,
        path: text("path").map(str::to_owned),
        plan,
    }
}

fn plan(operation: &Value, method: &str, bulk_id: Option<&str>) -> Result<Planned, ScimError> {
    if !operation.is_object() {
        return Err(ScimError::invalid_syntax("an operation is a JSON object"));
    }
    let method = Method::parse(method)
        .ok_or_else(|| ScimError::invalid_value("method is POST, PUT, PATCH or DELETE"))?;
    if let Some(bulk_id) = bulk_id
        && (bulk_id.is_empty() || bulk_id.len() > MAX_BULK_ID)
    {
        return Err(ScimError::invalid_value(format!(
            "bulkId is 1 to {MAX_BULK_ID} bytes"
        )));
    }
    if method == Method::Post && bulk_id.is_none() {
        return Err(ScimError::invalid_value("a POST operation needs a bulkId"));
    }
    let path = operation
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_value("path is required"))?;
    let (endpoint, id) = match path.trim_start_matches('/').split_once('/') {
        Some((endpoint, id)) => (endpoint, Some(id)),
        None => (path.trim_start_matches('/'), None),
    };
    let kind = [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .find(|k| k.resource_type().endpoint.trim_start_matches('/') == endpoint)
        .ok_or_else(|| ScimError::invalid_path(format!("path {path} is not /Users or /Groups")))?;
    let id = match (method, id) {
        (Method::Post, None) => None,
        (Method::Post, Some(_)) => {
            return Err(ScimError::invalid_path(
                "a POST operation's path is /Users or /Groups",
            ));
        }
        (_, Some(id)) if !id.is_empty() && !id.contains('/') => Some(id.to_owned()),
        _ => {
            return Err(ScimError::invalid_path(format!(
                "path {path} names no resource"
            )));
        }
    };
    let data = match (method, operation.get("data")) {
        (Method::Delete, _) => Value::Null,
        (_, Some(data @ Value::Object(_))) => data.clone(),
        _ => return Err(ScimError::invalid_syntax("data must be a JSON object")),
    };
    let version = operation
        .get("version")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut refers_to = HashSet::new();
    if let Some(target) = id.as_deref().and_then(|id| id.strip_prefix(REFERENCE)) {
        refers_to.insert(target.to_owned());
    }
    references(&data, &mut refers_to);
    Ok(Planned {
        method,
        kind,
        id,
        version,
        data,
        refers_to,
    })
}

/// Collects the `bulkId`s `value` refers to.
fn references(value: &Value, found: &mut HashSet<String>) {
    match value {
        Value::String(s) => {
            if let Some(target) = s.strip_prefix(REFERENCE) {
                found.insert(target.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        Value::Object(map) => map.values().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// What became of the `POST`s run so far: the id each `bulkId` created, `None` for one
/// that failed.
type Created = HashMap<String, Option<String>>;

/// `text` with a `bulkId` reference replaced by the id its operation created.
fn resolve(text: &str, created: &Created) -> Result<String, ScimError> {
    let Some(target) = text.strip_prefix(REFERENCE) else {
        return Ok(text.to_owned());
    };
    match created.get(target) {
        Some(Some(id)) => Ok(id.clone()),
        Some(None) => Err(ScimError::status(
            409,
            None,
            format!("bulkId {target} names an operation that failed"),
        )),
        None => Err(ScimError::invalid_value(format!(
            "bulkId {target} names no POST of this request"
        ))),
    }
}

fn resolve_all(value: &mut Value, created: &Created) -> Result<(), ScimError> {
    match value {
        Value::String(s) if s.starts_with(REFERENCE) => *s = resolve(s, created)?,
        Value::Array(items) => {
            for item in items {
                resolve_all(item, created)?;
            }
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                resolve_all(item, created)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// What one operation answered, as the bulk response lists it.
struct Outcome {
    status: u16,
    location: Option<String>,
    version: Option<String>,
    /// The new resource's id (for a `POST`).
    created: Option<String>,
    error: Option<ScimError>,
}

impl Outcome {
    fn failed(error: ScimError) -> Self {
        Self {
            status: error.status,
            location: None,
            version: None,
            created: None,
            error: Some(error),
        }
    }

    /// The answer to `entry`. Every answer has a `location` but a failed `POST`'s (RFC
    /// 7644 §3.7); a failure's is the path it was sent to, under `base_url`.
    fn to_json(&self, entry: &Entry, base_url: &str) -> Value {
        let mut body = Map::new();
        body.insert("method".into(), json!(entry.method));
        if let Some(bulk_id) = &entry.bulk_id {
            body.insert("bulkId".into(), json!(bulk_id));
        }
        let sent_to = || {
            let path = entry.path.as_deref()?;
            let posted = entry.method.eq_ignore_ascii_case("POST");
            (!posted).then(|| format!("{base_url}/{}", path.trim_start_matches('/')))
        };
        if let Some(location) = self.location.clone().or_else(sent_to) {
            body.insert("location".into(), json!(location));
        }
        if let Some(version) = &self.version {
            body.insert("version".into(), json!(version));
        }
        body.insert("status".into(), json!(self.status.to_string()));
        if let Some(error) = &self.error {
            body.insert("response".into(), error.to_json());
        }
        Value::Object(body)
    }
}

impl<S: ScimDomain> Scim<'_, S> {
    /// `POST /Bulk`: runs the request's operations (in their order, but after the
    /// operations whose resources they refer to) and returns the `BulkResponse`, listing
    /// each operation run. A request that is not a bulk request at all, holds too many
    /// operations or names a `bulkId` twice is refused as a whole.
    pub async fn bulk(
        &self,
        directory: &Directory,
        body: &Value,
        meta: &RequestMeta,
    ) -> Result<Value, ScimError> {
        let request = parse_request(body)?;
        let mut order = Schedule::new(&request.entries);
        let mut created = Created::new();
        let mut answers = Vec::with_capacity(request.entries.len());
        let mut errors = 0;
        while request.fail_on_errors.is_none_or(|max| errors < max) {
            let Some((index, cycle)) = order.next() else {
                break;
            };
            let Some(entry) = request.entries.get(index) else {
                break;
            };
            let outcome = if cycle {
                // Every operation left waits for another: a cycle. The first fails,
                // which frees the rest.
                Outcome::failed(ScimError::status(
                    409,
                    None,
                    "the operation's bulkId references form a cycle",
                ))
            } else {
                self.run(directory, entry, &created, meta).await
            };
            order.done(index);
            if let Some(bulk_id) = entry.creates() {
                created.insert(bulk_id.to_owned(), outcome.created.clone());
            }
            if outcome.error.is_some() {
                errors += 1;
            }
            answers.push(outcome.to_json(entry, &directory.base_url));
        }
        Ok(json!({ "schemas": [BULK_RESPONSE], "Operations": answers }))
    }

    /// Runs one operation, its references resolved.
    async fn run(
        &self,
        directory: &Directory,
        entry: &Entry,
        created: &Created,
        meta: &RequestMeta,
    ) -> Outcome {
        let plan = match &entry.plan {
            Ok(plan) => plan,
            Err(error) => return Outcome::failed(error.clone()),
        };
        let mut data = plan.data.clone();
        let id = match plan
            .id
            .as_deref()
            .map(|id| resolve(id, created))
            .transpose()
        {
            Ok(id) => id,
            Err(error) => return Outcome::failed(error),
        };
        if let Err(error) = resolve_all(&mut data, created) {
            return Outcome::failed(error);
        }
        let version = plan.version.as_deref();
        let id_ref = id.as_deref().unwrap_or_default();
        let location = |id: &str| {
            let endpoint = plan.kind.resource_type().endpoint;
            format!("{}{endpoint}/{id}", directory.base_url)
        };
        let (status, result) = match plan.method {
            Method::Post => (
                201,
                self.create(plan.kind, directory, &data, meta)
                    .await
                    .map(Some),
            ),
            Method::Put => (
                200,
                self.replace(plan.kind, directory, id_ref, &data, version, meta)
                    .await
                    .map(Some),
            ),
            Method::Patch => (
                200,
                self.patch(plan.kind, directory, id_ref, &data, version, meta)
                    .await
                    .map(Some),
            ),
            Method::Delete => (
                204,
                self.delete(plan.kind, directory, id_ref, version, meta)
                    .await
                    .map(|()| None),
            ),
        };
        match result {
            Ok(resource) => {
                let id = resource.as_ref().map_or(id_ref, |r| r.id()).to_owned();
                Outcome {
                    status,
                    location: Some(location(&id)),
                    version: resource.as_ref().map(|r| r.etag()),
                    created: (plan.method == Method::Post).then_some(id),
                    error: None,
                }
            }
            Err(error) => Outcome {
                location: id.as_deref().map(location),
                ..Outcome::failed(error)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(operations: Value) -> Value {
        json!({ "schemas": [BULK_REQUEST], "Operations": operations })
    }

    #[test]
    fn operations_parse_with_their_references() {
        let parsed = parse_request(&request(json!([
            {"method": "post", "path": "/Users", "bulkId": "u1", "data": {"userName": "a"}},
            {"method": "PATCH", "path": "/Groups/bulkId:g1", "data": {
                "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u1"}]}]
            }},
            {"method": "DELETE", "path": "Users/abc", "version": "W/\"3\""},
        ])))
        .unwrap();
        let plans: Vec<&Planned> = parsed
            .entries
            .iter()
            .map(|e| e.plan.as_ref().unwrap())
            .collect();
        assert_eq!(plans[0].method, Method::Post);
        assert!(plans[0].refers_to.is_empty());
        assert_eq!(plans[1].kind, ResourceKind::Group);
        assert_eq!(
            plans[1].refers_to,
            HashSet::from(["g1".to_owned(), "u1".to_owned()])
        );
        assert_eq!(plans[2].id.as_deref(), Some("abc"));
        assert_eq!(plans[2].version.as_deref(), Some("W/\"3\""));
    }

    #[test]
    fn a_bad_operation_fails_alone() {
        let parsed = parse_request(&request(json!([
            {"method": "POST", "path": "/Users", "data": {}},
            {"method": "GET", "path": "/Users/x"},
            {"method": "PUT", "path": "/Users"},
            {"method": "PUT", "path": "/Things/x", "data": {}},
            {"method": "PATCH", "path": "/Users/x", "data": []},
            "not an object",
        ])))
        .unwrap();
        let statuses: Vec<Option<u16>> = parsed
            .entries
            .iter()
            .map(|e| e.plan.as_ref().err().map(|e| e.status))
            .collect();
        assert_eq!(statuses, vec![Some(400); 6]);
    }

    #[test]
    fn the_request_as_a_whole_is_checked() {
        let too_many: Vec<Value> = (0..=MAX_OPERATIONS)
            .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
            .collect();
        assert_eq!(
            parse_request(&request(Value::Array(too_many)))
                .unwrap_err()
                .status,
            413
        );
        let twice = request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {}},
            {"method": "POST", "path": "/Groups", "bulkId": "x", "data": {}},
        ]));
        assert_eq!(parse_request(&twice).unwrap_err().status, 400);
        for bad in [
            json!([]),
            json!({"Operations": {}}),
            json!({"schemas": ["urn:other"], "Operations": []}),
            json!({"Operations": [], "failOnErrors": 0}),
            json!({"Operations": [], "failOnErrors": "1"}),
        ] {
            assert_eq!(parse_request(&bad).unwrap_err().status, 400, "{bad}");
        }
    }

    /// The order `Schedule` runs the request's operations in, `!` marking a cycle's.
    fn schedule(operations: Value) -> Vec<String> {
        let parsed = parse_request(&request(operations)).unwrap();
        let mut order = Schedule::new(&parsed.entries);
        let mut ran = Vec::new();
        while let Some((i, cycle)) = order.next() {
            ran.push(format!("{i}{}", if cycle { "!" } else { "" }));
            order.done(i);
        }
        ran
    }

    fn post(bulk_id: &str, refers_to: &[&str]) -> Value {
        let members: Vec<Value> = refers_to
            .iter()
            .map(|r| json!({"value": format!("bulkId:{r}")}))
            .collect();
        json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
               "data": {"displayName": bulk_id, "members": members}})
    }

    #[test]
    fn operations_wait_for_the_posts_they_refer_to() {
        // 0 waits on 2, which waits on 3; 1 refers to nothing the request creates.
        let order = schedule(json!([
            post("a", &["c"]),
            post("b", &["nowhere"]),
            post("c", &["d"]),
            post("d", &[]),
        ]));
        assert_eq!(order, ["1", "3", "2", "0"]);
        // A cycle (and a self-reference): the first left fails, freeing the next.
        let order = schedule(json!([
            post("a", &["b"]),
            post("b", &["a"]),
            post("s", &["s"])
        ]));
        assert_eq!(order, ["0!", "1", "2!"]);
        // A bulkId on anything but a POST creates nothing to wait for.
        let order = schedule(json!([
            post("a", &["p"]),
            {"method": "PATCH", "path": "/Groups/x", "bulkId": "p", "data": {"Operations": []}},
        ]));
        assert_eq!(order, ["0", "1"]);
    }

    #[test]
    fn references_resolve_to_created_ids_or_fail_with_409() {
        let created = Created::from([
            ("a".to_owned(), Some("id-a".to_owned())),
            ("b".to_owned(), None),
        ]);
        let mut data = json!({"members": [{"value": "bulkId:a"}, {"value": "plain"}]});
        resolve_all(&mut data, &created).unwrap();
        assert_eq!(data["members"][0]["value"], "id-a");
        assert_eq!(data["members"][1]["value"], "plain");
        assert_eq!(resolve("bulkId:b", &created).unwrap_err().status, 409);
        assert_eq!(resolve("bulkId:c", &created).unwrap_err().status, 400);
    }
}
