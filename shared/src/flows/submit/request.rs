//! What `POST /generations` carries, from the body as sent to a request
//! that may run: every check that needs no I/O.

use crate::config::{self, Mode};
use crate::http::{json_object, ApiError, Field, Problems, Request};
use crate::prompt::MAX_USER_TEXT_CHARS;
use crate::storage::{InputPath, InputPathError};
use serde::Deserialize;
use uuid::Uuid;

/// What `POST /generations` asks for, typed; [`validate`] says whether it
/// may run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmitRequest {
    pub mode: String,
    pub room_type: Option<String>,
    pub style: Option<String>,
    pub prompt: Option<String>,
    pub input1_path: Option<String>,
    pub input2_path: Option<String>,
    pub idempotency_key: Option<Uuid>,
}

/// The body as sent: any field may be missing, `null` or mistyped. Other
/// keys are ignored (the web front end may send more than it must).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SubmitBody {
    mode: Field<String>,
    room_type: Field<String>,
    style: Field<String>,
    prompt: Field<String>,
    input1_path: Field<String>,
    input2_path: Field<String>,
    idempotency_key: Field<Uuid>,
}

impl SubmitRequest {
    /// Reads a request's body; every missing or mistyped field is named in
    /// one 400.
    pub fn from_request(request: &Request) -> Result<Self, ApiError> {
        let body: SubmitBody = json_object(request)?;
        let mut problems = Problems::default();
        let mode = body.mode.required("mode", &mut problems);
        let submit = SubmitRequest {
            mode: mode.unwrap_or_default(),
            room_type: body.room_type.optional("roomType", &mut problems),
            style: body.style.optional("style", &mut problems),
            prompt: body.prompt.optional("prompt", &mut problems),
            input1_path: body.input1_path.optional("input1Path", &mut problems),
            input2_path: body.input2_path.optional("input2Path", &mut problems),
            idempotency_key: body.idempotency_key.optional("idempotencyKey", &mut problems),
        };
        problems.finish()?;
        Ok(submit)
    }
}

/// A request that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSubmission {
    pub mode: Mode,
    pub room_type: Option<&'static config::Preset>,
    pub style: Option<&'static config::Preset>,
    pub prompt: Option<String>,
    pub inputs: Vec<InputPath>,
    pub idempotency_key: Option<Uuid>,
}

/// Checks everything that needs no I/O: a 400 naming every bad field, or a
/// 403 for an input that is someone else's upload.
pub fn validate(request: &SubmitRequest, owner: Uuid) -> Result<ValidSubmission, ApiError> {
    let mut problems = Problems::default();
    let mode = problems.check("mode", Mode::parse(&request.mode).ok_or(Mode::EXPECTED));
    let room_type = preset(request.room_type.as_deref(), config::room_type, "roomType", &mut problems);
    let style = preset(request.style.as_deref(), config::style, "style", &mut problems);
    let prompt = request.prompt.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned);
    if prompt.as_ref().is_some_and(|p| p.chars().count() > MAX_USER_TEXT_CHARS) {
        problems.add::<()>("prompt", &format!("must be at most {MAX_USER_TEXT_CHARS} characters"));
    }
    let input1 = input_path("input1Path", request.input1_path.as_deref(), owner, &mut problems)?;
    let input2 = input_path("input2Path", request.input2_path.as_deref(), owner, &mut problems)?;
    let given = |field: &Option<String>| field.is_some();
    let (input1_given, input2_given) = (given(&request.input1_path), given(&request.input2_path));
    let inputs = match mode {
        None => None,
        Some(Mode::Imagine) => {
            if prompt.is_none() {
                problems.add::<()>("prompt", "is required for imagine");
            }
            for (field, is_given) in [("input1Path", input1_given), ("input2Path", input2_given)] {
                if is_given {
                    problems.add::<()>(field, "imagine takes no input images");
                }
            }
            Some(vec![])
        }
        Some(mode) => {
            if !input1_given {
                problems.add::<()>("input1Path", "is required for this mode");
            }
            match mode {
                Mode::Compose if !input2_given => problems.add("input2Path", "is required for compose (the item)"),
                Mode::Redesign | Mode::Staging if input2_given => problems.add("input2Path", "is only used by compose"),
                _ => Some(input1.into_iter().chain(input2).collect()),
            }
        }
    };
    let inputs = problems.into_result(inputs)?;
    let mode = mode.ok_or_else(|| ApiError::invalid_field("mode", Mode::EXPECTED))?;
    Ok(ValidSubmission { mode, room_type, style, prompt, inputs, idempotency_key: request.idempotency_key })
}

