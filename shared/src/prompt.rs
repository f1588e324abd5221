//! The text prompt sent to the image model for a mode, a room type, a style
//! and the user's own words.
//!
//! The prompt is assembled from fixed sentences around the user's text: the
//! task for the mode, the room type and style seeds, the user's wishes, the
//! constraints that keep the photo's architecture, and a fixed list of
//! exclusions that always ends the prompt. Only the user's part is sanitised
//! and capped, so however long or strange it is, it can neither cut the
//! exclusions off nor smuggle control characters into the request.

use crate::config::{Mode, Preset};

/// Longest user text kept, in characters; the rest is dropped.
pub const MAX_USER_TEXT_CHARS: usize = 1000;

/// Upper bound on a whole prompt, in characters: the fixed sentences and the
/// longest seeds take well under 1000, the user's part at most
/// [`MAX_USER_TEXT_CHARS`]. A unit test checks every combination.
pub const MAX_PROMPT_CHARS: usize = 2000;

/// Always the last sentence: what must never appear in a render.
pub const EXCLUSIONS: &str =
    "Strictly exclude: no people, no text, no watermarks, no logos, no distortion or warped geometry.";

/// How every render should look.
const PHOTOGRAPHY: &str = "Photorealistic result that looks like professional interior photography: \
    natural light, realistic materials and textures, accurate proportions, sharp detail.";

/// What redesign and staging must leave untouched in the input photo.
const KEEP_ARCHITECTURE: &str = "Keep the room's architecture exactly as in the photo: walls, windows, doors, \
    floor, ceiling, camera angle and perspective unchanged.";

/// Builds the prompt. `room_type` and `style` are the presets the user chose
/// (`None`: not chosen); `user_text` is their free text, untrusted.
pub fn build_prompt(mode: Mode, room_type: Option<&Preset>, style: Option<&Preset>, user_text: Option<&str>) -> String {
    let room = room_type.map(|preset| preset.prompt_seed);
    let mut sentences: Vec<String> = Vec::with_capacity(8);

    match mode {
        Mode::Redesign => {
            let target = room.map(|seed| format!(" as {seed}")).unwrap_or_default();
            sentences.push(format!(
                "Redesign the furnished room in this photo{target}: replace the furniture, decor, textiles and \
                 light fixtures with a new, cohesive interior design."
            ));
        }
        Mode::Staging => {
            let target = room.map(|seed| format!(" as {seed}")).unwrap_or_default();
            sentences.push(format!(
                "Virtually stage the empty room in this photo{target}: furnish it with furniture, rugs, lighting \
                 and decor at realistic scale, arranged as a designer would."
            ));
        }
        Mode::Compose => {
            sentences.push(
                "Place the item shown in image 2 into the room shown in image 1 so that it looks naturally part \
                 of the scene: correct scale and perspective, matching lighting, realistic shadows and reflections. \
                 Keep the item's shape, colours and materials."
                    .to_string(),
            );
            if let Some(seed) = room {
                sentences.push(format!("The room is {seed}."));
            }
        }
        Mode::Imagine => {
            let subject = room.unwrap_or("a beautifully designed room");
            sentences.push(format!("Create a photorealistic photograph of an interior: {subject}."));
        }
    }

    if let Some(style) = style {
        sentences.push(format!("The design follows {}.", style.prompt_seed));
    }

    let wishes = user_text.map(sanitize_user_text).filter(|text| !text.is_empty());
    if let Some(wishes) = wishes {
        // Close the user's sentence so the constraints after it read as ours.
        let full_stop = if wishes.ends_with(['.', '!', '?']) { "" } else { "." };
        sentences.push(format!("The user's wishes: {wishes}{full_stop}"));
    }

    // After the user's wishes, so the photo's own structure has the last word.
    match mode {
        Mode::Redesign | Mode::Staging => sentences.push(KEEP_ARCHITECTURE.to_string()),
        Mode::Compose => sentences.push(
            "Keep image 1's architecture unchanged: walls, windows, doors, floor, ceiling, camera angle and \
             perspective."
                .to_string(),
        ),
        Mode::Imagine => {}
    }

    sentences.push(PHOTOGRAPHY.to_string());
    sentences.push(EXCLUSIONS.to_string());
    sentences.join(" ")
}

/// The user's text made safe to embed: control characters removed (line
/// breaks and tabs become spaces), invisible direction overrides removed,
/// whitespace collapsed, trimmed, and cut to [`MAX_USER_TEXT_CHARS`]
/// characters on a character boundary.
pub fn sanitize_user_text(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len().min(MAX_USER_TEXT_CHARS * 4));
    let mut kept_chars = 0;
    let mut pending_space = false;
    for character in text.chars() {
        if kept_chars == MAX_USER_TEXT_CHARS {
            break;
        }
        if character.is_whitespace() {
            pending_space = true;
            continue;
        }
        if character.is_control() || is_invisible_format(character) {
            continue;
        }
        // A space only between words: leading and trailing ones never appear.
        if pending_space && kept_chars > 0 {
            cleaned.push(' ');
            kept_chars += 1;
            if kept_chars == MAX_USER_TEXT_CHARS {
                break;
            }
        }
        pending_space = false;
        cleaned.push(character);
        kept_chars += 1;
    }
    // The cap may have fallen right after a space.
    cleaned.truncate(cleaned.trim_end().len());
    cleaned
}

/// Zero-width and bidirectional formatting characters: invisible in the UI,
/// they can make the text mean something else than it shows.
fn is_invisible_format(character: char) -> bool {
    matches!(character, '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}
