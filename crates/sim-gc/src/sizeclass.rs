//! Size classes: how an allocation request becomes a slot in a span.
//!
//! Mirrors go1.27.3's `internal/runtime/gc/sizeclasses.go` (the generated
//! table and its two lookup arrays, `SizeToSizeClass8` and
//! `SizeToSizeClass128`), the class selection at the top of `mallocgc` and its
//! `mallocgcSmall*` helpers in `runtime/malloc.go`, and the objects-per-span
//! rule of `mheap.initSpan` in `runtime/mheap.go`.
//!
//! Two object counts exist per class and both are kept:
//! - [`SizeClassInfo::table_objects`] is the table's `objects` column
//!   (`bytes/span ÷ bytes/obj`), the number Go's generator prints;
//! - [`objects_per_span`] is what a span really holds in go1.27.3, whose
//!   default Green Tea GC (`GOEXPERIMENT` baseline `greenteagc`) reserves 128
//!   bytes of inline mark bits at the end of every span of objects from 16 to
//!   512 bytes, and (as every release since go1.22 does) 128 bytes of pointer
//!   bitmap at the end of a one-page span of small pointerful objects. A 64-byte
//!   pointerful span therefore holds 124 objects, not 128.
//!
//! Simplified: nothing. The lookup tables are computed from the class sizes at
//! compile time by Go's rule (the smallest class at least as large) and a test
//! checks them against Go's literal arrays.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `PageShift`: pages are 8 KiB.
pub const PAGE_SHIFT: u32 = 13;
/// `PageSize` in bytes.
pub const PAGE_SIZE_BYTES: u64 = 1 << PAGE_SHIFT;
/// `NumSizeClasses`, counting class 0 (large objects).
pub const NUM_SIZE_CLASSES: usize = 68;
/// Span classes: each size class in a scan and a noscan flavour (`numSpanClasses`).
pub const NUM_SPAN_CLASSES: usize = NUM_SIZE_CLASSES * 2;
/// `MaxSmallSize`: larger requests are large objects with a span of their own.
pub const MAX_SMALL_SIZE_BYTES: u64 = 32768;
/// `TinySize` (`maxTinySize` in malloc.go): noscan requests below this use the
/// tiny allocator, which packs them into 16-byte blocks.
pub const TINY_SIZE_BYTES: u64 = 16;
/// `TinySizeClass`: the class the tiny allocator's 16-byte blocks come from.
pub const TINY_SIZE_CLASS: SizeClass = SizeClass(2);
/// `SmallSizeDiv`: granularity of the first lookup table.
pub const SMALL_SIZE_DIV: u64 = 8;
/// `SmallSizeMax`: the first lookup table covers sizes up to here.
pub const SMALL_SIZE_MAX: u64 = 1024;
/// `LargeSizeDiv`: granularity of the second lookup table.
pub const LARGE_SIZE_DIV: u64 = 128;
/// `MaxObjsPerSpan`.
pub const MAX_OBJS_PER_SPAN: u32 = 1024;
/// `MallocHeaderSize`: pointerful objects above 512 bytes carry a type
/// pointer in front of them.
pub const MALLOC_HEADER_BYTES: u64 = 8;
/// `MinSizeForMallocHeader` (exclusive): objects up to this size keep their
/// pointer bitmap in the span instead (`heapBitsInSpan`).
pub const MIN_SIZE_FOR_MALLOC_HEADER_BYTES: u64 = 512;
/// `unsafe.Sizeof(spanInlineMarkBits{})` under Green Tea: 63 scan bytes, an
/// ownership byte, 63 mark bytes and the span class.
pub const SPAN_INLINE_MARK_BITS_BYTES: u64 = 128;

/// A size class, 0..=67. Class 0 stands for large objects.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize,
)]
pub struct SizeClass(pub u8);

impl SizeClass {
    /// The class's row in [`SIZE_CLASSES`].
    pub fn info(self) -> &'static SizeClassInfo {
        &SIZE_CLASSES[self.0 as usize]
    }

    /// Bytes per object (0 for class 0).
    pub fn object_bytes(self) -> u64 {
        self.info().object_bytes as u64
    }

    /// Pages per span (`class_to_allocnpages`; 0 for class 0).
    pub fn span_pages(self) -> u64 {
        self.info().pages as u64
    }
}

impl fmt::Display for SizeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "class {}", self.0)
    }
}

/// A span class: a size class plus whether its objects hold pointers
/// (`spanClass` = class << 1 | noscan). 136 of them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct SpanClass(pub u8);

