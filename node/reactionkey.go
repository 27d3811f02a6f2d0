package node

import (
	"unicode"
	"unicode/utf8"
)

// MaxReactionKeyLen bounds a reaction key in bytes. The longest emoji ZWJ
// sequences in use (a kiss with two skin tones, 10 code points) take 35.
const MaxReactionKeyLen = 64

// maxShortcodeLen bounds the name inside a :shortcode:.
const maxShortcodeLen = 32

// ValidReactionKey reports whether s may be a reaction: one emoji, or a
// shortcode.
//
// One emoji is one grapheme in the grammar of UTS #51's possible emoji
// (ED-27): elements joined by ZERO WIDTH JOINER, where an element is a
// pair of regional indicators (a flag) or a pictographic code point with
// at most one modification: a skin tone, VARIATION SELECTOR-16 (with an
// optional keycap mark), or a tag sequence (subdivision flags). Digits, #
// and * count only as keycaps (1️⃣, #️⃣). Text, spaces, controls and
// combining marks are refused, as is any second grapheme.
//
// A shortcode is ":name:" with 1 to 32 characters of a-z 0-9 _ + -
// (":party_parrot:"), for custom reactions a client draws itself.
//
// The rule is the same on every node, so an event with another key is
// refused everywhere.
func ValidReactionKey(s string) bool {
	if s == "" || len(s) > MaxReactionKeyLen || !utf8.ValidString(s) {
		return false
	}
	if s[0] == ':' {
		return validShortcode(s)
	}
	return validEmoji(s)
}

func validShortcode(s string) bool {
	if len(s) < 3 || len(s) > maxShortcodeLen+2 || s[0] != ':' || s[len(s)-1] != ':' {
		return false
	}
	for _, c := range []byte(s[1 : len(s)-1]) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '+', c == '-':
		default:
			return false
		}
	}
	return true
}

const (
	zwj        = '\u200D'
	vs16       = '\uFE0F'
	keycapMark = '\u20E3'
	tagCancel  = '\U000E007F'
)

func isRegionalIndicator(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }
func isSkinTone(r rune) bool          { return r >= 0x1F3FB && r <= 0x1F3FF }
func isTag(r rune) bool               { return r >= 0xE0020 && r <= 0xE007E }
func isKeycapBase(r rune) bool        { return r >= '0' && r <= '9' || r == '#' || r == '*' }

// validEmoji parses s as zwj_element (ZWJ zwj_element)* and wants all of
// it consumed.
func validEmoji(s string) bool {
	rs := []rune(s)
	i := 0
	for {
		n := emojiElement(rs[i:])
		if n == 0 {
			return false
		}
		i += n
		if i == len(rs) {
			return true
		}
		if rs[i] != zwj {
			return false
		}
		i++
		if i == len(rs) {
			return false // a joiner must join something
		}
	}
}

// emojiElement returns how many runes of rs make one element, or 0.
func emojiElement(rs []rune) int {
	if len(rs) == 0 {
		return 0
	}
	r := rs[0]
	switch {
	case isRegionalIndicator(r):
		if len(rs) >= 2 && isRegionalIndicator(rs[1]) {
			return 2
		}
		return 0
	case isKeycapBase(r):
		// 1️⃣ (with VS16) and the older 1⃣ form.
		if len(rs) >= 3 && rs[1] == vs16 && rs[2] == keycapMark {
			return 3
		}
		if len(rs) >= 2 && rs[1] == keycapMark {
			return 2
		}
		return 0
	case isSkinTone(r):
		return 1 // a swatch on its own is an emoji too
	case !unicode.Is(extendedPictographic, r):
		return 0
	}
	if len(rs) == 1 {
		return 1
	}
	switch m := rs[1]; {
	case isSkinTone(m):
		return 2
	case m == vs16:
		return 2
	case isTag(m):
		j := 1
		for j < len(rs) && isTag(rs[j]) {
			j++
		}
		if j < len(rs) && rs[j] == tagCancel {
			return j + 1
		}
		return 0
	}
	return 1
}

