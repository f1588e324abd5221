//! Generation modes, room types and styles. Each room type and style carries a
//! prompt seed: the words the prompt builder uses for it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Restyle a furnished room, keeping its architecture.
    Redesign,
    /// Furnish an empty room.
    Staging,
    /// Place the item of a second image into the room of the first.
    Compose,
    /// Text only: no input image.
    Imagine,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Redesign, Mode::Staging, Mode::Compose, Mode::Imagine];

    /// What a validation error says of a mode that is not one of [`Mode::ALL`].
    pub const EXPECTED: &'static str = "must be one of redesign, staging, compose, imagine";

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Redesign => "redesign",
            Mode::Staging => "staging",
            Mode::Compose => "compose",
            Mode::Imagine => "imagine",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::Redesign => "Redesign",
            Mode::Staging => "Virtual staging",
            Mode::Compose => "Compose",
            Mode::Imagine => "Imagine",
        }
    }

    pub fn parse(value: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|mode| mode.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Preset {
    pub id: &'static str,
    pub label: &'static str,
    #[serde(skip)]
    pub prompt_seed: &'static str,
}

const fn preset(id: &'static str, label: &'static str, prompt_seed: &'static str) -> Preset {
    Preset { id, label, prompt_seed }
}

pub const ROOM_TYPES: &[Preset] = &[
    preset("living_room", "Living room", "a living room with seating arranged for conversation"),
    preset("bedroom", "Bedroom", "a restful bedroom centred on the bed"),
    preset("kitchen", "Kitchen", "a kitchen with practical work surfaces and cabinetry"),
    preset("dining_room", "Dining room", "a dining room with a table set for gathering"),
    preset("bathroom", "Bathroom", "a bathroom with clean fixtures and good lighting"),
    preset("home_office", "Home office", "a home office with a desk, task lighting and storage"),
    preset("kids_room", "Kids room", "a playful, safe children's room"),
    preset("entryway", "Entryway", "a welcoming entryway with storage and a place to sit"),
    preset("outdoor_patio", "Outdoor patio", "an outdoor patio with weather-proof furniture"),
];

pub const STYLES: &[Preset] = &[
    preset("modern", "Modern", "modern style: clean lines, neutral palette, minimal ornament"),
    preset("scandinavian", "Scandinavian", "Scandinavian style: light woods, white walls, cosy textiles"),
    preset("industrial", "Industrial", "industrial style: exposed brick, metal, reclaimed wood"),
    preset("minimalist", "Minimalist", "minimalist style: few carefully chosen pieces, open space"),
    preset("bohemian", "Bohemian", "bohemian style: layered patterns, plants, warm colours"),
    preset("mid_century", "Mid-century modern", "mid-century modern style: tapered legs, walnut, organic curves"),
    preset("japandi", "Japandi", "Japandi style: Japanese calm and Scandinavian function, natural materials"),
    preset("coastal", "Coastal", "coastal style: airy blues and whites, linen, natural fibres"),
    preset("farmhouse", "Farmhouse", "modern farmhouse style: shiplap, rustic wood, vintage accents"),
    preset("art_deco", "Art deco", "art deco style: geometric patterns, brass, rich jewel tones"),
];

pub fn room_type(id: &str) -> Option<&'static Preset> {
    ROOM_TYPES.iter().find(|p| p.id == id)
}

pub fn style(id: &str) -> Option<&'static Preset> {
    STYLES.iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_eight_room_types_and_styles_with_unique_ids_and_seeds() {
        for list in [ROOM_TYPES, STYLES] {
            assert!(list.len() >= 8);
            let mut ids: Vec<_> = list.iter().map(|p| p.id).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), list.len());
            assert!(list.iter().all(|p| !p.prompt_seed.is_empty() && !p.label.is_empty()));
        }
    }

    #[test]
    fn modes_round_trip() {
        for mode in Mode::ALL {
            assert_eq!(Mode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(Mode::parse("Redesign"), None);
        let ids: Vec<&str> = Mode::ALL.iter().map(|mode| mode.as_str()).collect();
        assert_eq!(Mode::EXPECTED, format!("must be one of {}", ids.join(", ")));
    }

    #[test]
    fn lookups() {
        assert_eq!(room_type("kitchen").map(|p| p.label), Some("Kitchen"));
        assert!(style("gothic").is_none());
    }
}