impl SpanClass {
    /// `makeSpanClass`.
    pub fn new(class: SizeClass, noscan: bool) -> SpanClass {
        SpanClass(class.0 << 1 | noscan as u8)
    }
    pub fn size_class(self) -> SizeClass {
        SizeClass(self.0 >> 1)
    }
    /// True when objects of this span class hold no pointers.
    pub fn noscan(self) -> bool {
        self.0 & 1 == 1
    }
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for SpanClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.noscan() { "noscan" } else { "scan" };
        write!(f, "{} {}", self.size_class(), kind)
    }
}

/// One row of Go's size-class table.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SizeClassInfo {
    pub class: u8,
    /// `bytes/obj`.
    pub object_bytes: u32,
    /// `bytes/span`.
    pub span_bytes: u32,
    /// Pages per span (`bytes/span ÷ 8192`).
    pub pages: u32,
    /// The table's `objects` column: `bytes/span ÷ bytes/obj`.
    pub table_objects: u32,
    /// `tail waste`: `bytes/span − objects × bytes/obj`.
    pub tail_waste_bytes: u32,
}

const fn row(class: u8, object_bytes: u32, span_bytes: u32, table_objects: u32) -> SizeClassInfo {
    SizeClassInfo {
        class,
        object_bytes,
        span_bytes,
        pages: span_bytes / PAGE_SIZE_BYTES as u32,
        table_objects,
        tail_waste_bytes: span_bytes - table_objects * object_bytes,
    }
}

/// The size-class table of go1.27.3 (`internal/runtime/gc/sizeclasses.go`),
/// class 0 (large objects) first.
pub const SIZE_CLASSES: [SizeClassInfo; NUM_SIZE_CLASSES] = [
    row(0, 0, 0, 0),
    row(1, 8, 8192, 1024),
    row(2, 16, 8192, 512),
    row(3, 24, 8192, 341),
    row(4, 32, 8192, 256),
    row(5, 48, 8192, 170),
    row(6, 64, 8192, 128),
    row(7, 80, 8192, 102),
    row(8, 96, 8192, 85),
    row(9, 112, 8192, 73),
    row(10, 128, 8192, 64),
    row(11, 144, 8192, 56),
    row(12, 160, 8192, 51),
    row(13, 176, 8192, 46),
    row(14, 192, 8192, 42),
    row(15, 208, 8192, 39),
    row(16, 224, 8192, 36),
    row(17, 240, 8192, 34),
    row(18, 256, 8192, 32),
    row(19, 288, 8192, 28),
    row(20, 320, 8192, 25),
    row(21, 352, 8192, 23),
    row(22, 384, 8192, 21),
    row(23, 416, 8192, 19),
    row(24, 448, 8192, 18),
    row(25, 480, 8192, 17),
    row(26, 512, 8192, 16),
    row(27, 576, 8192, 14),
    row(28, 640, 8192, 12),
    row(29, 704, 8192, 11),
    row(30, 768, 8192, 10),
    row(31, 896, 8192, 9),
    row(32, 1024, 8192, 8),
    row(33, 1152, 8192, 7),
    row(34, 1280, 8192, 6),
    row(35, 1408, 16384, 11),
    row(36, 1536, 8192, 5),
    row(37, 1792, 16384, 9),
    row(38, 2048, 8192, 4),
    row(39, 2304, 16384, 7),
    row(40, 2688, 8192, 3),
    row(41, 3072, 24576, 8),
    row(42, 3200, 16384, 5),
    row(43, 3456, 24576, 7),
    row(44, 4096, 8192, 2),
    row(45, 4864, 24576, 5),
    row(46, 5376, 16384, 3),
    row(47, 6144, 24576, 4),
    row(48, 6528, 32768, 5),
    row(49, 6784, 40960, 6),
    row(50, 6912, 49152, 7),
    row(51, 8192, 8192, 1),
    row(52, 9472, 57344, 6),
    row(53, 9728, 49152, 5),
    row(54, 10240, 40960, 4),
    row(55, 10880, 32768, 3),
    row(56, 12288, 24576, 2),
    row(57, 13568, 40960, 3),
    row(58, 14336, 57344, 4),
    row(59, 16384, 16384, 1),
    row(60, 18432, 73728, 4),
    row(61, 19072, 57344, 3),
    row(62, 20480, 40960, 2),
    row(63, 21760, 65536, 3),
    row(64, 24576, 24576, 1),
    row(65, 27264, 81920, 3),
    row(66, 28672, 57344, 2),
    row(67, 32768, 32768, 1),
];