// extendedPictographic is Unicode's Extended_Pictographic property
// (emoji-data.txt, Unicode 15.1), which also covers code points reserved
// for future emoji, so new emoji pass before this table is updated.
// Written out here rather than taken from a library: the standard library
// has no emoji properties, and this one table is all the rule needs.
var extendedPictographic = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0x00A9, 0x00A9, 1}, {0x00AE, 0x00AE, 1},
		{0x203C, 0x203C, 1}, {0x2049, 0x2049, 1},
		{0x2122, 0x2122, 1}, {0x2139, 0x2139, 1},
		{0x2194, 0x2199, 1}, {0x21A9, 0x21AA, 1},
		{0x231A, 0x231B, 1}, {0x2328, 0x2328, 1}, {0x2388, 0x2388, 1}, {0x23CF, 0x23CF, 1},
		{0x23E9, 0x23F3, 1}, {0x23F8, 0x23FA, 1},
		{0x24C2, 0x24C2, 1},
		{0x25AA, 0x25AB, 1}, {0x25B6, 0x25B6, 1}, {0x25C0, 0x25C0, 1}, {0x25FB, 0x25FE, 1},
		{0x2600, 0x2605, 1}, {0x2607, 0x2612, 1}, {0x2614, 0x2685, 1}, {0x2690, 0x2705, 1},
		{0x2708, 0x2712, 1}, {0x2714, 0x2714, 1}, {0x2716, 0x2716, 1}, {0x271D, 0x271D, 1},
		{0x2721, 0x2721, 1}, {0x2728, 0x2728, 1}, {0x2733, 0x2734, 1}, {0x2744, 0x2744, 1},
		{0x2747, 0x2747, 1}, {0x274C, 0x274C, 1}, {0x274E, 0x274E, 1}, {0x2753, 0x2755, 1},
		{0x2757, 0x2757, 1}, {0x2763, 0x2767, 1}, {0x2795, 0x2797, 1}, {0x27A1, 0x27A1, 1},
		{0x27B0, 0x27B0, 1}, {0x27BF, 0x27BF, 1},
		{0x2934, 0x2935, 1},
		{0x2B05, 0x2B07, 1}, {0x2B1B, 0x2B1C, 1}, {0x2B50, 0x2B50, 1}, {0x2B55, 0x2B55, 1},
		{0x3030, 0x3030, 1}, {0x303D, 0x303D, 1}, {0x3297, 0x3297, 1}, {0x3299, 0x3299, 1},
	},
	LatinOffset: 2,
	R32: []unicode.Range32{
		{0x1F000, 0x1F0FF, 1}, {0x1F10D, 0x1F10F, 1}, {0x1F12F, 0x1F12F, 1},
		{0x1F16C, 0x1F171, 1}, {0x1F17E, 0x1F17F, 1}, {0x1F18E, 0x1F18E, 1},
		{0x1F191, 0x1F19A, 1}, {0x1F1AD, 0x1F1E5, 1},
		{0x1F201, 0x1F20F, 1}, {0x1F21A, 0x1F21A, 1}, {0x1F22F, 0x1F22F, 1},
		{0x1F232, 0x1F23A, 1}, {0x1F23C, 0x1F23F, 1}, {0x1F249, 0x1F3FA, 1},
		{0x1F400, 0x1F53D, 1}, {0x1F546, 0x1F64F, 1}, {0x1F680, 0x1F6FF, 1},
		{0x1F774, 0x1F77F, 1}, {0x1F7D5, 0x1F7FF, 1},
		{0x1F80C, 0x1F80F, 1}, {0x1F848, 0x1F84F, 1}, {0x1F85A, 0x1F85F, 1},
		{0x1F888, 0x1F88F, 1}, {0x1F8AE, 0x1F8FF, 1},
		{0x1F90C, 0x1F93A, 1}, {0x1F93C, 0x1F945, 1}, {0x1F947, 0x1FAFF, 1},
		{0x1FC00, 0x1FFFD, 1},
	},
}
