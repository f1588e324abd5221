//! A submit's input images: checked cheaply before the job exists, then
//! cleaned (upright, no metadata, within the long edge) once the job holds
//! the owner's one in-flight slot, so fifty parallel submits clean one
//! photo, not fifty. The clean image replaces the upload under the same
//! key; it is what Replicate reads, and nothing with the original metadata
//! stays in storage.

use crate::app::Services;
use crate::http::ApiError;
use crate::images::{clean_input, sniff_accepted, CleanSettings, ImageRefusal};
use crate::storage::{InputPath, StorageError, MAX_INPUT_BYTES, PRIVATE_BUCKET};

/// The request field an input came in.
fn field(index: usize) -> &'static str {
    if index == 0 {
        "input1Path"
    } else {
        "input2Path"
    }
}

/// Each input must exist in storage, be within the size limit and start
/// like an image of the type its path declares (its bytes, not its
/// label). Cheap: a HEAD and the first bytes.
pub(super) async fn check_inputs(services: &Services, inputs: &[InputPath]) -> Result<(), ApiError> {
    for (index, input) in inputs.iter().enumerate() {
        let key = input.bucket_key();
        let (head, prefix) = tokio::join!(
            services.storage.head(PRIVATE_BUCKET, &key),
            services.storage.get_prefix(PRIVATE_BUCKET, &key, 16)
        );
        let missing = || ApiError::validation(format!("{} has not been uploaded", input.db_path()));
        // The GET first: only its "no such key" proves the upload missing (a
        // HEAD's 404 looks the same for a wrong endpoint or bucket).
        let prefix = prefix?.ok_or_else(missing)?;
        let head = head?.ok_or_else(missing)?;
        if head.size > MAX_INPUT_BYTES {
            return Err(ApiError::validation(format!("{} is larger than 15 MiB", input.db_path())));
        }
        let refusal = match sniff_accepted(&prefix) {
            Ok(actual) if actual == input.image_type => continue,
            Ok(actual) => ImageRefusal::TypeMismatch {
                declared: crate::images::type_name(input.image_type),
                actual: crate::images::type_name(actual),
            },
            Err(refusal) => refusal,
        };
        return Err(refusal.into_api_error(field(index)));
    }
    Ok(())
}

/// Why inputs could not be cleaned.
pub(super) enum CleanFailure {
    /// The user's file: a 400 naming it, and the job never starts.
    Refused(ApiError),
    /// Storage failed: worth a retry.
    Storage(StorageError),
}

/// Cleans every input in place; each runs on a blocking thread (CPU work)
/// one after the other, so at most one decoded photo is in memory. Answers
/// whether any was rewritten.
pub(super) async fn clean_inputs(services: &Services, inputs: &[InputPath]) -> Result<bool, CleanFailure> {
    let settings = services.env.clean_inputs;
    let mut rewrote = false;
    for (index, input) in inputs.iter().enumerate() {
        let key = input.bucket_key();
        let upload = services.storage.get(PRIVATE_BUCKET, &key).await.map_err(CleanFailure::Storage)?;
        // Checked a moment ago; deleted since (by its owner, through the Storage API).
        let upload = upload.ok_or_else(|| {
            CleanFailure::Refused(ApiError::validation(format!("{} has not been uploaded", input.db_path())))
        })?;
        let cleaned = clean_on_blocking_thread(upload, *input, settings)
            .await
            .map_err(|refusal| CleanFailure::Refused(refusal.into_api_error(field(index))))?;
        if let Some(clean) = cleaned {
            services
                .storage
                .put(PRIVATE_BUCKET, &key, clean, input.image_type.content_type())
                .await
                .map_err(CleanFailure::Storage)?;
            rewrote = true;
        }
    }
    Ok(rewrote)
}

/// Removes inputs this submit wrote back after its account was erased
/// (`DELETE /me` lists uploads once its rows are gone, so an object put
/// after that listing is left to the one who put it). Best effort.
pub(super) async fn remove_inputs(services: &Services, inputs: &[InputPath]) {
    for input in inputs {
        if let Err(error) = services.storage.delete(PRIVATE_BUCKET, &input.bucket_key()).await {
            tracing::warn!(%error, "could not remove an input of an erased account");
        }
    }
}

/// The clean file, or `None` when the upload already is one.
async fn clean_on_blocking_thread(
    upload: Vec<u8>,
    input: InputPath,
    settings: CleanSettings,
) -> Result<Option<Vec<u8>>, ImageRefusal> {
    let started = std::time::Instant::now();
    let outcome = tokio::task::spawn_blocking(move || clean_input(&upload, input.image_type, &settings))
        .await
        .map_err(|error| ImageRefusal::Undecodable(format!("cleaning stopped: {error}")))??;
    tracing::info!(
        width = outcome.width,
        height = outcome.height,
        rewritten = outcome.rewritten.is_some(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "input cleaned"
    );
    Ok(outcome.rewritten)
}
