package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Location metadata is removed from images as they are uploaded, so that
// the bytes stored, hashed into the media ID and served to other users
// never carry it. The filters below are streaming rewrites of the
// containers' segment structure (no pixel is decoded or re-encoded, so
// quality and size are untouched); they are hand-written because the Go
// image libraries decode pixels and drop all metadata, or read EXIF but
// cannot write a container without it. Each filter is deterministic, so
// the same upload gives the same ID on every node.
//
//   - JPEG: every APP1 segment (EXIF, with GPS, camera serials and an
//     embedded thumbnail that may show the uncropped picture; and XMP,
//     which can repeat the GPS), APP13 (IPTC: place names) and COM
//     segments are dropped; an EXIF orientation is kept as a new minimal
//     EXIF segment holding only that tag, so photos still display upright.
//     APP2 "MPF" (the index of extra images appended after the first) is
//     dropped and so is everything after the first image's EOI: phones
//     append depth maps and previews there, each with EXIF of its own.
//   - PNG: eXIf and the text chunks (tEXt, zTXt, iTXt: XMP lives there)
//     are dropped, and anything after IEND.
//   - WebP: EXIF and XMP chunks keep their size but are renamed to an
//     unknown chunk ("JUNK", which decoders skip) and zeroed, and the
//     VP8X flags announcing them are cleared; the RIFF size stays right
//     without knowing the file's length in advance.

// errMalformed means an image's container could not be parsed.
var errMalformed = errors.New("malformed image")

// maxSegment bounds a metadata segment read into memory (a JPEG segment
// cannot exceed 64 KiB anyway).
const maxSegment = 64 << 10

// scrubber copies an image from r to w without its location metadata.
type scrubber func(w io.Writer, r *bufio.Reader) error

// scrubberFor returns the filter for a sniffed type, nil for types that
// are stored as they are.
func scrubberFor(typ string) scrubber {
	switch typ {
	case "image/jpeg":
		return scrubJPEG
	case "image/png", "image/vnd.mozilla.apng":
		return scrubPNG
	case "image/webp":
		return scrubWebP
	}
	return nil
}

// JPEG markers.
const (
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mAPP1 = 0xE1
	mAPP2 = 0xE2
	mAPPD = 0xED
	mCOM  = 0xFE
)

// scrubJPEG is the scrubber of JPEG. It is one loop over the markers
// (over 80 lines): splitting it would scatter the parser's state.
func scrubJPEG(w io.Writer, r *bufio.Reader) error {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr[0] != 0xFF || hdr[1] != mSOI {
		return fmt.Errorf("jpeg: no start of image: %w", errMalformed)
	}
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	wroteOrientation := false
	var next byte // a marker copyScan already read, or 0
	for {
		marker := next
		if next = 0; marker == 0 {
			var err error
			if marker, err = nextMarker(r); err != nil {
				return err
			}
		}
		switch {
		case marker == mEOI:
			_, err := w.Write([]byte{0xFF, mEOI})
			return err // what follows the first image is dropped
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD7:
			// TEM and RST markers carry no length.
			if _, err := w.Write([]byte{0xFF, marker}); err != nil {
				return err
			}
			continue
		}
		var lb [2]byte
		if _, err := io.ReadFull(r, lb[:]); err != nil {
			return fmt.Errorf("jpeg: truncated segment: %w", errMalformed)
		}
		n := int(binary.BigEndian.Uint16(lb[:]))
		if n < 2 {
			return fmt.Errorf("jpeg: segment length %d: %w", n, errMalformed)
		}
		payload := n - 2
		drop := false
		switch marker {
		case mAPP1:
			seg := make([]byte, payload)
			if _, err := io.ReadFull(r, seg); err != nil {
				return fmt.Errorf("jpeg: truncated APP1: %w", errMalformed)
			}
			if o := exifOrientation(seg); o > 1 && !wroteOrientation {
				wroteOrientation = true
				if _, err := w.Write(minimalEXIF(o)); err != nil {
					return err
				}
			}
			continue
		case mAPPD, mCOM:
			drop = true
		case mAPP2:
			head, err := r.Peek(min(payload, 4))
			if err != nil {
				return fmt.Errorf("jpeg: truncated APP2: %w", errMalformed)
			}
			drop = bytes.Equal(head, []byte("MPF\x00"))
		}
		if drop {
			if _, err := r.Discard(payload); err != nil {
				return fmt.Errorf("jpeg: truncated segment: %w", errMalformed)
			}
			continue
		}
		if _, err := w.Write([]byte{0xFF, marker, lb[0], lb[1]}); err != nil {
			return err
		}
		if _, err := io.CopyN(w, r, int64(payload)); err != nil {
			return fmt.Errorf("jpeg: truncated segment: %w", errMalformed)
		}
		if marker == mSOS {
			var err error
			if next, err = copyScan(w, r); err != nil {
				return err
			}
		}
	}
}

// nextMarker reads the next marker byte, skipping fill bytes (0xFF).
func nextMarker(r *bufio.Reader) (byte, error) {
	b, err := r.ReadByte()
	if err != nil || b != 0xFF {
		return 0, fmt.Errorf("jpeg: expected a marker: %w", errMalformed)
	}
	for {
		b, err = r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("jpeg: truncated marker: %w", errMalformed)
		}
		if b != 0xFF {
			return b, nil
		}
	}
}

