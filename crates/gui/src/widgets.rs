//! Small widgets the panels share: a line of text whose goroutine names can
//! be clicked, and the colours of programs and slice kinds.
//!
//! Every line that names goroutines ("P0 runq (2): G7 G8") is one label, so a
//! screen reader (and a kittest query) reads it whole; clicking on a `G7` in
//! it selects that goroutine everywhere. An accessibility click, which has no
//! position, selects the first goroutine the line names.

use crate::lanes::SliceKind;
use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, Label, Response, Role, Sense, Ui, WidgetInfo};
use sim_core::ids::Goid;

/// One word of a line: its character range, its byte range, its text.
struct Word<'a> {
    chars: std::ops::RangeInclusive<usize>,
    bytes: std::ops::Range<usize>,
    text: &'a str,
}

/// The words of `text`, split on anything that cannot be part of `G12`.
fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None; // (char index, byte index)
    let mut chars = 0;
    for (char_index, (byte_index, c)) in text.char_indices().enumerate() {
        chars = char_index + 1;
        match (c.is_ascii_alphanumeric(), start) {
            (true, None) => start = Some((char_index, byte_index)),
            (false, Some((s, b))) => {
                out.push(Word {
                    chars: s..=char_index,
                    bytes: b..byte_index,
                    text: &text[b..byte_index],
                });
                start = None;
            }
            _ => {}
        }
    }
    if let Some((s, b)) = start {
        out.push(Word {
            chars: s..=chars,
            bytes: b..text.len(),
            text: &text[b..],
        });
    }
    out
}

/// `G12` as a goid.
fn parse_goid(word: &str) -> Option<Goid> {
    word.strip_prefix('G')
        .filter(|n| !n.is_empty())
        .and_then(|n| n.parse().ok())
        .map(Goid)
}

/// The goroutine named by the word at character `index` of `text`.
fn goid_at(text: &str, index: usize) -> Option<Goid> {
    words(text)
        .into_iter()
        .find(|w| w.chars.contains(&index))
        .and_then(|w| parse_goid(w.text))
}

/// Shows `text`, highlighting `selected` wherever it is named; a click on a
/// goroutine's name selects it.
pub fn g_text(ui: &mut Ui, text: &str, selected: &mut Option<Goid>) -> Response {
    let font = egui::TextStyle::Body.resolve(ui.style());
    let normal = ui.visuals().text_color();
    let mut job = LayoutJob::default();
    let mut at = 0;
    for word in words(text) {
        if selected.is_some() && parse_goid(word.text) == *selected {
            job.append(
                &text[at..word.bytes.start],
                0.0,
                TextFormat::simple(font.clone(), normal),
            );
            job.append(
                word.text,
                0.0,
                TextFormat {
                    background: ui.visuals().selection.bg_fill,
                    ..TextFormat::simple(font.clone(), ui.visuals().strong_text_color())
                },
            );
            at = word.bytes.end;
        }
    }
    job.append(&text[at..], 0.0, TextFormat::simple(font, normal));
    let (pos, galley, response) = Label::new(job)
        .selectable(false)
        .sense(Sense::click())
        .layout_in_ui(ui);
    response.widget_info(|| WidgetInfo::labeled(Role::Label, true, galley.text()));
    if ui.is_rect_visible(response.rect) {
        ui.painter().galley(pos, galley.clone(), normal);
    }
    if response.clicked() {
        let clicked = match response.interact_pointer_pos() {
            Some(pointer) => goid_at(text, galley.cursor_from_pos(pointer - pos).index.0),
            None => words(text).into_iter().find_map(|w| parse_goid(w.text)),
        };
        if clicked.is_some() {
            *selected = clicked;
        }
    }
    response
}

/// A program's colour on the timeline (a fixed palette, by program index).
pub fn program_color(program: usize) -> Color32 {
    const PALETTE: [Color32; 8] = [
        Color32::from_rgb(0x4e, 0x79, 0xa7),
        Color32::from_rgb(0xf2, 0x8e, 0x2b),
        Color32::from_rgb(0x76, 0xb7, 0xb2),
        Color32::from_rgb(0xed, 0xc9, 0x48),
        Color32::from_rgb(0xb0, 0x7a, 0xa1),
        Color32::from_rgb(0xff, 0x9d, 0xa7),
        Color32::from_rgb(0x9c, 0x75, 0x5f),
        Color32::from_rgb(0xba, 0xb0, 0xac),
    ];
    PALETTE[program % PALETTE.len()]
}

/// A mark worker's colour.
pub const GC_COLOR: Color32 = Color32::from_rgb(0x59, 0xa1, 0x4f);
/// A runtime goroutine's colour.
pub const RUNTIME_COLOR: Color32 = Color32::from_rgb(0x80, 0x80, 0x80);
/// A system call's colour.
pub const SYSCALL_COLOR: Color32 = Color32::from_rgb(0xe1, 0x57, 0x59);
/// Stop-the-world bands (drawn over every lane).
pub const STW_COLOR: Color32 = Color32::from_rgba_premultiplied(0x90, 0x10, 0x10, 0x60);
/// A syscall handoff mark (sysmon retook the P).
pub const HANDOFF_COLOR: Color32 = Color32::from_rgb(0xff, 0x40, 0x40);
/// An assist mark.
pub const ASSIST_COLOR: Color32 = Color32::from_rgb(0xff, 0xd0, 0x00);

/// The colour a slice of `kind` is drawn in.
pub fn slice_color(kind: SliceKind) -> Color32 {
    match kind {
        SliceKind::User(program) => program_color(program.index()),
        SliceKind::Runtime => RUNTIME_COLOR,
        SliceKind::GcWorker => GC_COLOR,
        SliceKind::Syscall => SYSCALL_COLOR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_under_a_click_names_the_goroutine() {
        let text = "P0 runq (2): G7 G18";
        assert_eq!(goid_at(text, 13), Some(Goid(7)));
        assert_eq!(goid_at(text, 14), Some(Goid(7)));
        assert_eq!(goid_at(text, 17), Some(Goid(18)));
        assert_eq!(goid_at(text, 0), None, "P0 is not a goroutine");
        assert_eq!(goid_at("GoStart", 1), None);
    }
}