/// An input path, if given: malformed is a problem; someone else's upload is
/// refused outright (403), whatever else is wrong.
fn input_path(
    field: &str,
    value: Option<&str>,
    owner: Uuid,
    problems: &mut Problems,
) -> Result<Option<InputPath>, ApiError> {
    let Some(path) = value else { return Ok(None) };
    match InputPath::parse_owned(path, owner) {
        Ok(path) => Ok(Some(path)),
        Err(InputPathError::NotOwned) => Err(ApiError::forbidden(format!("{field} is not one of your uploads"))),
        Err(InputPathError::Malformed) => Ok(problems.add(field, "must be a path returned by POST /uploads")),
    }
}

fn preset(
    value: Option<&str>,
    find: fn(&str) -> Option<&'static config::Preset>,
    field: &str,
    problems: &mut Problems,
) -> Option<&'static config::Preset> {
    value.and_then(|id| problems.check(field, find(id).ok_or("is not a known preset (see GET /presets)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ErrorCode;
    use crate::storage::ImageType;

    fn request(mode: &str) -> SubmitRequest {
        SubmitRequest {
            mode: mode.into(),
            room_type: None,
            style: None,
            prompt: None,
            input1_path: None,
            input2_path: None,
            idempotency_key: None,
        }
    }

    fn path(owner: Uuid) -> String {
        InputPath::new(owner, ImageType::Jpeg).db_path()
    }

    #[test]
    fn inputs_per_mode() {
        let me = Uuid::new_v4();
        let one = SubmitRequest { input1_path: Some(path(me)), ..request("redesign") };
        assert_eq!(validate(&one, me).unwrap().inputs.len(), 1);
        assert_eq!(validate(&SubmitRequest { mode: "staging".into(), ..one.clone() }, me).unwrap().inputs.len(), 1);
        assert!(validate(&SubmitRequest { mode: "compose".into(), ..one.clone() }, me).is_err());
        let two = SubmitRequest { input2_path: Some(path(me)), mode: "compose".into(), ..one.clone() };
        assert_eq!(validate(&two, me).unwrap().inputs.len(), 2);
        assert!(validate(&SubmitRequest { mode: "redesign".into(), ..two.clone() }, me).is_err());
        assert!(validate(&request("redesign"), me).is_err());
        assert!(validate(&request("imagine"), me).is_err(), "imagine needs a prompt");
        let imagine = SubmitRequest { prompt: Some("a loft".into()), ..request("imagine") };
        assert!(validate(&imagine, me).unwrap().inputs.is_empty());
        assert!(validate(&SubmitRequest { input1_path: Some(path(me)), ..imagine }, me).is_err());
    }

    #[test]
    fn bad_fields_are_named() {
        let me = Uuid::new_v4();
        let cases = [
            (request("paint"), "mode"),
            (SubmitRequest { room_type: Some("dungeon".into()), ..request("imagine") }, "roomType"),
            (SubmitRequest { style: Some("gothic".into()), ..request("imagine") }, "style"),
            (SubmitRequest { prompt: Some("x".repeat(MAX_USER_TEXT_CHARS + 1)), ..request("imagine") }, "prompt"),
            (SubmitRequest { input1_path: Some("private/../x.jpg".into()), ..request("redesign") }, "input1Path"),
        ];
        for (request, field) in cases {
            let error = validate(&request, me).unwrap_err();
            assert_eq!(error.code, ErrorCode::ValidationError);
            assert!(error.details.unwrap().get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn another_users_upload_is_forbidden() {
        let request = SubmitRequest { input1_path: Some(path(Uuid::new_v4())), ..request("redesign") };
        assert_eq!(validate(&request, Uuid::new_v4()).unwrap_err().code, ErrorCode::Forbidden);
    }
}