// copyScan copies entropy-coded data up to the next marker that is not a
// stuffed 0xFF00 or a restart marker, reads that marker and returns it.
func copyScan(w io.Writer, r *bufio.Reader) (byte, error) {
	for {
		chunk, err := r.ReadSlice(0xFF)
		if len(chunk) > 0 {
			// Write all but the 0xFF, which is decided below.
			body := chunk
			if err == nil {
				body = chunk[:len(chunk)-1]
			}
			if _, werr := w.Write(body); werr != nil {
				return 0, werr
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("jpeg: truncated scan: %w", errMalformed)
		}
		b, err := r.ReadByte()
		for err == nil && b == 0xFF { // fill bytes before a marker
			b, err = r.ReadByte()
		}
		if err != nil {
			return 0, fmt.Errorf("jpeg: truncated scan: %w", errMalformed)
		}
		if b == 0x00 || b >= 0xD0 && b <= 0xD7 {
			if _, err := w.Write([]byte{0xFF, b}); err != nil {
				return 0, err
			}
			continue
		}
		return b, nil
	}
}

// exifOrientation reads the Orientation tag (0x0112) of IFD0 from an APP1
// payload, or 0 when it is not EXIF or has none.
func exifOrientation(seg []byte) int {
	tiff, ok := bytes.CutPrefix(seg, []byte("Exif\x00\x00"))
	if !ok || len(tiff) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(tiff[4:8]))
	if off < 8 || off+2 > len(tiff) {
		return 0
	}
	count := int(bo.Uint16(tiff[off:]))
	for i := range count {
		e := off + 2 + 12*i
		if e+12 > len(tiff) {
			return 0
		}
		if bo.Uint16(tiff[e:]) == 0x0112 && bo.Uint16(tiff[e+2:]) == 3 { // SHORT
			if v := int(bo.Uint16(tiff[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 0
		}
	}
	return 0
}

// minimalEXIF is an APP1 segment whose EXIF holds one tag: Orientation.
func minimalEXIF(orientation int) []byte {
	tiff := []byte{
		'M', 'M', 0, 42, 0, 0, 0, 8, // big-endian TIFF header, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(orientation), 0, 0, // Orientation, SHORT, 1
		0, 0, 0, 0, // no next IFD
	}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, mAPP1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

func scrubPNG(w io.Writer, r *bufio.Reader) error {
	sig := make([]byte, len(pngSignature))
	if _, err := io.ReadFull(r, sig); err != nil || !bytes.Equal(sig, pngSignature) {
		return fmt.Errorf("png: bad signature: %w", errMalformed)
	}
	if _, err := w.Write(sig); err != nil {
		return err
	}
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return fmt.Errorf("png: truncated chunk: %w", errMalformed)
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		if n > 1<<31-1 {
			return fmt.Errorf("png: chunk length %d: %w", n, errMalformed)
		}
		typ := string(hdr[4:8])
		switch typ {
		case "eXIf", "tEXt", "zTXt", "iTXt":
			if _, err := r.Discard(int(n) + 4); err != nil {
				return fmt.Errorf("png: truncated chunk: %w", errMalformed)
			}
			continue
		}
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := io.CopyN(w, r, n+4); err != nil { // data and CRC
			return fmt.Errorf("png: truncated chunk: %w", errMalformed)
		}
		if typ == "IEND" {
			return nil
		}
	}
}

func scrubWebP(w io.Writer, r *bufio.Reader) error {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || string(hdr[:4]) != "RIFF" || string(hdr[8:12]) != "WEBP" {
		return fmt.Errorf("webp: bad header: %w", errMalformed)
	}
	size := int64(binary.LittleEndian.Uint32(hdr[4:8])) - 4 // chunks after "WEBP"
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	for size > 0 {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return fmt.Errorf("webp: truncated chunk: %w", errMalformed)
		}
		n := int64(binary.LittleEndian.Uint32(ch[4:8]))
		padded := n + n&1
		size -= 8 + padded
		switch string(ch[:4]) {
		case "VP8X":
			body := make([]byte, min(padded, maxSegment))
			if padded > maxSegment {
				return fmt.Errorf("webp: VP8X of %d bytes: %w", n, errMalformed)
			}
			if _, err := io.ReadFull(r, body); err != nil {
				return fmt.Errorf("webp: truncated VP8X: %w", errMalformed)
			}
			if len(body) > 0 {
				body[0] &^= 0x08 | 0x04 // EXIF and XMP present
			}
			if _, err := w.Write(append(ch[:], body...)); err != nil {
				return err
			}
		case "EXIF", "XMP ":
			copy(ch[:4], "JUNK")
			if _, err := w.Write(ch[:]); err != nil {
				return err
			}
			if _, err := r.Discard(int(padded)); err != nil {
				return fmt.Errorf("webp: truncated chunk: %w", errMalformed)
			}
			if _, err := io.CopyN(w, zeros{}, padded); err != nil {
				return err
			}
		default:
			if _, err := w.Write(ch[:]); err != nil {
				return err
			}
			if _, err := io.CopyN(w, r, padded); err != nil {
				return fmt.Errorf("webp: truncated chunk: %w", errMalformed)
			}
		}
	}
	return nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