/// The smallest class whose objects hold `size_bytes` (the generator's rule
/// for both lookup tables).
const fn smallest_class_holding(size_bytes: u32) -> u8 {
    let mut class = 1;
    while class < NUM_SIZE_CLASSES {
        if SIZE_CLASSES[class].object_bytes >= size_bytes {
            return class as u8;
        }
        class += 1;
    }
    panic!("size above MaxSmallSize")
}

/// `SizeToSizeClass8`: index `ceil(size / 8)` for sizes up to 1024.
pub const SIZE_TO_CLASS_8: [u8; (SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1) as usize] = {
    let mut table = [0u8; (SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1) as usize];
    let mut i = 1;
    while i < table.len() {
        table[i] = smallest_class_holding((i as u64 * SMALL_SIZE_DIV) as u32);
        i += 1;
    }
    table
};

/// `SizeToSizeClass128`: index `ceil((size − 1024) / 128)` above 1024.
pub const SIZE_TO_CLASS_128: [u8; ((MAX_SMALL_SIZE_BYTES - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1)
    as usize] = {
    let mut table = [0u8; ((MAX_SMALL_SIZE_BYTES - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1) as usize];
    let mut i = 0;
    while i < table.len() {
        table[i] = smallest_class_holding((SMALL_SIZE_MAX + i as u64 * LARGE_SIZE_DIV) as u32);
        i += 1;
    }
    table
};

/// The size class of a small request (1..=32768 bytes), by the two tables as
/// `mallocgcSmallNoscan` indexes them (the first table up to 1016 bytes).
/// `None` for 0 bytes (`&zerobase`) and for large requests.
pub fn size_to_class(size_bytes: u64) -> Option<SizeClass> {
    if size_bytes == 0 || size_bytes > MAX_SMALL_SIZE_BYTES {
        return None;
    }
    let class = if size_bytes <= SMALL_SIZE_MAX - 8 {
        SIZE_TO_CLASS_8[size_bytes.div_ceil(SMALL_SIZE_DIV) as usize]
    } else {
        // 1017..=1024 bytes wrap around to index 0 in Go's uintptr arithmetic
        // (`divRoundUp(size-1024, 128)`); the same wrap here.
        let index = size_bytes
            .wrapping_sub(SMALL_SIZE_MAX)
            .wrapping_add(LARGE_SIZE_DIV - 1)
            / LARGE_SIZE_DIV;
        SIZE_TO_CLASS_128[index as usize]
    };
    Some(SizeClass(class))
}

/// `heapBitsInSpan`: objects up to 512 bytes keep their pointer bitmap at the
/// end of the span rather than in a malloc header.
pub fn heap_bits_in_span(object_bytes: u64) -> bool {
    object_bytes <= MIN_SIZE_FOR_MALLOC_HEADER_BYTES
}

/// Whether `mallocgc` gives an object of `size_bytes` a malloc header (a
/// small pointerful object over 512 bytes: `mallocgcSmallScanHeader`).
pub fn has_malloc_header(size_bytes: u64, noscan: bool) -> bool {
    matches!(alloc_route(size_bytes, noscan), AllocRoute::Small { .. })
        && !noscan
        && !heap_bits_in_span(size_bytes)
}

/// How many objects a span of this span class holds in go1.27.3
/// (`mheap.initSpan` with Green Tea): the span's bytes minus the inline mark
/// bits (objects of 16..=512 bytes) and the pointer bitmap (pointerful objects
/// up to 512 bytes), divided by the object size. Class 0 spans hold one object.
pub fn objects_per_span(span_class: SpanClass) -> u32 {
    let class = span_class.size_class();
    if class.0 == 0 {
        return 1;
    }
    let info = class.info();
    let span_bytes = info.span_bytes as u64;
    let object_bytes = info.object_bytes as u64;
    let mut reserve_bytes = 0;
    if heap_bits_in_span(object_bytes) && object_bytes >= 16 {
        reserve_bytes += SPAN_INLINE_MARK_BITS_BYTES;
    }
    if heap_bits_in_span(object_bytes) && !span_class.noscan() {
        // One bit per pointer word of the span.
        reserve_bytes += span_bytes / 8 / 8;
    }
    ((span_bytes - reserve_bytes) / object_bytes) as u32
}

/// Where `mallocgc` sends a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum AllocRoute {
    /// `size == 0`: every zero-size allocation returns `&zerobase`; nothing
    /// is allocated.
    Zero,
    /// Noscan and below 16 bytes: packed into the current 16-byte tiny block.
    Tiny,
    /// A slot of a small span. `slot_bytes` is the class size; pointerful
    /// objects above 512 bytes include their 8-byte malloc header.
    Small {
        span_class: SpanClass,
        slot_bytes: u64,
    },
    /// A span of its own (class 0) of `pages` pages.
    Large { pages: u64 },
}

/// `mallocgc`'s routing: tiny for noscan requests under 16 bytes; small up to
/// `MaxSmallSize − MallocHeaderSize` (32760) bytes, with the malloc header
/// added to pointerful requests above 512 bytes before the class lookup;
/// large (`ceil(size / 8 KiB)` pages) above that, noscan or not.
pub fn alloc_route(size_bytes: u64, noscan: bool) -> AllocRoute {
    if size_bytes == 0 {
        return AllocRoute::Zero;
    }
    if size_bytes > MAX_SMALL_SIZE_BYTES - MALLOC_HEADER_BYTES {
        return AllocRoute::Large {
            pages: size_bytes.div_ceil(PAGE_SIZE_BYTES),
        };
    }
    if noscan && size_bytes < TINY_SIZE_BYTES {
        return AllocRoute::Tiny;
    }
    let lookup_bytes = if !noscan && !heap_bits_in_span(size_bytes) {
        size_bytes + MALLOC_HEADER_BYTES
    } else {
        size_bytes
    };
    let class = size_to_class(lookup_bytes).expect("small request has a class");
    AllocRoute::Small {
        span_class: SpanClass::new(class, noscan),
        slot_bytes: class.object_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference §8.3 (src/internal/runtime/gc/sizeclasses.go, verified
    /// identical in 1.27.3): class, bytes/obj, bytes/span, pages, objects,
    /// tail waste. Copied as data so the table above is checked against an
    /// independent transcription.
    const REFERENCE_8_3: [(u8, u32, u32, u32, u32, u32); 67] = [
        (1, 8, 8192, 1, 1024, 0),
        (2, 16, 8192, 1, 512, 0),
        (3, 24, 8192, 1, 341, 8),
        (4, 32, 8192, 1, 256, 0),
        (5, 48, 8192, 1, 170, 32),
        (6, 64, 8192, 1, 128, 0),
        (7, 80, 8192, 1, 102, 32),
        (8, 96, 8192, 1, 85, 32),
        (9, 112, 8192, 1, 73, 16),
        (10, 128, 8192, 1, 64, 0),
        (11, 144, 8192, 1, 56, 128),
        (12, 160, 8192, 1, 51, 32),
        (13, 176, 8192, 1, 46, 96),
        (14, 192, 8192, 1, 42, 128),
        (15, 208, 8192, 1, 39, 80),
        (16, 224, 8192, 1, 36, 128),
        (17, 240, 8192, 1, 34, 32),
        (18, 256, 8192, 1, 32, 0),
        (19, 288, 8192, 1, 28, 128),
        (20, 320, 8192, 1, 25, 192),
        (21, 352, 8192, 1, 23, 96),
        (22, 384, 8192, 1, 21, 128),
        (23, 416, 8192, 1, 19, 288),
        (24, 448, 8192, 1, 18, 128),
        (25, 480, 8192, 1, 17, 32),
        (26, 512, 8192, 1, 16, 0),
        (27, 576, 8192, 1, 14, 128),
        (28, 640, 8192, 1, 12, 512),
        (29, 704, 8192, 1, 11, 448),
        (30, 768, 8192, 1, 10, 512),
        (31, 896, 8192, 1, 9, 128),
        (32, 1024, 8192, 1, 8, 0),
        (33, 1152, 8192, 1, 7, 128),
        (34, 1280, 8192, 1, 6, 512),
        (35, 1408, 16384, 2, 11, 896),
        (36, 1536, 8192, 1, 5, 512),
        (37, 1792, 16384, 2, 9, 256),
        (38, 2048, 8192, 1, 4, 0),
        (39, 2304, 16384, 2, 7, 256),
        (40, 2688, 8192, 1, 3, 128),
        (41, 3072, 24576, 3, 8, 0),
        (42, 3200, 16384, 2, 5, 384),
        (43, 3456, 24576, 3, 7, 384),
        (44, 4096, 8192, 1, 2, 0),
        (45, 4864, 24576, 3, 5, 256),
        (46, 5376, 16384, 2, 3, 256),
        (47, 6144, 24576, 3, 4, 0),
        (48, 6528, 32768, 4, 5, 128),
        (49, 6784, 40960, 5, 6, 256),
        (50, 6912, 49152, 6, 7, 768),
        (51, 8192, 8192, 1, 1, 0),
        (52, 9472, 57344, 7, 6, 512),
        (53, 9728, 49152, 6, 5, 512),
        (54, 10240, 40960, 5, 4, 0),
        (55, 10880, 32768, 4, 3, 128),
        (56, 12288, 24576, 3, 2, 0),
        (57, 13568, 40960, 5, 3, 256),
        (58, 14336, 57344, 7, 4, 0),
        (59, 16384, 16384, 2, 1, 0),
        (60, 18432, 73728, 9, 4, 0),
        (61, 19072, 57344, 7, 3, 128),
        (62, 20480, 40960, 5, 2, 0),
        (63, 21760, 65536, 8, 3, 256),
        (64, 24576, 24576, 3, 1, 0),
        (65, 27264, 81920, 10, 3, 128),
        (66, 28672, 57344, 7, 2, 0),
        (67, 32768, 32768, 4, 1, 0),
    ];

    #[test]
    fn all_68_classes_match_the_pinned_release_table() {
        assert_eq!(SIZE_CLASSES.len(), 68);
        assert_eq!(SIZE_CLASSES[0], row(0, 0, 0, 0));
        for (class, obj, span, pages, objects, tail) in REFERENCE_8_3 {
            let info = SizeClass(class).info();
            assert_eq!(info.class, class);
            assert_eq!(
                (info.object_bytes, info.span_bytes, info.pages),
                (obj, span, pages),
                "class {class}"
            );
            assert_eq!(info.table_objects, objects, "class {class}");
            assert_eq!(info.table_objects, span / obj, "class {class}");
            assert_eq!(info.tail_waste_bytes, tail, "class {class}");
            assert!(info.pages <= 10, "MaxSizeClassNPages");
            assert!(info.table_objects <= MAX_OBJS_PER_SPAN);
        }
    }

    /// Go's literal `SizeToSizeClass8` and `SizeToSizeClass128` arrays.
    const GO_SIZE_TO_CLASS_8: [u8; 129] = [
        0, 1, 2, 3, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15,
        15, 16, 16, 17, 17, 18, 18, 19, 19, 19, 19, 20, 20, 20, 20, 21, 21, 21, 21, 22, 22, 22, 22,
        23, 23, 23, 23, 24, 24, 24, 24, 25, 25, 25, 25, 26, 26, 26, 26, 27, 27, 27, 27, 27, 27, 27,
        27, 28, 28, 28, 28, 28, 28, 28, 28, 29, 29, 29, 29, 29, 29, 29, 29, 30, 30, 30, 30, 30, 30,
        30, 30, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 32, 32, 32, 32, 32,
        32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    ];
    const GO_SIZE_TO_CLASS_128: [u8; 249] = [
        32, 33, 34, 35, 36, 37, 37, 38, 38, 39, 39, 40, 40, 40, 41, 41, 41, 42, 43, 43, 44, 44, 44,
        44, 44, 45, 45, 45, 45, 45, 45, 46, 46, 46, 46, 47, 47, 47, 47, 47, 47, 48, 48, 48, 49, 49,
        50, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 53, 53,
        54, 54, 54, 54, 55, 55, 55, 55, 55, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 57, 57, 57,
        57, 57, 57, 57, 57, 57, 57, 58, 58, 58, 58, 58, 58, 59, 59, 59, 59, 59, 59, 59, 59, 59, 59,
        59, 59, 59, 59, 59, 59, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 61,
        61, 61, 61, 61, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 63, 63, 63, 63, 63, 63, 63, 63,
        63, 63, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
        64, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 66,
        66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67,
        67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67, 67,
    ];

    #[test]
    fn lookup_tables_built_by_the_generator_rule_equal_gos_arrays() {
        assert_eq!(SIZE_TO_CLASS_8, GO_SIZE_TO_CLASS_8);
        assert_eq!(SIZE_TO_CLASS_128, GO_SIZE_TO_CLASS_128);
    }

    #[test]
    fn every_small_size_maps_to_the_smallest_class_that_holds_it() {
        for size in 1..=MAX_SMALL_SIZE_BYTES {
            let class = size_to_class(size).unwrap();
            assert!(class.object_bytes() >= size, "size {size}");
            if class.0 > 1 {
                assert!(SizeClass(class.0 - 1).object_bytes() < size, "size {size}");
            }
        }
        assert_eq!(size_to_class(0), None);
        assert_eq!(size_to_class(MAX_SMALL_SIZE_BYTES + 1), None);
        assert_eq!(size_to_class(17), Some(SizeClass(3)));
        assert_eq!(size_to_class(1025), Some(SizeClass(33)));
    }

    #[test]
    fn green_tea_spans_hold_fewer_small_objects_than_the_table_says() {
        let scan = |c| objects_per_span(SpanClass::new(SizeClass(c), false));
        let noscan = |c| objects_per_span(SpanClass::new(SizeClass(c), true));
        // 8-byte noscan objects: no inline mark bits (below 16 bytes), no bitmap.
        assert_eq!(noscan(1), 1024);
        // 8-byte pointerful: (8192 − 128 bitmap) / 8.
        assert_eq!(scan(1), 1008);
        // 16-byte noscan (tiny blocks): (8192 − 128 mark bits) / 16.
        assert_eq!(noscan(2), 504);
        // 64-byte: (8192 − 128 − 128) / 64 and (8192 − 128) / 64.
        assert_eq!(scan(6), 124);
        assert_eq!(noscan(6), 126);
        // 512-byte pointerful: (8192 − 256) / 512 = 15, where the table says 16.
        assert_eq!(scan(26), 15);
        // Above 512 bytes nothing is reserved: the table's count holds.
        assert_eq!(scan(27), 14);
        assert_eq!(noscan(67), 1);
        for class in 27..NUM_SIZE_CLASSES as u8 {
            assert_eq!(scan(class), SizeClass(class).info().table_objects);
        }
        assert_eq!(objects_per_span(SpanClass::new(SizeClass(0), false)), 1);
    }

    #[test]
    fn mallocgc_routes_tiny_small_header_and_large_requests() {
        assert_eq!(alloc_route(0, true), AllocRoute::Zero);
        assert_eq!(alloc_route(8, true), AllocRoute::Tiny);
        assert_eq!(alloc_route(15, true), AllocRoute::Tiny);
        // Pointerful objects never use the tiny allocator.
        assert_eq!(
            alloc_route(8, false),
            AllocRoute::Small {
                span_class: SpanClass::new(SizeClass(1), false),
                slot_bytes: 8
            }
        );
        assert_eq!(
            alloc_route(16, true),
            AllocRoute::Small {
                span_class: SpanClass::new(SizeClass(2), true),
                slot_bytes: 16
            }
        );
        // 512 bytes fits its class without a header; 513 pointerful bytes need
        // 521 with the header, class 27 (576).
        assert_eq!(
            alloc_route(512, false),
            AllocRoute::Small {
                span_class: SpanClass::new(SizeClass(26), false),
                slot_bytes: 512
            }
        );
        assert_eq!(
            alloc_route(513, false),
            AllocRoute::Small {
                span_class: SpanClass::new(SizeClass(27), false),
                slot_bytes: 576
            }
        );
        // 1024 pointerful bytes plus the header land in 1152.
        assert_eq!(
            alloc_route(1024, false),
            AllocRoute::Small {
                span_class: SpanClass::new(SizeClass(33), false),
                slot_bytes: 1152
            }
        );
        // Up to 32760 bytes is small; beyond, large even when noscan.
        assert_eq!(
            alloc_route(32760, true),
            AllocRoute::Small {
                span_class: SpanClass::new(SizeClass(67), true),
                slot_bytes: 32768
            }
        );
        assert_eq!(alloc_route(32761, true), AllocRoute::Large { pages: 4 });
        assert_eq!(alloc_route(32769, false), AllocRoute::Large { pages: 5 });
        assert_eq!(
            alloc_route(1 << 20, false),
            AllocRoute::Large { pages: 128 }
        );
    }

    #[test]
    fn span_classes_pack_class_and_noscan() {
        let spc = SpanClass::new(SizeClass(6), true);
        assert_eq!(spc.0, 13);
        assert_eq!(spc.size_class(), SizeClass(6));
        assert!(spc.noscan());
        assert_eq!(spc.to_string(), "class 6 noscan");
        assert_eq!(TINY_SIZE_CLASS.object_bytes(), TINY_SIZE_BYTES);
    }
}
