package media

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// Test images are made here, byte by byte where a library would not
// write what we need (EXIF with GPS, text chunks, a bomb's header).

func gradient(w, h int, alpha bool) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			a := uint8(255)
			if alpha && x < w/2 {
				a = 64
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), 128, a})
		}
	}
	return img
}

func encodeJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, gradient(w, h, false), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t testing.TB, w, h int, alpha bool) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, gradient(w, h, alpha)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// exifTIFF builds a big-endian TIFF block with IFD0 holding Orientation
// and a GPS IFD pointer, and a GPS IFD with a latitude.
func exifTIFF(orientation int) []byte {
	var b bytes.Buffer
	be := binary.BigEndian
	b.WriteString("MM\x00\x2a")
	binary.Write(&b, be, uint32(8)) // IFD0
	// IFD0 at 8: 2 entries (2 + 24 + 4 = 30 bytes) → GPS IFD at 38.
	binary.Write(&b, be, uint16(2))
	binary.Write(&b, be, []uint16{0x0112, 3})
	binary.Write(&b, be, uint32(1))
	binary.Write(&b, be, []uint16{uint16(orientation), 0})
	binary.Write(&b, be, []uint16{0x8825, 4})
	binary.Write(&b, be, uint32(1))
	binary.Write(&b, be, uint32(38))
	binary.Write(&b, be, uint32(0))
	// GPS IFD at 38: 2 entries (30 bytes) → latitude rationals at 68.
	binary.Write(&b, be, uint16(2))
	binary.Write(&b, be, []uint16{0x0001, 2}) // GPSLatitudeRef, ASCII
	binary.Write(&b, be, uint32(2))
	b.WriteString("N\x00\x00\x00")
	binary.Write(&b, be, []uint16{0x0002, 5}) // GPSLatitude, RATIONAL×3
	binary.Write(&b, be, uint32(3))
	binary.Write(&b, be, uint32(68))
	binary.Write(&b, be, uint32(0))
	binary.Write(&b, be, []uint32{51, 1, 30, 1, 4711, 100}) // 51°30'47.11"
	return b.Bytes()
}

func segment(marker byte, payload []byte) []byte {
	s := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(s[2:], uint16(len(payload)+2))
	return append(s, payload...)
}

// jpegWithMetadata is a JPEG with EXIF (orientation and GPS), XMP with a
// GPS position, IPTC, a comment and a trailer after EOI, each holding a
// marker string that must not survive.
func jpegWithMetadata(t testing.TB, w, h, orientation int) []byte {
	t.Helper()
	plain := encodeJPEG(t, w, h)
	var b bytes.Buffer
	b.Write(plain[:2]) // SOI
	b.Write(segment(mAPP1, append([]byte("Exif\x00\x00"), exifTIFF(orientation)...)))
	b.Write(segment(mAPP1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta exif:GPSLatitude=\"51,30.78N\" SECRET-XMP/>")))
	b.Write(segment(mAPPD, []byte("Photoshop 3.0\x00SECRET-IPTC Camden Town")))
	b.Write(segment(mCOM, []byte("SECRET-COMMENT")))
	b.Write(segment(mAPP2, []byte("MPF\x00SECRET-MPF")))
	b.Write(plain[2:])
	b.WriteString("SECRET-TRAILER after the image")
	return b.Bytes()
}

func pngChunk(typ string, data []byte) []byte {
	c := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(c, uint32(len(data)))
	copy(c[4:], typ)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// pngWithMetadata inserts eXIf and text chunks before IEND and a trailer
// after it.
func pngWithMetadata(t testing.TB, w, h int) []byte {
	t.Helper()
	plain := encodePNG(t, w, h, false)
	iend := len(plain) - 12
	var b bytes.Buffer
	b.Write(plain[:iend])
	b.Write(pngChunk("eXIf", exifTIFF(1)))
	b.Write(pngChunk("tEXt", []byte("Comment\x00SECRET-TEXT")))
	b.Write(pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00SECRET-ITXT")))
	b.Write(plain[iend:])
	b.WriteString("SECRET-TRAILER")
	return b.Bytes()
}

// pngBomb is a valid grey PNG of w×h one-bit pixels, all black: a few
// tens of KiB that decode to w×h bytes.
func pngBomb(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	b.Write(pngSignature)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 1, 0 // bit depth 1, greyscale
	b.Write(pngChunk("IHDR", ihdr))
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	row := make([]byte, 1+(w+7)/8)
	for range h {
		zw.Write(row)
	}
	zw.Close()
	b.Write(pngChunk("IDAT", z.Bytes()))
	b.Write(pngChunk("IEND", nil))
	return b.Bytes()
}
