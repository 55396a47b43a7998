use super::*;

fn users(filter: &str) -> Result<FieldFilter<UserField>, ScimError> {
    resolve_filter(&Filter::parse(filter).unwrap())
}

fn groups(filter: &str) -> Result<FieldFilter<GroupField>, ScimError> {
    resolve_filter(&Filter::parse(filter).unwrap())
}

struct Row {
    id: Uuid,
    user_name: &'static str,
    external_id: Option<&'static str>,
    active: bool,
    created: OffsetDateTime,
}

impl Row {
    fn data<'a>(&'a self) -> impl Fn(UserField) -> FieldData<'a> + 'a {
        move |field| match field {
            UserField::Id => FieldData::Id(self.id),
            UserField::UserName | UserField::Email => FieldData::Text(self.user_name.into()),
            UserField::ExternalId => self
                .external_id
                .map_or(FieldData::Absent, |e| FieldData::Text(e.into())),
            UserField::DisplayName => FieldData::Absent,
            UserField::Active => FieldData::Bool(self.active),
            UserField::Created | UserField::LastModified => FieldData::Time(self.created),
        }
    }
}

fn row() -> Row {
    Row {
        id: Uuid::from_u128(7),
        user_name: "ada@example.com",
        external_id: Some("E-1"),
        active: true,
        created: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    }
}

fn holds(filter: &str) -> bool {
    let row = row();
    users(filter).unwrap().matches(&row.data())
}

#[test]
fn user_paths_resolve_to_fields_in_any_case_and_with_the_core_urn() {
    assert_eq!(
        users(r#"USERNAME eq "Ada@Example.com""#).unwrap(),
        FieldFilter::Compare {
            field: UserField::UserName,
            op: CompareOp::Eq,
            value: FieldValue::Text("ada@example.com".into()),
        }
    );
    assert!(users(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#).is_ok());
    assert!(users(r#"emails[value eq "a@b.test"]"#).is_ok());
    assert!(users(r#"emails.value sw "a""#).is_ok());
    assert_eq!(
        groups(r#"members[value eq "not-a-uuid"]"#).unwrap(),
        FieldFilter::Compare {
            field: GroupField::Member,
            op: CompareOp::Eq,
            value: FieldValue::Id(None),
        }
    );
}

#[test]
fn what_is_not_indexed_or_not_comparable_is_an_invalid_filter() {
    for refused in [
        r#"title eq "x""#,
        r#"name.givenName eq "x""#,
        r#"emails[type eq "work"]"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x""#,
        r#"active gt true"#,
        r#"active eq "yes""#,
        r#"id sw "1""#,
        r#"meta.created co "2026""#,
        r#"meta.created gt "yesterday""#,
        r#"userName gt null"#,
        r#"emails[value co 1]"#,
        "externalId eq \"\\u0000\"",
    ] {
        let err = users(refused).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{refused}");
    }
    assert!(groups(r#"members[value co "1"]"#).is_err());
    assert!(groups(r#"userName eq "x""#).is_err());
}

#[test]
fn matching_follows_the_documented_meaning() {
    assert!(holds(r#"userName eq "ADA@example.com""#));
    assert!(holds(
        r#"userName sw "ada" and userName ew ".com" and userName co "@""#
    ));
    assert!(holds(r#"externalId eq "E-1""#));
    assert!(!holds(r#"externalId eq "e-1""#), "externalId is case-exact");
    assert!(
        holds(r#"displayName ne "x""#),
        "ne holds on an absent value"
    );
    assert!(holds(r#"not (displayName eq "x")"#));
    assert!(!holds("displayName pr"));
    assert!(holds("displayName eq null"));
    assert!(holds("active eq true or userName eq \"x\""));
    assert!(holds(r#"id eq "00000000-0000-0000-0000-000000000007""#));
    assert!(!holds(r#"id eq "7""#));
    assert!(holds(r#"id ne "7""#));
    assert!(holds(
        r#"meta.created ge "2027-01-15T08:00:00Z" and meta.created lt "2027-01-15T08:00:01Z""#
    ));
    assert!(holds(r#"userName gt "a" and userName lt "b""#));
}

#[test]
fn members_match_any_member() {
    let ids = [Uuid::from_u128(1), Uuid::from_u128(2)];
    let data = |field| match field {
        GroupField::Member => FieldData::Ids(&ids),
        _ => FieldData::Absent,
    };
    let filter = groups(r#"members[value eq "00000000-0000-0000-0000-000000000002"]"#).unwrap();
    assert!(filter.matches(&data));
    assert!(groups("members pr").unwrap().matches(&data));
    let none = |_| FieldData::Absent;
    assert!(!groups("members pr").unwrap().matches(&none));
}

#[test]
fn list_parameters_follow_rfc_7644_bounds() {
    let q = ListParams::default().resolve::<UserField>().unwrap();
    assert_eq!(
        (q.offset, q.count, q.filter.is_none()),
        (0, DEFAULT_COUNT, true)
    );
    let q = ListParams {
        start_index: Some(-4),
        count: Some(-1),
        ..Default::default()
    }
    .resolve::<UserField>()
    .unwrap();
    assert_eq!((q.offset, q.count), (0, 0));
    let q = ListParams {
        start_index: Some(11),
        count: Some(1_000_000),
        sort_by: Some("meta.lastModified".into()),
        sort_order: Some("Descending".into()),
        ..Default::default()
    }
    .resolve::<UserField>()
    .unwrap();
    assert_eq!((q.offset, q.count), (10, MAX_COUNT));
    assert_eq!(
        q.sort,
        Sort {
            by: Some(UserField::LastModified),
            descending: true
        }
    );
    for bad in [
        ListParams {
            sort_by: Some("title".into()),
            ..Default::default()
        },
        ListParams {
            sort_order: Some("up".into()),
            ..Default::default()
        },
        ListParams {
            filter: Some("userName eq".into()),
            ..Default::default()
        },
    ] {
        assert_eq!(
            bad.resolve::<UserField>().unwrap_err().status,
            400,
            "{bad:?}"
        );
    }
}
