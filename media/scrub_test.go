package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
)

func scrub(t *testing.T, f scrubber, in []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := f(&out, bufio.NewReader(bytes.NewReader(in))); err != nil {
		t.Fatalf("scrub: %v", err)
	}
	return out.Bytes()
}

func TestScrubJPEG(t *testing.T) {
	for _, o := range []int{1, 6} {
		in := jpegWithMetadata(t, 40, 20, o)
		out := scrub(t, scrubJPEG, in)
		for _, secret := range []string{"SECRET", "GPSLatitude", "Camden"} {
			if bytes.Contains(out, []byte(secret)) {
				t.Errorf("orientation %d: %q survived", o, secret)
			}
		}
		if bytes.Contains(out, exifTIFF(o)[38:68]) {
			t.Errorf("orientation %d: the GPS IFD survived", o)
		}
		// What remains of EXIF is the orientation alone, and only when
		// it turns the picture.
		hasExif := bytes.Contains(out, []byte("Exif\x00\x00"))
		if (o > 1) != hasExif || o > 1 && !bytes.Contains(out, minimalEXIF(o)) {
			t.Errorf("orientation %d: EXIF kept = %v", o, hasExif)
		}
		f := mustTemp(t, out)
		if got := jpegOrientation(f); got != o {
			t.Errorf("orientation read back = %d, want %d", got, o)
		}
		// The pixels are untouched: the scan is copied byte for byte.
		a, err := jpeg.Decode(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		b, err := jpeg.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("scrubbed JPEG does not decode: %v", err)
		}
		if !samePixels(a, b) {
			t.Error("scrubbing changed the pixels")
		}
	}
}

func TestScrubJPEGRestartMarkersAndStuffing(t *testing.T) {
	// A scan with a stuffed 0xFF00 and a restart marker between two
	// segments, then a second scan after a DHT, as progressive files do.
	in := []byte{0xFF, mSOI}
	in = append(in, segment(0xDA, []byte{1, 2, 3})...)
	in = append(in, 0x11, 0xFF, 0x00, 0x22, 0xFF, 0xD3, 0x33, 0xFF, 0xFF) // fill byte before the next marker
	in = append(in, segment(0xC4, []byte{9, 9})...)
	in = append(in, segment(0xDA, []byte{4})...)
	in = append(in, 0x44, 0xFF, 0xD9, 'X', 'Y')
	out := scrub(t, scrubJPEG, in)
	want := []byte{0xFF, mSOI}
	want = append(want, segment(0xDA, []byte{1, 2, 3})...)
	want = append(want, 0x11, 0xFF, 0x00, 0x22, 0xFF, 0xD3, 0x33)
	want = append(want, segment(0xC4, []byte{9, 9})...)
	want = append(want, segment(0xDA, []byte{4})...)
	want = append(want, 0x44, 0xFF, 0xD9)
	if !bytes.Equal(out, want) {
		t.Errorf("scan copy:\n got %x\nwant %x", out, want)
	}
}

func TestScrubRefusesMalformed(t *testing.T) {
	good := encodeJPEG(t, 8, 8)
	for name, c := range map[string]struct {
		f  scrubber
		in []byte
	}{
		"jpeg without SOI":   {scrubJPEG, []byte("not a jpeg")},
		"jpeg truncated":     {scrubJPEG, good[:len(good)/2]},
		"jpeg short segment": {scrubJPEG, []byte{0xFF, mSOI, 0xFF, 0xE0, 0, 1}},
		"png bad signature":  {scrubPNG, []byte("\x89PNX\r\n\x1a\n")},
		"png truncated":      {scrubPNG, encodePNG(t, 4, 4, false)[:30]},
		"webp bad header":    {scrubWebP, []byte("RIFF\x00\x00\x00\x00WEBX")},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := c.f(&out, bufio.NewReader(bytes.NewReader(c.in))); err == nil {
				t.Error("malformed input accepted")
			}
		})
	}
}

func TestScrubPNG(t *testing.T) {
	in := pngWithMetadata(t, 30, 20)
	out := scrub(t, scrubPNG, in)
	for _, s := range []string{"SECRET", "eXIf", "tEXt", "iTXt"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("%q survived", s)
		}
	}
	a, _ := png.Decode(bytes.NewReader(encodePNG(t, 30, 20, false)))
	b, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("scrubbed PNG does not decode: %v", err)
	}
	if !samePixels(a, b) {
		t.Error("scrubbing changed the pixels")
	}
}

func TestScrubWebP(t *testing.T) {
	// The filter never decodes: a container with a VP8X announcing EXIF
	// and XMP, an image chunk, and the two metadata chunks.
	chunk := func(typ string, data []byte) []byte {
		c := append([]byte(typ), 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(c[4:], uint32(len(data)))
		c = append(c, data...)
		if len(data)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	var body []byte
	body = append(body, chunk("VP8X", []byte{0x0C | 0x10, 0, 0, 0, 1, 0, 0, 1, 0, 0})...)
	body = append(body, chunk("VP8L", []byte{0x2f, 1, 2, 3, 4})...)
	body = append(body, chunk("EXIF", append([]byte("MM\x00*"), []byte("SECRET-GPS")...))...)
	body = append(body, chunk("XMP ", []byte("SECRET-XMP!"))...)
	in := append([]byte("RIFF\x00\x00\x00\x00WEBP"), body...)
	binary.LittleEndian.PutUint32(in[4:], uint32(len(in)-8))
	out := scrub(t, scrubWebP, in)
	if len(out) != len(in) || !bytes.Equal(out[:12], in[:12]) {
		t.Fatalf("size or header changed: %d → %d", len(in), len(out))
	}
	if bytes.Contains(out, []byte("SECRET")) || bytes.Contains(out, []byte("EXIF")) || bytes.Contains(out, []byte("XMP ")) {
		t.Error("metadata survived")
	}
	if flags := out[20]; flags&0x0C != 0 || flags&0x10 == 0 {
		t.Errorf("VP8X flags = %08b: EXIF and XMP bits must go, alpha stay", flags)
	}
	if !bytes.Contains(out, chunk("VP8L", []byte{0x2f, 1, 2, 3, 4})) {
		t.Error("the image chunk changed")
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// FuzzScrub feeds outside bytes to every filter: none may panic or loop,
// and what a filter accepts as a JPEG still reads as one.
func FuzzScrub(f *testing.F) {
	f.Add(jpegWithMetadata(f, 16, 8, 6))
	f.Add(pngWithMetadata(f, 8, 8))
	f.Add([]byte("RIFF\x10\x00\x00\x00WEBPVP8X\x04\x00\x00\x00\x0c\x00\x00\x00"))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, s := range []scrubber{scrubJPEG, scrubPNG, scrubWebP} {
			var out bytes.Buffer
			_ = s(&out, bufio.NewReader(bytes.NewReader(in)))
			if out.Len() > len(in)+64 {
				t.Fatalf("output of %d bytes from %d", out.Len(), len(in))
			}
		}
	})
}
